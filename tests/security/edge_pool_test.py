#!/usr/bin/env python3
"""security: no client can empty the edge's pool. Real HAProxy (scripts/haproxy-local.sh, the
repository's haproxy.cfg) in front of two real consumer_service replicas on a real broker.

One client sends the answers the service gives on purpose: 100 `?after=` waits that run out (504) and
100 live streams over the stream cap (503), in bursts, while ordinary requests go on. Every ordinary
request is answered by a replica (never HAProxy's 503 "No server is available"), and HAProxy's own
counters show neither replica was ever taken out (chkdown 0, status UP).
"""
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import edge_test as edge  # noqa: E402  (its port, GET and wait helpers)

MAX_STREAMS = 2  # per replica: a few held streams fill both


def stats(sock_path):
    """{server name: row} from HAProxy's `show stat` for the backend."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock_path)
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
    return {r["svname"]: r for r in rows if r["pxname"] == "saldo" and r["svname"] not in ("BACKEND", "FRONTEND")}


def status_of(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, res.read()
    except OSError:
        return None, b""
    finally:
        conn.close()


def main():
    build = edge.BUILD
    if not build:
        edge.fail("set SALDO_BUILD_DIR to a build tree")
    if not shutil.which("haproxy"):
        edge.fail("haproxy is missing: run scripts/install-deps.sh (Debian package haproxy)")
    work = tempfile.mkdtemp(prefix="saldo-edge-pool.")
    procs, held = [], []
    edge_env = own_broker = None
    try:
        base = int(os.environ.get("SALDO_TEST_HTTP_PORT", "26020")) + 100
        bootstrap = os.environ.get("SALDO_TEST_BOOTSTRAP_SERVERS")
        if not bootstrap:
            kport = edge.free_port(base + 40)
            own_broker = dict(os.environ, KAFKA_PORT=str(kport), KAFKA_DATA_DIR=f"{work}/kafka", KAFKA_HEAP="384m")
            subprocess.run([f"{edge.SRC}/scripts/kafka-local.sh", "start"], env=own_broker, check=True)
            bootstrap = f"127.0.0.1:{kport}"
        topic = f"edge-pool-{os.getpid()}"
        subprocess.run([f"{build}/tools/saldo_admin", "create-topic", "-b", bootstrap, "--topic", topic,
                        "--partitions", "1"], check=True, stdout=subprocess.DEVNULL)

        ports = []
        for i in range(2):
            port = edge.free_port(base + 4 * i)
            log = open(f"{work}/service{i}.log", "w")
            procs.append(subprocess.Popen(
                [f"{build}/consumer_service/consumer_service", "-b", bootstrap, "-t", topic, "--http-port", str(port),
                 "--http-threads", "64", "--sse-max-streams", str(MAX_STREAMS)],
                stdout=log, stderr=subprocess.STDOUT, cwd=work))
            ports.append(port)
            edge.wait_for(f"replica {i} READY", lambda p=port: edge.get(p, "/ready")[0] == 200, 60)

        edge_port = edge.free_port(ports[-1] + 2)
        stats_sock = f"{work}/haproxy.sock"
        edge_env = dict(os.environ, EDGE_PORT=str(edge_port), SALDO_BACKEND=f"127.0.0.1:{ports[0]}",
                        SALDO_BACKEND2=f"127.0.0.1:{ports[1]}", SALDO_EDGE_STATS_SOCKET=stats_sock,
                        EDGE_RUN_DIR=f"{work}/edge")
        subprocess.run([f"{edge.SRC}/scripts/haproxy-local.sh", "start"], env=edge_env, check=True)
        edge.wait_for("both replicas UP at the edge",
                      lambda: os.path.exists(stats_sock) and
                      all(r["status"] == "UP" for r in stats(stats_sock).values()), 20)

        # Fill every replica's stream cap with streams held open through the proxy.
        for _ in range(2 * MAX_STREAMS):
            conn = http.client.HTTPConnection("127.0.0.1", edge_port, timeout=30)
            conn.request("GET", "/saldo/held/events")
            res = conn.getresponse()
            if res.status != 200:
                edge.fail(f"a held stream through the proxy: {res.status}")
            held.append(conn)

        deliberate = {504: 0, 503: 0}
        ordinary, unanswered = 0, []
        for burst in range(25):
            for _ in range(4):
                status, _ = status_of(edge_port, "/saldo/1?after=0:999999999&wait_ms=0")
                deliberate[504] += status == 504
                status, _ = status_of(edge_port, "/saldo/1/events")
                deliberate[503] += status == 503
            for path in ("/health", "/saldo/1", "/ready", "/saldo/2"):
                status, body = status_of(edge_port, path)
                ordinary += 1
                if status not in (200, 404):
                    unanswered.append((burst, path, status, body[:80]))
        rows = stats(stats_sock)
        print(f"edge_pool_test: {deliberate[504]} after= timeouts (504) and {deliberate[503]} streams over the cap "
              f"(503) sent; {ordinary - len(unanswered)} of {ordinary} ordinary requests answered; replicas "
              + ", ".join(f"{name} {r['status']} (taken out {r['chkdown']} times)" for name, r in sorted(rows.items())))
        if deliberate != {504: 100, 503: 100}:
            edge.fail(f"the deliberate answers were not what the test sends: {deliberate}")
        if unanswered:
            edge.fail(f"{len(unanswered)} ordinary requests not answered by a replica, e.g. {unanswered[:3]}")
        for name, r in rows.items():
            if r["status"] != "UP" or r["chkdown"] != "0":
                edge.fail(f"replica {name} was taken out of the pool: status {r['status']}, chkdown {r['chkdown']}")
        print("edge_pool_test: OK")
    finally:
        for conn in held:
            conn.close()
        if edge_env:
            subprocess.run([f"{edge.SRC}/scripts/haproxy-local.sh", "stop"], env=edge_env)
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if own_broker:
            subprocess.run([f"{edge.SRC}/scripts/kafka-local.sh", "stop"], env=own_broker)
        if os.environ.get("SALDO_KEEP") is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
