#!/usr/bin/env python3
"""security: the edge. Real HAProxy (scripts/haproxy-local.sh, the repository's haproxy.cfg) in front
of a real consumer_service on a real broker, all on 127.0.0.1, every attack bounded in time and size.

- `haproxy -c` accepts the configuration;
- slowloris (more connections than the service has HTTP threads, one byte every 2 s): /health through
  the proxy answers in < 100 ms throughout;
- header bombs (many small headers; one endless header line): 4xx from the proxy, and the service's
  RSS does not move;
- pipelined requests in one write: every one answered;
- POST /saldos, the one route with a body: a full batch (1,000 ids of 64 characters) passes, a body
  past the service's own limit gets 413 from the proxy;
- a live stream (/saldo/<id>/events) quiet for longer than the proxy's 10 s server timeout stays open
  (its heartbeat comes through).
The same bombs straight at the service are measured and printed, for docs/operations.md, "HAProxy in
front" ("what the service alone withstands"; not asserted: that is the problem the proxy solves).
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("SALDO_BUILD_DIR") or os.environ.get("SALDO_E2E_DEFAULT_BUILD_DIR")
BUILD = os.path.abspath(BUILD) if BUILD else None
SERVICE_THREADS = 64
# Past haproxy.cfg's `timeout server 10s`, which a live stream must outlast between heartbeats.
SSE_HEARTBEAT_S = 12


def fail(msg):
    print(f"edge_test: FAIL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def free_port(start):
    for p in range(start, start + 200, 2):
        ok = True
        for q in (p, p + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", q))
                except OSError:
                    ok = False
        if ok:
            return p
    fail(f"no free port near {start}")


def get(port, path, timeout=2.0):
    """(status, seconds) of one GET on a fresh connection."""
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            r.read()
            return r.status, time.monotonic() - t0
    except urllib.error.HTTPError as e:
        return e.code, time.monotonic() - t0
    except OSError:
        return None, time.monotonic() - t0


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_for(what, cond, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    fail(f"{what} within {seconds} s")


def header_bomb(port, total_bytes, one_line, timeout=10.0):
    """Sends a request with `total_bytes` of headers (many small ones, or one line without an end),
    stopping when the peer closes or answers. Returns (status or None, bytes sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    sent = 0
    status = None
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        chunk = (b"X-Bomb: " + b"a" * 8183) if one_line else (b"X-B: " + b"a" * 20 + b"\r\n") * 320
        deadline = time.monotonic() + timeout
        while sent < total_bytes and time.monotonic() < deadline:
            try:
                s.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        if not one_line:
            try:
                s.sendall(b"\r\n")
            except OSError:
                pass
        try:
            data = s.recv(4096)
            if data.startswith(b"HTTP/1."):
                status = int(data.split()[1])
        except OSError:
            pass
    finally:
        s.close()
    return status, sent


def slowloris(port, connections, seconds, stop):
    socks = []
    for _ in range(connections):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            pass
    end = time.monotonic() + seconds
    while time.monotonic() < end and not stop.is_set():
        for s in list(socks):
            try:
                s.sendall(b"X")
            except OSError:
                socks.remove(s)
                try:
                    new = socket.create_connection(("127.0.0.1", port), timeout=2)
                    new.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                    socks.append(new)
                except OSError:
                    pass
        stop.wait(2.0)
    for s in socks:
        s.close()


def main():
    if not BUILD:
        fail("set SALDO_BUILD_DIR to a build tree")
    if not shutil.which("haproxy"):
        fail("haproxy is missing: run scripts/install-deps.sh (Debian package haproxy)")
    work = tempfile.mkdtemp(prefix="saldo-edge.")
    procs = []
    edge_env = None
    own_broker = None
    try:
        base = int(os.environ.get("SALDO_TEST_HTTP_PORT", "26020"))
        bootstrap = os.environ.get("SALDO_TEST_BOOTSTRAP_SERVERS")
        if not bootstrap:
            kport = free_port(base + 40)
            own_broker = dict(os.environ, KAFKA_PORT=str(kport), KAFKA_DATA_DIR=f"{work}/kafka", KAFKA_HEAP="384m")
            subprocess.run([f"{SRC}/scripts/kafka-local.sh", "start"], env=own_broker, check=True)
            bootstrap = f"127.0.0.1:{kport}"
        topic = f"edge-{os.getpid()}"
        subprocess.run([f"{BUILD}/tools/saldo_admin", "create-topic", "-b", bootstrap, "--topic", topic,
                        "--partitions", "1"], check=True, stdout=subprocess.DEVNULL)

        svc_port = free_port(base)
        edge_port = free_port(svc_port + 2)
        log = open(f"{work}/service.log", "w")
        svc = subprocess.Popen([f"{BUILD}/consumer_service/consumer_service", "-b", bootstrap, "-t", topic,
                                "--http-port", str(svc_port), "--http-threads", str(SERVICE_THREADS),
                                "--sse-heartbeat", str(SSE_HEARTBEAT_S)],
                               stdout=log, stderr=subprocess.STDOUT, cwd=work)
        procs.append(svc)
        wait_for("the service READY", lambda: get(svc_port, "/ready")[0] == 200, 60)

        edge_env = dict(os.environ, EDGE_PORT=str(edge_port), SALDO_BACKEND=f"127.0.0.1:{svc_port}",
                        EDGE_RUN_DIR=f"{work}/edge")
        subprocess.run([f"{SRC}/scripts/haproxy-local.sh", "check"], env=edge_env, check=True)
        subprocess.run([f"{SRC}/scripts/haproxy-local.sh", "start"], env=edge_env, check=True)
        wait_for("/ready through the proxy", lambda: get(edge_port, "/ready")[0] == 200, 20)

        # -- slowloris: 4x the service's threads, through the proxy, while /health is probed
        stop = threading.Event()
        attack = threading.Thread(target=slowloris, args=(edge_port, SERVICE_THREADS * 4, 12, stop))
        attack.start()
        time.sleep(1.0)  # let the connections open (the attack runs on; probes are the assertion)
        worst, probes, bad = 0.0, 0, []
        end = time.monotonic() + 10
        while time.monotonic() < end:
            status, dt = get(edge_port, "/health", timeout=1.0)
            probes += 1
            worst = max(worst, dt)
            if status != 200 or dt >= 0.1:
                bad.append((status, round(dt * 1000, 1)))
            time.sleep(0.2)
        stop.set()
        attack.join()
        print(f"edge_test: slowloris {SERVICE_THREADS * 4} connections: {probes} /health probes through the proxy, "
              f"worst {worst * 1000:.1f} ms")
        if bad:
            fail(f"/health through the proxy under slowloris: {bad[:5]} (of {probes})")

        # -- header bombs through the proxy: 4xx, service RSS unchanged
        before = rss_kb(svc.pid)
        for one_line, size in ((False, 64 << 20), (True, 64 << 20)):
            status, sent = header_bomb(edge_port, size, one_line)
            kind = "one endless header line" if one_line else "many small headers"
            print(f"edge_test: header bomb ({kind}) through the proxy: answer {status} after {sent >> 10} KiB sent")
            if status is None or not 400 <= status < 500:
                fail(f"header bomb ({kind}) through the proxy: want a 4xx, got {status}")
        after = rss_kb(svc.pid)
        print(f"edge_test: service RSS {before} kB -> {after} kB across the bombs through the proxy")
        if after - before > 2048:
            fail(f"the service's RSS grew by {after - before} kB during header bombs through the proxy")
        if get(edge_port, "/health")[0] != 200:
            fail("/health through the proxy after the bombs")

        # -- pipelining: N requests in one write, N answers
        for n in (2, 10):
            s = socket.create_connection(("127.0.0.1", edge_port), timeout=5)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * n)
            data = b""
            deadline = time.monotonic() + 5
            while data.count(b"HTTP/1.1 200") < n and time.monotonic() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            got = data.count(b"HTTP/1.1 200")
            print(f"edge_test: {n} pipelined requests through the proxy: {got} answered")
            if got != n:
                fail(f"{n} pipelined requests through the proxy: {got} answered")

        # -- POST /saldos: a full batch passes the proxy; a body past the service's limit does not
        def post(body):
            conn = http.client.HTTPConnection("127.0.0.1", edge_port, timeout=10)
            try:
                conn.request("POST", "/saldos", body=body, headers={"Content-Type": "application/json"})
                res = conn.getresponse()
                return res.status, res.read()
            finally:
                conn.close()
        full = json.dumps(["c" * 60 + f"{i:04d}" for i in range(1000)]).encode()
        status, answer = post(full)
        print(f"edge_test: POST /saldos of 1000 ids ({len(full)} bytes) through the proxy: {status}")
        if status != 200 or len(json.loads(answer)["not_found"]) != 1000:
            fail(f"POST /saldos of 1000 ids through the proxy: {status} {answer[:200]!r}")
        status, _ = post(b"[" + b'"x",' * 30000 + b'"x"]')
        print(f"edge_test: POST /saldos of 120 KB through the proxy: {status}")
        if status != 413:
            fail(f"POST /saldos of 120 KB through the proxy: {status}, expected 413 from the proxy")

        # -- a live stream through the proxy: quiet for 12 s (past `timeout server 10s`), still open
        conn = http.client.HTTPConnection("127.0.0.1", edge_port, timeout=SSE_HEARTBEAT_S + 8)
        conn.request("GET", "/saldo/edge-live/events")
        res = conn.getresponse()
        if res.status != 200 or res.getheader("Content-Type") != "text/event-stream":
            fail(f"a live stream through the proxy: {res.status} {res.getheader('Content-Type')}")
        blocks, lines, t0 = [], [], time.monotonic()
        try:
            while len(blocks) < 2:
                line = res.readline().decode()
                if not line:
                    break
                if line.strip():
                    lines.append(line.strip())
                elif lines:
                    blocks.append("\n".join(lines))
                    lines = []
        except OSError as e:
            fail(f"a live stream through the proxy: {e} after {time.monotonic() - t0:.1f} s, blocks {blocks}")
        conn.close()
        quiet = time.monotonic() - t0
        print(f"edge_test: a live stream through the proxy: {blocks} after {quiet:.1f} s")
        if len(blocks) < 2 or "event: not_found" not in blocks[0] or blocks[1] != ": heartbeat":
            fail(f"a live stream through the proxy was cut after {quiet:.1f} s: {blocks}")

        # -- for the record: the same small-header bomb straight at the service (bounded to 16 MiB)
        before = rss_kb(svc.pid)
        status, sent = header_bomb(svc_port, 16 << 20, False)
        print(f"edge_test: (measured, not asserted) 16 MiB of small headers straight at the service: answer {status}, "
              f"RSS {before} kB -> {rss_kb(svc.pid)} kB")
        print("edge_test: OK")
    finally:
        if edge_env:
            subprocess.run([f"{SRC}/scripts/haproxy-local.sh", "stop"], env=edge_env)
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if own_broker:
            subprocess.run([f"{SRC}/scripts/kafka-local.sh", "stop"], env=own_broker)
        if os.environ.get("SALDO_KEEP") is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
