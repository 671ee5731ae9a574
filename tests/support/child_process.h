#pragma once
// A binary run as a child of the test: its own process group, stdin from a file, stdout and stderr
// into temp files (one merged file unless asked to keep them apart), killed (with its group) at
// destruction. ServiceProcess, run_command and the
// fault tests' background producers all start processes this way.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace saldo::test {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

class ChildProcess {
 public:
  // Starts argv[0] (a path) with the test's environment plus `env`; stdin reads `stdin_path`.
  explicit ChildProcess(const std::vector<std::string>& argv, const EnvVars& env = {},
                        const std::string& stdin_path = "/dev/null", bool separate_stderr = false);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  void kill_group();  // SIGKILL to the whole process group
  // Waits up to `timeout` for the exit; the exit code (128+signal) or nullopt if it still runs.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  std::string output() const;        // stdout (and stderr unless kept apart) so far
  std::string error_output() const;  // stderr so far, when kept apart

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_;
  std::string err_path_;  // empty: stderr goes to out_path_
};

// "$TMPDIR/saldo-test-<stem>-<pid>-<n>": a path no other test process uses.
std::string temp_path(const std::string& stem);

}  // namespace saldo::test
