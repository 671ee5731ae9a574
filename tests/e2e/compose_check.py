#!/usr/bin/python3
"""e2e: docker-compose.yml and Dockerfile, checked where no Docker engine runs.

With the Compose plugin, `docker compose config` must accept the file. Either way the YAML is parsed
(Debian's python3-yaml) and its wiring asserted: health checks, depends_on conditions, profiles, ports,
resource limits, environment names that match .env, the monitoring files it mounts, and a Dockerfile
whose runtime stage carries exactly the libraries the built binaries link.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

import yaml

SRC = Path(os.environ.get("SALDO_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BUILD = Path(os.environ.get("SALDO_BUILD_DIR") or os.environ.get("SALDO_E2E_DEFAULT_BUILD_DIR") or SRC / "build/release")
SALDO_IMAGE_SERVICES = ("topic-init", "saldo", "producer")
BINARIES = ("consumer_service/consumer_service", "producer/producer", "producer/producer_interactive",
            "tools/saldo_admin")


def dotenv_names():
    names = []
    for line in (SRC / ".env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            names.append(line.removeprefix("export ").split("=", 1)[0].strip())
    return names


def as_dict(env):
    """Compose allows environment as a mapping or as a list of NAME=value."""
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return dict(env or {})


def depends(service):
    d = service.get("depends_on") or {}
    if isinstance(d, list):
        return {name: "service_started" for name in d}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in d.items()}


class Compose(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = (SRC / "docker-compose.yml").read_text()
        cls.doc = yaml.safe_load(cls.text)
        cls.services = cls.doc["services"]

    def test_docker_compose_config_when_available(self):
        docker = shutil.which("docker")
        if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
            self.skipTest("no Docker Compose plugin here: the YAML is checked by the other tests")
        r = subprocess.run([docker, "compose", "--profile", "demo", "--profile", "monitoring", "config", "-q"],
                           cwd=SRC, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_services_and_profiles(self):
        self.assertEqual(set(self.services),
                         {"kafka", "topic-init", "postgres", "saldo", "producer", "prometheus", "grafana", "edge",
                          "saldo-2", "edge-replicas", "saldo-shard-1", "saldo-shard-2", "saldo-shard-3",
                          "edge-sharded"})
        for name in ("kafka", "topic-init", "postgres", "saldo", "edge"):
            self.assertNotIn("profiles", self.services[name], f"{name} must start with a plain `up`")
        self.assertEqual(self.services["producer"]["profiles"], ["demo"])
        self.assertEqual(self.services["prometheus"]["profiles"], ["monitoring"])
        self.assertEqual(self.services["grafana"]["profiles"], ["monitoring"])
        self.assertEqual(self.services["saldo-2"]["profiles"], ["replicas"])
        self.assertEqual(self.services["edge-replicas"]["profiles"], ["replicas"])
        for name in ("saldo-shard-1", "saldo-shard-2", "saldo-shard-3", "edge-sharded"):
            self.assertEqual(self.services[name]["profiles"], ["sharded"], name)

    def test_replicas_profile_balances_two_services_each_with_its_own_snapshot(self):
        e = as_dict(self.services["edge-replicas"]["environment"])
        self.assertEqual((e["SALDO_BACKEND"], e["SALDO_BACKEND2"]), ("saldo:5000", "saldo-2:5000"))
        vols = [self.services[n]["volumes"][0].split(":")[0] for n in ("saldo", "saldo-2")]
        self.assertEqual(len(set(vols)), 2, vols)
        self.assertEqual(depends(self.services["edge-replicas"]),
                         {"saldo": "service_healthy", "saldo-2": "service_healthy"})

    def test_sharded_profile_three_instances_of_one_group_behind_haproxy(self):
        shards = [f"saldo-shard-{i}" for i in (1, 2, 3)]
        for name in shards:
            self.assertEqual(self.services[name]["command"], ["consumer_service"])
            env = as_dict(self.services[name]["environment"])
            self.assertEqual(env["SHARD_GROUP"], "saldo-sharded")
            self.assertNotEqual(env["SHARD_GROUP"], env["GROUP"], "the service refuses a shard group equal to GROUP")
            # Each advertises the name the others reach it by, on the port it listens on.
            self.assertEqual(env["ADVERTISE_URL"], f"http://{name}:5000")
            # A drain with no new owner (the last to stop) ends before Compose's SIGKILL.
            self.assertLess(int(env["DRAIN_TIMEOUT"]), int(self.services[name]["stop_grace_period"].rstrip("s")))
            self.assertEqual((env["HTTP_HOST"], str(env["HTTP_PORT"])), ("0.0.0.0", "5000"))
            # A share of the table only: no snapshot, no PostgreSQL sink.
            self.assertNotIn("STATE_DIR", env)
            self.assertNotIn("POSTGRES_URL", env)
            self.assertNotIn("ports", self.services[name], f"{name} must be reached through HAProxy only")
            self.assertEqual(depends(self.services[name]),
                             {"kafka": "service_healthy", "topic-init": "service_completed_successfully"})
        e = self.services["edge-sharded"]
        env = as_dict(e["environment"])
        self.assertEqual((env["SALDO_BACKEND"], env["SALDO_BACKEND2"], env["SALDO_BACKEND3"]),
                         tuple(f"{n}:5000" for n in shards))
        self.assertEqual(depends(e), {n: "service_healthy" for n in shards})
        self.assertIn("./scripts/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro", e["volumes"])
        # The edge's config has a server line for a third backend.
        self.assertIn("SALDO_BACKEND3", (SRC / "scripts/haproxy/haproxy.cfg").read_text())

    def test_kafka_is_kraft_with_a_healthcheck(self):
        k = self.services["kafka"]
        self.assertRegex(k["image"], r"^apache/kafka:4\.")
        env = as_dict(k["environment"])
        self.assertEqual(set(env["KAFKA_PROCESS_ROLES"].split(",")), {"broker", "controller"})
        self.assertNotIn("zookeeper", self.text.lower().replace("no zookeeper", ""))
        self.assertIn("kafka-broker-api-versions", " ".join(k["healthcheck"]["test"]))
        # The host listener is what .env's BOOTSTRAP_SERVERS=localhost:9092 reaches.
        self.assertIn("HOST://localhost:${KAFKA_PORT:-9092}", env["KAFKA_ADVERTISED_LISTENERS"])
        self.assertIn("127.0.0.1:${KAFKA_PORT:-9092}:9092", k["ports"])
        self.assertEqual(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"], "false")

    def test_topic_init_is_a_one_shot_after_a_healthy_kafka(self):
        t = self.services["topic-init"]
        self.assertEqual(t["command"][:2], ["saldo_admin", "create-topic"])
        self.assertEqual(depends(t), {"kafka": "service_healthy"})
        self.assertEqual(t["restart"], "no")

    def test_service_waits_for_kafka_and_topic_and_has_a_health_check(self):
        s = self.services["saldo"]
        self.assertEqual(depends(s), {"kafka": "service_healthy", "topic-init": "service_completed_successfully",
                                      "postgres": "service_healthy"})
        self.assertIn("http://127.0.0.1:5000/health", " ".join(s["healthcheck"]["test"]))
        self.assertEqual(str(as_dict(s["environment"])["HTTP_PORT"]), "5000")

    def test_clients_reach_the_service_only_through_the_edge(self):
        # cpp-httplib holds a thread per connection: no replica's own port is published.
        for name in ("saldo", "saldo-2", "saldo-shard-1", "saldo-shard-2", "saldo-shard-3"):
            self.assertNotIn("ports", self.services[name], f"{name} must be reached through HAProxy only")
        self.assertEqual(self.services["edge"]["ports"], ["127.0.0.1:${HTTP_PORT:-5000}:8080"])
        self.assertEqual(as_dict(self.services["edge"]["environment"])["SALDO_EDGE_BIND"], ":8080")

    def test_postgres_read_model(self):
        p = self.services["postgres"]
        self.assertRegex(p["image"], r"^postgres:15")
        self.assertIn("pg_isready", " ".join(p["healthcheck"]["test"]))
        self.assertIn("postgres-data:/var/lib/postgresql/data", p["volumes"])
        self.assertIn("postgres-data", self.doc["volumes"])
        env = as_dict(p["environment"])
        url = as_dict(self.services["saldo"]["environment"])["POSTGRES_URL"]
        self.assertEqual(url, f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/"
                              f"{env['POSTGRES_DB']}")

    def test_producer_runs_after_the_topic_exists(self):
        p = self.services["producer"]
        self.assertEqual(depends(p)["topic-init"], "service_completed_successfully")
        self.assertEqual(p["command"], ["producer"])

    def test_monitoring_chain(self):
        self.assertEqual(depends(self.services["prometheus"]), {"saldo": "service_healthy"})
        self.assertEqual(depends(self.services["grafana"]), {"prometheus": "service_healthy"})
        for name in ("prometheus", "grafana"):
            self.assertIn("healthcheck", self.services[name])
            for port in self.services[name]["ports"]:
                self.assertTrue(port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback")

    def test_edge_is_haproxy_with_the_repository_config_in_front_of_the_service(self):
        e = self.services["edge"]
        self.assertRegex(e["image"], r"^haproxy:")
        self.assertIn("./scripts/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro", e["volumes"])
        self.assertEqual(as_dict(e["environment"])["SALDO_BACKEND"], "saldo:5000")
        self.assertEqual(depends(e), {"saldo": "service_healthy"})

    def test_every_service_has_resource_limits(self):
        for name, s in self.services.items():
            limits = (((s.get("deploy") or {}).get("resources") or {}).get("limits")) or {}
            self.assertIn("cpus", limits, name)
            self.assertIn("memory", limits, name)

    def test_every_long_running_service_has_a_health_check(self):
        for name, s in self.services.items():
            if s.get("restart") != "no":
                self.assertIn("healthcheck", s, name)

    def test_published_ports_are_loopback_only(self):
        for name, s in self.services.items():
            for port in s.get("ports", []):
                self.assertTrue(str(port).startswith("127.0.0.1:"), f"{name}: {port}")

    def test_environment_names_match_dotenv(self):
        names = dotenv_names()
        self.assertEqual(names[:3], ["BOOTSTRAP_SERVERS", "TOPIC", "GROUP"], "the original demo's names first")
        for name in SALDO_IMAGE_SERVICES:
            env = as_dict(self.services[name]["environment"])
            unknown = set(env) - set(names)
            self.assertFalse(unknown, f"{name} sets names the binaries do not read from .env: {unknown}")
        self.assertEqual(set(as_dict(self.services["saldo"]["environment"])), set(names),
                         "the service gets every .env name")
        # ${NAME} interpolations come from .env, except the published Kafka and PostgreSQL ports (script
        # settings).
        for var in set(re.findall(r"\$\{([A-Z_]+)", self.text)) - {"KAFKA_PORT", "PG_PORT"}:
            self.assertIn(var, names, f"${{{var}}} is not in .env")

    def test_saldo_image_services_share_one_build(self):
        for name in SALDO_IMAGE_SERVICES:
            s = self.services[name]
            self.assertEqual(s["image"], "saldo:local")
            self.assertEqual(s["build"], {"context": ".", "target": "runtime"})

    def test_monitoring_files(self):
        prom = yaml.safe_load((SRC / "scripts/docker/prometheus.yml").read_text())
        job = prom["scrape_configs"][0]
        self.assertEqual(job["metrics_path"], "/metrics")
        self.assertEqual(job["static_configs"][0]["targets"], ["saldo:5000"])
        ds = yaml.safe_load((SRC / "scripts/docker/grafana/provisioning/datasources/prometheus.yml").read_text())
        self.assertEqual(ds["datasources"][0]["url"], "http://prometheus:9090")
        uid = ds["datasources"][0]["uid"]
        prov = yaml.safe_load((SRC / "scripts/docker/grafana/provisioning/dashboards/saldo.yml").read_text())
        self.assertEqual(prov["providers"][0]["options"]["path"], "/etc/grafana/dashboards")
        for mount in self.services["grafana"]["volumes"] + self.services["prometheus"]["volumes"]:
            host = mount.split(":")[0]
            if host.startswith("./"):
                self.assertTrue((SRC / host).exists(), f"compose mounts {host}, which does not exist")
        dash = json.loads((SRC / "scripts/docker/grafana/dashboards/saldo.json").read_text())
        metrics_src = (SRC / "consumer_service/status/metrics.cpp").read_text()
        self.assertTrue(dash["panels"])
        for panel in dash["panels"]:
            self.assertEqual(panel["datasource"]["uid"], uid, panel["title"])
            for target in panel["targets"]:
                for metric in re.findall(r"\bsaldo_[a-z_]+", target["expr"]):
                    self.assertIn(f'"{metric}"', metrics_src,
                                  f"dashboard panel '{panel['title']}' queries {metric}, which /metrics does not export")


class Dockerfile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = (SRC / "Dockerfile").read_text()
        joined = re.sub(r"\\\n", " ", cls.text)
        cls.stages = re.split(r"^FROM ", joined, flags=re.M)[1:]

    def packages(self, stage):
        m = re.search(r"apt-get install -y --no-install-recommends(.*?)&&", stage, re.S)
        return m.group(1).split()

    def test_two_stages_builder_and_slim_runtime(self):
        self.assertEqual(len(self.stages), 2)
        self.assertTrue(self.stages[0].startswith("debian:12 AS build"))
        self.assertTrue(self.stages[1].startswith("debian:12-slim AS runtime"))
        self.assertIn("COPY --from=build", self.stages[1])

    def test_builder_packages_are_in_install_deps(self):
        deps = (SRC / "scripts/install-deps.sh").read_text()
        for p in self.packages(self.stages[0]):
            self.assertRegex(deps, rf"(?<![\w-]){re.escape(p)}(?![\w-])", f"{p} is not in scripts/install-deps.sh")

    def test_runtime_has_no_dev_packages_and_they_exist_in_debian_12(self):
        pkgs = self.packages(self.stages[1])
        self.assertFalse([p for p in pkgs if p.endswith("-dev")])
        if shutil.which("apt-cache"):
            # One call for all (apt-cache is slow to start); names it did not find are in its stderr.
            r = subprocess.run(["apt-cache", "show", "--no-all-versions", *pkgs], capture_output=True, text=True)
            found = set(re.findall(r"^Package: (\S+)", r.stdout, re.M))
            self.assertEqual(sorted(set(pkgs) - found), [], f"not Debian 12 packages ({r.stderr.strip()})")

    def test_runtime_libraries_cover_what_the_binaries_link(self):
        """Every library a built binary needs directly comes from a runtime package (or the base image)."""
        bins = [BUILD / b for b in BINARIES if (BUILD / b).exists()]
        if not bins or not shutil.which("ldd") or not shutil.which("dpkg"):
            self.skipTest(f"no built binaries under {BUILD}")
        base = {"libc6", "libstdc++6", "libgcc-s1"}
        runtime = set(self.packages(self.stages[1]))
        users = {}  # library path -> (soname, binaries that need it directly)
        for b in bins:
            dyn = subprocess.run(["objdump", "-p", str(b)], capture_output=True, text=True).stdout
            sonames = set(re.findall(r"NEEDED\s+(\S+)", dyn))
            ldd = subprocess.run(["ldd", str(b)], capture_output=True, text=True).stdout
            for line in ldd.splitlines():
                m = re.match(r"\s*(\S+) => (\S+)", line)
                if m and m.group(1) in sonames:
                    users.setdefault(m.group(2), (m.group(1), set()))[1].add(b.name)
        # dpkg knows a library by the path its package installed (/lib or /usr/lib, merged /usr or not).
        paths = sorted(set(users) | {os.path.realpath(p) for p in users})
        owners = {}
        out = subprocess.run(["dpkg", "-S", *paths], capture_output=True, text=True).stdout
        for line in out.splitlines():
            pkg, _, path = line.partition(": ")
            owners[path.strip()] = pkg.split(":")[0]
        missing = []
        for path, (soname, binaries) in sorted(users.items()):
            pkg = owners.get(path) or owners.get(os.path.realpath(path), "(no package)")
            if pkg not in runtime | base:
                missing.append(f"{soname} (package {pkg}, for {', '.join(sorted(binaries))})")
        self.assertFalse(missing, "runtime stage lacks: " + ", ".join(missing))

    def test_non_root_healthcheck_and_no_dotenv(self):
        runtime = self.stages[1]
        users = re.findall(r"^USER (\S+)", runtime, re.M)
        self.assertTrue(users and users[-1].split(":")[0] not in ("0", "root"), "runs as root")
        self.assertRegex(runtime, r"HEALTHCHECK .*CMD curl -fsS .*/health")
        self.assertNotRegex(self.text, r"COPY [^\n]*\.env")
        ignore = (SRC / ".dockerignore").read_text().split()
        self.assertIn(".env", ignore)
        self.assertTrue({"build*/", "run/", ".git"} <= set(ignore))


if __name__ == "__main__":
    unittest.main(verbosity=2)
