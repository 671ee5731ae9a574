// Loads a compose file the way Docker Compose v2 does (its own loader, compose-go), with every profile
// enabled and the .env next to the file, and fails on any error or warning: schema, interpolation,
// undefined volumes or services, depends_on cycles. No Docker engine is needed.
//
//	compose_validate path/to/docker-compose.yml
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/sirupsen/logrus"
)

// The loader reports some problems only as log warnings (an unset ${VAR}, an obsolete key): collect them.
type warnings struct{ seen []string }

func (w *warnings) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

func (w *warnings) Fire(e *logrus.Entry) error {
	for _, m := range w.seen {
		if m == e.Message {
			return nil
		}
	}
	w.seen = append(w.seen, e.Message)
	return nil
}

// Every service that sets STATE_DIR must mount a volume there, or its snapshots die with the container.
func checkStateDirs(p *types.Project) []string {
	var problems []string
	for name, s := range p.Services {
		dir, ok := s.Environment["STATE_DIR"]
		if !ok || dir == nil || *dir == "" {
			continue
		}
		mounted := false
		for _, v := range s.Volumes {
			mounted = mounted || v.Target == *dir
		}
		if !mounted {
			problems = append(problems, fmt.Sprintf("service %s: STATE_DIR=%s is not a mounted volume", name, *dir))
		}
	}
	return problems
}

func run(file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	dir := filepath.Dir(abs)
	hook := &warnings{}
	logrus.AddHook(hook)
	logrus.SetOutput(os.Stderr)

	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(dir),
		cli.WithEnvFiles(filepath.Join(dir, ".env")),
		cli.WithDotEnv,
		cli.WithProfiles([]string{"*"}),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
	)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return err
	}
	problems := append([]string{}, hook.seen...)
	problems = append(problems, checkStateDirs(project)...)
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}

	names := project.ServiceNames()
	sort.Strings(names)
	volumes := make([]string, 0, len(project.Volumes))
	for v := range project.Volumes {
		volumes = append(volumes, v)
	}
	sort.Strings(volumes)
	fmt.Printf("compose_validate: %s is valid: project %s, services %s, volumes %s\n", file, project.Name,
		strings.Join(names, " "), strings.Join(volumes, " "))
	return nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: compose_validate path/to/docker-compose.yml")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintf(os.Stderr, "compose_validate: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
