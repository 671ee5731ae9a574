#!/usr/bin/env python3
"""The applications' API against the real broker: read-your-writes, batch lookups, and the contract.

A write made with the project's producers (`producer --id`, `producer_interactive`) prints the
position the broker gave it (`position P:O`); GET /saldo/<id>?after=P:O must then show that write,
never an older value, however soon it is asked (repeated many times). A position from the future
times out with 504 inside its bound. /saldos answers found, unknown, invalid and duplicate ids.

Every answer any of these services gives (one READY, one with bearer tokens, one whose topic does not
exist, so it never gets READY, and two instances of one shard group) is validated against
consumer_service/http/openapi.json with jsonschema:
status, required headers and body (for a live stream, GET /saldo/<id>/events, its first event); and
every documented status of every route must have been seen.

Needs SALDO_TEST_BOOTSTRAP_SERVERS (a real broker) and SALDO_BUILD_DIR; scripts/test.sh sets both and
runs this with the venv's python.
"""
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from decimal import Decimal

import threading

import jsonschema
from confluent_kafka.admin import AdminClient, NewTopic

from other_clients_test import wait_for
from sse_client import EventStream

BOOT = os.environ["SALDO_TEST_BOOTSTRAP_SERVERS"]
BUILD = os.environ["SALDO_BUILD_DIR"]
SERVICE = os.path.join(BUILD, "consumer_service", "consumer_service")
PRODUCER = os.path.join(BUILD, "producer", "producer")
INTERACTIVE = os.path.join(BUILD, "producer", "producer_interactive")
POSITION = re.compile(r"position (\d+):(\d+)")
OPENAPI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "consumer_service", "http", "openapi.json")
TOKEN = "alice-token-0123456789abcdef"
admin = AdminClient({"bootstrap.servers": BOOT})


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

    def __init__(self, topic, *extra, headers=None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.url = f"http://127.0.0.1:{self.port}"
        extra = [a.replace("{url}", self.url) for a in extra]  # sharded mode advertises its own address
        self.proc = subprocess.Popen([SERVICE, "-b", BOOT, "-t", topic, "--http-host", "127.0.0.1",
                                      "--http-port", str(self.port), *extra], stdout=self.log, stderr=subprocess.STDOUT)
        self.seen = []  # (method, path, status, headers, body) of every answer, for the contract check
        self.headers = headers or {}

    def call(self, method, path, body=None, headers=None, timeout=10):
        data = None if body is None else (body if isinstance(body, bytes) else body.encode())
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                     headers=self.headers if headers is None else headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                answer = (r.status, dict(r.headers), r.read().decode())
        except urllib.error.HTTPError as e:
            answer = (e.code, dict(e.headers), e.read().decode())
        self.seen.append((method, path, *answer))
        return answer

    def stream(self, path, headers=None):
        """Opens a live stream; its answer (for a 200, the first event) is recorded as call() does."""
        es = EventStream(self.port, path, self.headers if headers is None else headers)
        body = es.read_block() if es.status == 200 else es.body()
        self.seen.append(("GET", path, es.status, es.headers, body))
        return es, body

    def get(self, path, **kw):
        status, _, body = self.call("GET", path, **kw)
        return status, body

    def wait_ready(self, status=200):
        def ready():
            try:
                return self.get("/ready")[0] == status
            except (urllib.error.URLError, ConnectionError):
                return False
        wait_for(f"/ready answering {status}", ready)

    def metric(self, name):
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"no metric {name}")

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


