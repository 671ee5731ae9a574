#!/usr/bin/env python3
"""The applications' API against the real broker: read-your-writes and batch lookups.

A write made with the project's producers (`producer --id`, `producer_interactive`) prints the
position the broker gave it (`position P:O`); GET /saldo/<id>?after=P:O must then show that write,
never an older value, however soon it is asked (repeated many times). A position from the future
times out with 504 inside its bound. /saldos answers found, unknown, invalid and duplicate ids.

Needs SALDO_TEST_BOOTSTRAP_SERVERS (a real broker) and SALDO_BUILD_DIR; scripts/test.sh sets both and
runs this with the venv's python.
"""
import json
import os
import random
import re
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from decimal import Decimal

from confluent_kafka.admin import AdminClient, NewTopic

BOOT = os.environ["SALDO_TEST_BOOTSTRAP_SERVERS"]
BUILD = os.environ["SALDO_BUILD_DIR"]
SERVICE = os.path.join(BUILD, "consumer_service", "consumer_service")
PRODUCER = os.path.join(BUILD, "producer", "producer")
INTERACTIVE = os.path.join(BUILD, "producer", "producer_interactive")
POSITION = re.compile(r"position (\d+):(\d+)")
admin = AdminClient({"bootstrap.servers": BOOT})


def wait_for(what, check, limit=60.0, step=0.05):
    """Polls check() until it returns a true value; fails the test with `what` past `limit` seconds."""
    deadline = time.monotonic() + limit
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {limit:.0f} s waiting for {what} (last: {last!r})")


def create_topic(partitions):
    name = f"api-{os.getpid()}-{int(time.time() * 1000) % 10**9}-{random.randrange(10**6)}"
    fs = admin.create_topics([NewTopic(name, partitions, 1, config={
        "cleanup.policy": "compact", "message.timestamp.type": "LogAppendTime"})])
    fs[name].result(30)
    wait_for(f"{name} leaders", lambda: all(p.leader >= 0 for p in admin.list_topics(name, timeout=5)
                                            .topics[name].partitions.values()))
    return name


class Service:
    """consumer_service on a free loopback port, logging to a file. Every answer goes through call()."""

    def __init__(self, topic, *extra):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen([SERVICE, "-b", BOOT, "-t", topic, "--http-host", "127.0.0.1",
                                      "--http-port", str(self.port), *extra], stdout=self.log, stderr=subprocess.STDOUT)
        self.seen = []  # (method, path, status, headers, body) of every answer, for the contract check

    def call(self, method, path, body=None, headers=None, timeout=10):
        data = None if body is None else (body if isinstance(body, bytes) else body.encode())
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                answer = (r.status, dict(r.headers), r.read().decode())
        except urllib.error.HTTPError as e:
            answer = (e.code, dict(e.headers), e.read().decode())
        self.seen.append((method, path, *answer))
        return answer

    def get(self, path, **kw):
        status, _, body = self.call("GET", path, **kw)
        return status, body

    def wait_ready(self):
        def ready():
            try:
                return self.get("/ready")[0] == 200
            except (urllib.error.URLError, ConnectionError):
                return False
        wait_for("READY", ready)
        self.seen.clear()  # connection refusals and the like are not answers

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)


