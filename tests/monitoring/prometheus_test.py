#!/usr/bin/python3
"""faults: a real Prometheus (Debian's) runs the repository's alerting rules and the Grafana board's
queries against a live consumer_service that reads a real broker of this test's own.

  1. broker (scripts/kafka-local.sh on $SALDO_TEST_FAULT_KAFKA_PORT), topic, 20 balances, the service,
     then Prometheus on a free loopback port scraping it every second, evaluating every second.
  2. healthy: every rule evaluates without error and none is pending or firing.
  3. the board: every PromQL expression in scripts/docker/grafana/dashboards/saldo.json parses and
     returns data once the service has answered a few requests.
  4. kill -9 the broker: SaldoBrokerUnreachable goes pending, then firing; start the broker again:
     the alert resolves.
  5. restart the service twice: SaldoRestarting fires.

The rules are a copy of scripts/docker/alerts.yml with every `for:` cut to FOR_SECONDS (the
expressions are untouched), so the test takes about a minute and a half, not minutes more.
"""
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import yaml

SRC = Path(os.environ.get("SALDO_SOURCE_DIR") or Path(__file__).resolve().parents[2])
BUILD = Path(os.environ.get("SALDO_BUILD_DIR") or os.environ.get("SALDO_DEFAULT_BUILD_DIR") or SRC / "build/test")
KAFKA_PORT = int(os.environ.get("SALDO_TEST_FAULT_KAFKA_PORT") or 19492)
PROMETHEUS = "/usr/bin/prometheus"
FOR_SECONDS = 5
TOPIC = "contas"
ALERT = "SaldoBrokerUnreachable"


def log(msg):
    print(f"prometheus_test: {msg}", flush=True)


def fail(msg):
    raise AssertionError(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout, interval=0.2):
    """Polls predicate until it returns something truthy; that value, or an AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, urllib.error.URLError, ValueError) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def http_get(url, timeout=5):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Prometheus:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        status, body = http_get(url)
        doc = json.loads(body)
        if doc.get("status") != "success":
            fail(f"{path} {params}: HTTP {status}: {doc.get('errorType')}: {doc.get('error')}")
        return doc["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def alerts(self, name):
        return [a for a in self.api("alerts")["alerts"] if a["labels"].get("alertname") == name]

    def alert_states(self, name):
        return {a["state"] for a in self.alerts(name)}


def active_at(rfc3339):
    """Seconds since the epoch of Prometheus's activeAt ("2026-11-23T20:30:01.123456789Z")."""
    whole, _, frac = rfc3339.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole).replace(tzinfo=timezone.utc).timestamp() + float("0." + (frac or "0"))


def board_expressions():
    board = json.loads((SRC / "scripts/docker/grafana/dashboards/saldo.json").read_text())
    exprs = []

    def walk(panels):
        for p in panels:
            exprs.extend((p["title"], t["expr"]) for t in p.get("targets", []) if t.get("expr"))
            walk(p.get("panels", []))

    walk(board["panels"])
    return exprs


def rules_with_short_for(path):
    doc = yaml.safe_load((SRC / "scripts/docker/alerts.yml").read_text())
    names = []
    for group in doc["groups"]:
        for rule in group["rules"]:
            names.append(rule["alert"])
            if "for" in rule:
                rule["for"] = f"{FOR_SECONDS}s"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return names