class Contract:
    """consumer_service/http/openapi.json, and the check of one answer against it."""

    def __init__(self):
        with open(OPENAPI) as f:
            self.doc = json.load(f)

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node and node["$ref"].startswith("#/"):
            target = self.doc
            for part in node["$ref"][2:].split("/"):
                target = target[part]
            node = target
        return node

    def operation(self, method, path):
        """(path template, operation or None) for a request; (None, None) for a path not described."""
        path = path.split("?")[0]
        if path.startswith("/saldo/"):
            template = "/saldo/{cliente_id}/events" if path.endswith("/events") and len(path) >= 14 else "/saldo/{cliente_id}"
        else:
            template = path
        item = self.doc["paths"].get(template)
        if item is None:
            return None, None
        return template, item.get(method.lower()) or (item.get("get") if method == "HEAD" else None)

    def response(self, method, path, status):
        """The documented response for this answer, and the key it is counted under; AssertionError if none."""
        template, op = self.operation(method, path)
        shared = self.doc["components"]["responses"]
        if template is None:
            assert status in (404, 401, 414), f"{method} {path}: {status} for an undescribed path"
            name = {404: "RouteNotFound", 401: "Unauthorized", 414: "UriTooLong"}[status]
            return shared[name], ("*", "*", status)
        if op is None:
            assert status in (405, 401), f"{method} {path}: {status}, where the document says no such method"
            return shared["MethodNotAllowed" if status == 405 else "Unauthorized"], (template, "*", status)
        documented = op["responses"].get(str(status))
        if documented is None and status in (413, 414):  # the HTTP library's limits, on any route
            documented = shared["PayloadTooLarge" if status == 413 else "UriTooLong"]
        assert documented is not None, f"{method} {path}: status {status} is not documented"
        return self.deref(documented), (template, method.lower(), status)

    def check(self, method, path, status, headers, body):
        response, key = self.response(method, path, status)
        lower = {k.lower(): v for k, v in headers.items()}
        for name, h in response.get("headers", {}).items():
            h = self.deref(h)
            if not h.get("required"):
                continue
            assert name.lower() in lower, f"{method} {path} -> {status}: no {name} header"
            jsonschema.validate(lower[name.lower()], self.schema(h["schema"]))
        content = response.get("content")
        if method != "HEAD" and content is not None:
            media = lower.get("content-type", "").split(";")[0].strip()
            assert media in content, f"{method} {path} -> {status}: Content-Type {media} is not documented"
            value = json.loads(body) if media == "application/json" else body
            try:
                jsonschema.validate(value, self.schema(content[media]["schema"]))
            except jsonschema.ValidationError as e:
                raise AssertionError(f"{method} {path} -> {status}: {e.message} in {body[:300]}") from None
        return key

    def schema(self, schema):
        # The references are to #/components/..., so the components travel with the schema.
        return dict(schema, components=self.doc["components"])

    def documented(self):
        out = set()
        for template, item in self.doc["paths"].items():
            for method, op in item.items():
                for status in op["responses"]:
                    out.add((template, method, int(status)))
        return out


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.topic = create_topic(3)
        seed = subprocess.run([PRODUCER, "-b", BOOT, "-t", cls.topic], capture_output=True, text=True)
        assert seed.returncode == 0, seed.stderr
        cls.service = Service(cls.topic, "--http-max-waiting", "2", "--sse-max-streams", "1")
        cls.tokens = tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False)
        cls.tokens.write(f"alice:{TOKEN}\n")
        cls.tokens.close()
        cls.guarded = Service(cls.topic, "--http-tokens-file", cls.tokens.name,
                              headers={"Authorization": f"Bearer {TOKEN}"})
        cls.missing_topic = cls.topic + "-missing"
        cls.starting = Service(cls.missing_topic)
        # Two instances of one shard group (README, "Sharded mode"): each holds some of the partitions.
        group = f"api-shards-{os.getpid()}-{random.randrange(10**6)}"
        cls.shards = [Service(cls.topic, "--shard-group", group, "--advertise", "{url}") for _ in range(2)]
        cls.service.wait_ready()
        cls.guarded.wait_ready()
        cls.starting.wait_ready(503)
        for shard in cls.shards:
            shard.wait_ready()
        for s in (cls.service, cls.guarded, cls.starting, *cls.shards):
            s.seen.clear()  # connection refusals while starting are not answers

    @classmethod
    def tearDownClass(cls):
        for s in (cls.service, cls.guarded, cls.starting, *cls.shards):
            s.stop()
        os.unlink(cls.tokens.name)
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
                # The page link on the same line, with the write's position as after=.
                self.assertIn(f", page http://localhost:5000/?id=inter-{i % 3}&after={m[1]}:{m[2]}", line)
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
        status, _, body = self.service.call("POST", "/saldos", json.dumps(["batch-1", 7]),
                                            {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)
        answer = json.loads(body)
        self.assertEqual(len(answer["found"]), 1)
        self.assertEqual(answer["not_found"], [{"cliente_id": "7"}])
        # An element that is no id refuses the whole body, naming it.
        status, _, body = self.service.call("POST", "/saldos", json.dumps(["batch-1", None]))
        self.assertEqual(status, 400, body)
        self.assertIn("elemento 2", json.loads(body)["error"])
        status, _, body = self.service.call("POST", "/saldos", json.dumps([str(i) for i in range(1001)]))
        self.assertEqual(status, 413, body)
        status, _, body = self.service.call("POST", "/saldos", "not json")
        self.assertEqual(status, 400, body)

    def test_too_many_waiting_requests_are_refused_with_503(self):
        waiters = [threading.Thread(target=self.service.get, args=("/saldo/1?after=1:999999999&wait_ms=3000",))
                   for _ in range(2)]
        for t in waiters:
            t.start()
        wait_for("2 waiting requests", lambda: self.service.metric("saldo_http_waiting_requests") == 2)
        status, headers, body = self.service.call("GET", "/saldo/1?after=1:999999999&wait_ms=3000")
        self.assertEqual(status, 503, body)
        self.assertEqual(headers.get("Retry-After"), "1")
        for t in waiters:
            t.join()
        self.assertRegex(self.service.get("/metrics")[1], r'saldo_read_your_writes_total\{result="rejected"\} [1-9]')

    def test_zz_every_answer_matches_the_openapi_document(self):
        """Last (by name): every route and status it can reach, each answer validated against the document."""
        s, g, n = self.service, self.guarded, self.starting
        # Every route of the READY service.
        for path in ("/saldo/1", "/saldo/nobody", "/saldo/a%20b", "/saldo/1?after=0:0", "/saldo/1?after=x",
                     "/saldos?ids=1,2,nobody,bad%20id", "/saldos", "/health", "/ready", "/metrics", "/", "/openapi.json",
                     "/nope", "/saldos?ids=" + ",".join(str(i) for i in range(1001)), "/saldos?ids=" + "1," * 5000):
            s.call("GET", path)
            s.call("HEAD", path)
        for body in ('["1", "nobody", 3, null]', "nope", json.dumps([str(i) for i in range(1001)])):
            s.call("POST", "/saldos", body, {"Content-Type": "application/json"})
        for method, path in (("PUT", "/saldos"), ("DELETE", "/saldo/1"), ("POST", "/health"), ("PATCH", "/"),
                             ("POST", "/saldo/1/events")):
            s.call(method, path, "")
        # Live streams: the first event of a known and of an unknown customer, a bad id, and one over
        # the cap (this service allows one at a time).
        for path in ("/saldo/nobody/events", "/saldo/a%20b/events", "/saldo//events"):
            s.stream(path)[0].close()
        first, _ = s.stream("/saldo/1/events")
        over, body = s.stream("/saldo/1/events")
        self.assertEqual((over.status, over.headers.get("Retry-After")), (503, "5"), body)
        self.assertEqual(json.loads(body)["max_streams"], 1)
        over.close()
        first.close()
        # Tokens: refused without one, with a wrong one; served with the right one.
        for path in ("/saldo/1", "/saldos?ids=1", "/ready", "/metrics", "/nope"):
            g.call("GET", path, headers={})
            g.call("GET", path, headers={"Authorization": "Bearer wrong-token-0123456789"})
            g.call("GET", path)
        g.call("POST", "/saldos", '["1"]', headers={})
        g.call("POST", "/saldos", '["1"]')
        for path in ("/health", "/", "/openapi.json"):
            g.call("GET", path, headers={})
        g.stream("/saldo/1/events", headers={})[0].close()
        g.stream("/saldo/1/events")[0].close()
        # Never READY (its topic does not exist): 503 with the progress, never a false 404.
        for path in ("/saldo/1", "/saldo/1?after=0:0", "/saldos?ids=1", "/ready"):
            n.call("GET", path)
        n.stream("/saldo/1/events")[0].close()
        n.call("POST", "/saldos", '["1"]')
        # Sharded mode: who holds what, each answer naming who served it, a batch split across both,
        # and a live stream redirected to the customer's holder; /shard/status is 404 when not sharded.
        a, b = self.shards
        s.call("GET", "/shard/status")
        for shard in self.shards:
            status, _, body = shard.call("GET", "/shard/status")
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["url"], shard.url)
        served = {}
        for key in (str(i) for i in range(1, 40)):
            status, body = a.get(f"/saldo/{key}")
            self.assertIn(status, (200, 404), body)
            served.setdefault(json.loads(body)["served_by"], key)
        self.assertEqual(set(served), {a.url, b.url}, "both instances hold some customers")
        a.call("POST", "/saldos", json.dumps([str(i) for i in range(1, 40)]), {"Content-Type": "application/json"})
        a.call("GET", "/ready")
        redirected, body = a.stream(f"/saldo/{served[b.url]}/events")
        redirected.close()
        self.assertEqual(redirected.status, 307, body)
        self.assertEqual(redirected.headers.get("Location"), f"{b.url}/saldo/{served[b.url]}/events")
        a.stream(f"/saldo/{served[a.url]}/events")[0].close()
        # The document served is the one in the repository.
        status, _, served = s.call("GET", "/openapi.json")
        contract = Contract()
        self.assertEqual(json.loads(served), contract.doc)

        seen = set()
        answers = s.seen + g.seen + n.seen + a.seen + b.seen
        for method, path, status, headers, body in answers:
            seen.add(contract.check(method, path, status, headers, body))
        missing = {k for k in contract.documented() if k[1] != "head" or k[2] == 200} - seen
        self.assertFalse(missing, f"documented but never seen: {sorted(missing)}")
        print(f"{len(answers)} answers validated against openapi.json; {len(seen)} (route, method, status) seen",
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