def money(text):
    return Decimal(text).quantize(Decimal("0.01"))


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.topic = create_topic(3)
        seed = subprocess.run([PRODUCER, "-b", BOOT, "-t", cls.topic], capture_output=True, text=True)
        assert seed.returncode == 0, seed.stderr
        cls.service = Service(cls.topic)
        cls.service.wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.service.stop()
        admin.delete_topics([cls.topic])[cls.topic].result(30)

    def saldo_after(self, key, partition, offset):
        status, body = self.service.get(f"/saldo/{key}?after={partition}:{offset}&wait_ms=5000")
        self.assertEqual(status, 200, body)
        return json.loads(body, parse_float=Decimal)

    def test_a_write_read_back_with_its_position_is_never_older(self):
        keys = ["ryw-1", "ryw-2", "ryw-3", "ryw-4"]
        for i in range(50):
            key, amount = keys[i % len(keys)], money(f"{1000 + i}.{i:02d}")
            run = subprocess.run([PRODUCER, "-b", BOOT, "-t", self.topic, "--id", key, "--saldo", str(amount)],
                                 capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            m = POSITION.search(run.stdout)
            self.assertIsNotNone(m, run.stdout)
            body = self.saldo_after(key, m[1], m[2])
            self.assertEqual(Decimal(str(body["saldo"])), amount, (i, body))
            self.assertEqual((body["partition"], body["offset"]), (int(m[1]), int(m[2])))

    def test_the_interactive_producers_position_reads_back_too(self):
        proc = subprocess.Popen([INTERACTIVE, "-b", BOOT, "-t", self.topic], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        try:
            for i in range(30):
                amount = money(f"{i}.{(i * 7) % 100:02d}")
                proc.stdin.write(f"inter-{i % 3} {amount}\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
                m = POSITION.search(line)
                self.assertIsNotNone(m, line)
                self.assertIn(f"partition {m[1]}, offset {m[2]}", line)
                body = self.saldo_after(f"inter-{i % 3}", m[1], m[2])
                self.assertEqual(Decimal(str(body["saldo"])), amount, (i, body))
        finally:
            proc.stdin.close()
            err = proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
            self.assertEqual(proc.wait(30), 0, err)

    def test_a_position_from_the_future_times_out_in_its_bound(self):
        begun = time.monotonic()
        status, body = self.service.get("/saldo/1?after=0:999999999&wait_ms=300")
        took = time.monotonic() - begun
        self.assertEqual(status, 504, body)
        self.assertGreaterEqual(took, 0.3)
        self.assertLess(took, 3.0)
        answer = json.loads(body)
        self.assertEqual(answer["after"], [{"partition": 0, "offset": 999999999}])
        self.assertEqual(sorted(p["partition"] for p in answer["positions"]), [0, 1, 2])
        metrics = self.service.get("/metrics")[1]
        self.assertRegex(metrics, r'saldo_read_your_writes_total\{result="timeout"\} [1-9]')
        self.assertIn("saldo_http_waiting_requests 0\n", metrics)
        self.assertEqual(self.service.get("/saldo/1?after=0:x")[0], 400)
        self.assertEqual(self.service.get("/saldo/1?after=0:0&wait_ms=-1")[0], 400)

    def test_batch_lookups(self):
        run = subprocess.run([PRODUCER, "-b", BOOT, "-t", self.topic, "--id", "batch-1", "--saldo", "12.34"],
                             capture_output=True, text=True)
        m = POSITION.search(run.stdout)
        self.assertIsNotNone(m, run.stdout + run.stderr)
        self.saldo_after("batch-1", m[1], m[2])
        status, body = self.service.get("/saldos?ids=batch-1,nobody,batch-1,bad%20id")
        self.assertEqual(status, 200, body)
        answer = json.loads(body, parse_float=Decimal)
        self.assertEqual([(f["cliente_id"], f["saldo"]) for f in answer["found"]], [("batch-1", Decimal("12.34"))])
        self.assertEqual(answer["not_found"], [{"cliente_id": "nobody"}])
        self.assertEqual([i["cliente_id"] for i in answer["invalid"]], ["bad id"])
        status, _, body = self.service.call("POST", "/saldos", json.dumps(["batch-1", 7, None]),
                                            {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)
        answer = json.loads(body)
        self.assertEqual(len(answer["found"]), 1)
        self.assertEqual(answer["invalid"][0]["cliente_id"], "null")
        status, _, body = self.service.call("POST", "/saldos", json.dumps([str(i) for i in range(1001)]))
        self.assertEqual(status, 413, body)
        status, _, body = self.service.call("POST", "/saldos", "not json")
        self.assertEqual(status, 400, body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