class Run:
    def __init__(self):
        self.work = Path(tempfile.mkdtemp(prefix="saldo-prometheus-test."))
        self.kafka_env = dict(os.environ, KAFKA_PORT=str(KAFKA_PORT), KAFKA_HEAP="384m",
                              KAFKA_DATA_DIR=f"{os.environ.get('TMPDIR', '/tmp')}/saldo-prom-kafka-{KAFKA_PORT}")
        self.procs = []
        self.bootstrap = f"127.0.0.1:{KAFKA_PORT}"

    def kafka(self, verb):
        r = subprocess.run(["bash", str(SRC / "scripts/kafka-local.sh"), verb], env=self.kafka_env,
                           capture_output=True, text=True, timeout=150)
        if r.returncode != 0:
            fail(f"kafka-local.sh {verb}: {r.stdout}{r.stderr}")

    def spawn(self, name, argv):
        out = open(self.work / f"{name}.log", "a")
        p = subprocess.Popen(argv, cwd=self.work, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append((name, p))
        return p

    def stop(self, name):
        for n, p in self.procs:
            if n == name and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                if p.wait(15) != 0:
                    fail(f"{name} exited {p.returncode} on SIGTERM")

    def run_tool(self, argv):
        r = subprocess.run(argv, cwd=self.work, capture_output=True, text=True, timeout=90)
        if r.returncode != 0:
            fail(f"{' '.join(argv)}: exit {r.returncode}: {r.stdout}{r.stderr}")

    def close(self, ok):
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        if not ok:
            for f in sorted(self.work.glob("*.log")) + [Path(self.kafka_env["KAFKA_DATA_DIR"]) / "kafka.log"]:
                if f.exists():
                    print(f"---- {f} (last 30 lines)")
                    print("\n".join(f.read_text(errors="replace").splitlines()[-30:]))
        subprocess.run(["bash", str(SRC / "scripts/kafka-local.sh"), "stop"], env=self.kafka_env,
                       capture_output=True, timeout=150)
        shutil.rmtree(self.kafka_env["KAFKA_DATA_DIR"], ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)


def main():
    for tool in (PROMETHEUS, BUILD / "consumer_service/consumer_service", BUILD / "producer/producer",
                 BUILD / "tools/saldo_admin"):
        if not os.access(tool, os.X_OK):
            fail(f"{tool} is missing (scripts/install-deps.sh installs prometheus; build the tree first)")
    run = Run()
    ok = False
    try:
        scenario(run)
        ok = True
    finally:
        run.close(ok)
    log("PASS")


def scenario(run):
    t0 = time.monotonic()
    shutil.rmtree(run.kafka_env["KAFKA_DATA_DIR"], ignore_errors=True)
    run.kafka("start")
    kafka_cli = ["--bootstrap-servers", run.bootstrap, "--topic", TOPIC]
    run.run_tool([str(BUILD / "tools/saldo_admin"), "create-topic", "--partitions", "3", *kafka_cli])
    run.run_tool([str(BUILD / "producer/producer"), "--customers", "20", *kafka_cli])

    http_port = free_port()
    service = f"http://127.0.0.1:{http_port}"
    service_argv = [str(BUILD / "consumer_service/consumer_service"), *kafka_cli,
                    "--http-host", "127.0.0.1", "--http-port", str(http_port)]
    run.spawn("consumer_service", service_argv)
    wait_for("the service to be READY", lambda: http_get(f"{service}/ready")[0] == 200, 60)
    log(f"broker, topic and READY service in {time.monotonic() - t0:.1f} s")

    rule_names = rules_with_short_for(run.work / "alerts.yml")
    (run.work / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["alerts.yml"],
        # job "saldo", as in compose: SaldoDown selects it.
        "scrape_configs": [{"job_name": "saldo", "metrics_path": "/metrics",
                            "static_configs": [{"targets": [f"127.0.0.1:{http_port}"]}]}],
    }))
    prom_port = free_port()
    run.spawn("prometheus", [PROMETHEUS, f"--config.file={run.work / 'prometheus.yml'}",
                             f"--storage.tsdb.path={run.work / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"])
    prom = Prometheus(prom_port)
    wait_for("Prometheus to be ready", lambda: http_get(f"{prom.base}/-/ready")[0] == 200, 60)
    wait_for("the first scrape", lambda: prom.query('up{job="saldo"} == 1'), 30)

    # Healthy: every rule evaluated (with the service's real series) without error, none active.
    def rules_evaluated():
        rules = [r for g in prom.api("rules")["groups"] for r in g["rules"]]
        return rules if all(r["lastEvaluation"] > "2000" for r in rules) else None

    rules = wait_for("every rule to be evaluated", rules_evaluated, 30)
    if sorted(r["name"] for r in rules) != sorted(rule_names):
        fail(f"Prometheus loaded {[r['name'] for r in rules]}, alerts.yml has {rule_names}")
    broken = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    if broken:
        fail(f"rules that do not evaluate: {broken}")
    active = prom.api("alerts")["alerts"]
    if active:
        fail(f"alerts active against a healthy service: {[(a['labels']['alertname'], a['state']) for a in active]}")
    log(f"{len(rules)} rules loaded and evaluated without error, none active")

    # The board: a few requests of each kind, then every query must return data.
    for path in ["/saldo/1", "/saldo/2", "/saldo/3", "/saldo/nope", "/saldo/999999", "/health", "/ready", "/"]:
        http_get(service + path)
    # Once Prometheus holds two scrapes that saw them (a rate needs two), each query is run once.
    wait_for("two scrapes after the requests",
             lambda: prom.query('count_over_time(saldo_http_requests_total{route="/saldo",status="404"}[1m]) >= 2'), 20)
    exprs = board_expressions()
    if not exprs:
        fail("the board has no queries")
    empty = []
    for title, expr in exprs:
        result = prom.query(expr)  # fails on a query Prometheus cannot parse
        values = [float(r["value"][1]) for r in result]
        log(f"board: {expr} -> {values} ({title})")
        if not any(math.isfinite(v) for v in values):
            empty.append(f"'{title}': {expr}")
    if empty:
        fail("board queries that would show No data: " + "; ".join(empty))

    # The broker dies: the alert goes pending, then firing.
    run.kafka("kill")
    killed = time.monotonic()
    wait_for(f"{ALERT} pending", lambda: "pending" in prom.alert_states(ALERT), 60, interval=0.1)
    pending = time.monotonic()
    if "firing" in prom.alert_states(ALERT):
        fail(f"{ALERT} fired together with its first pending state: `for:` is not honoured")
    (alert,) = wait_for(f"{ALERT} firing", lambda: [a for a in prom.alerts(ALERT) if a["state"] == "firing"], 30,
                        interval=0.1)
    firing = time.monotonic()
    # activeAt is when the expression first held: firing must not be seen before its for: has passed.
    held = time.time() - active_at(alert["activeAt"])
    if held < FOR_SECONDS:
        fail(f"{ALERT} is firing {held:.1f} s after it became active, before its for: {FOR_SECONDS}s")
    log(f"broker killed: {ALERT} pending after {pending - killed:.1f} s, firing after {firing - killed:.1f} s")
    (firing_panel,) = [expr for title, expr in exprs if title == "Alerts firing"]
    counted = float(prom.query(firing_panel)[0]["value"][1])
    if counted < 1:
        fail(f"the board's 'Alerts firing' shows {counted} while {ALERT} fires")

    # The broker is back: the alert resolves and the gauge says so.
    run.kafka("start")
    back = time.monotonic()
    wait_for(f"{ALERT} to resolve", lambda: not prom.alert_states(ALERT), 60, interval=0.2)
    resolved = time.monotonic()
    if not prom.query("saldo_broker_reachable == 1"):
        fail("the alert resolved but saldo_broker_reachable is not 1")
    status, body = http_get(f"{service}/saldo/1")
    if status != 200:
        fail(f"GET /saldo/1 after the broker came back: {status} {body}")
    log(f"broker started again: {ALERT} resolved {resolved - back:.1f} s after `kafka-local.sh start` returned")

    # Two restarts of the service on its port: SaldoRestarting (no for:) fires on the second one,
    # which checks that its counter really falls back at a restart.
    if prom.alerts("SaldoRestarting"):
        fail("SaldoRestarting is active before any restart")
    for n in (1, 2):
        run.stop("consumer_service")
        run.spawn("consumer_service", service_argv)
        wait_for(f"the service to be READY after restart {n}", lambda: http_get(f"{service}/ready")[0] == 200, 60)
        wait_for(f"Prometheus to see restart {n}",
                 lambda: prom.query(f"resets(saldo_http_request_duration_seconds_count[5m]) >= {n}"), 30)
    wait_for("SaldoRestarting firing", lambda: "firing" in prom.alert_states("SaldoRestarting"), 10)
    log("two restarts of the service: SaldoRestarting firing")
    log(f"total {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"prometheus_test: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
