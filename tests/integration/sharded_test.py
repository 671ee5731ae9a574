#!/usr/bin/env python3
"""Sharded mode (issue 24; ARCHITECTURE.md, "Sharded mode"): consumer_service --shard-group NAME --advertise URL.

Instances join one consumer group; each rebuilds and serves only the partitions the group assigned it,
and any instance answers any customer (locally, or by one forwarded hop to the owner, the answer naming
it in "served_by"). While no instance holds a customer's partition ready the answer is 503 with
Retry-After, never a wrong one.

One topic of PARTITIONS partitions, written once for the whole module by an independent client
(confluent-kafka with the Java client's partitioner, murmur2_random, as sharded mode needs): every
customer once, a fifth of them updated, a fiftieth deleted (a null value) and half of those written again.
The test keeps its own table of every customer's final balance in centavos (one writer, idempotent, each
key on one partition: the last record written per key wins) and checks answers against it:

  test_every_key_from_every_instance          3 instances; every key through POST /saldos batches of
                                              1,000 at each of them; served_by covers the three; the
                                              group's assignment is disjoint and covers every partition.
  test_scale_out_and_graceful_stop_under_load 3 instances under a GET load; a 4th joins, the group settles;
                                              one of the first three gets SIGTERM and drains: 0 wrong
                                              answers, 0 answers other than 200.
  test_kill_nine_and_a_fourth_under_load      3 instances under a GET load; kill -9 of one, a 4th joins;
                                              0 wrong answers, every other answer a 503 with Retry-After;
                                              then every key from every survivor.

The load tests print a `SHARDED_FIGURES key=value ...` line (requests, non-200s, wrong answers, the
longest request and the longest time the load saw no 200 in a row).

CUSTOMERS is 1,000,000, as the issue's figures: producing them takes 6-13 s (large batches, linger,
no compression), each instance rebuilds a third of them, and a pass of every key through one instance
takes about 20 s with forwarding. The whole module took 180 s on 2 cores (against a local merge of the
sharded branches); SALDO_SHARDED_CUSTOMERS overrides the count for a quick local run.

After kill -9 a survivor adopts the dead member's partitions once it misses its status answers, and
the group reassigns them when the dead member's session times out: the instances run with
-X session.timeout.ms=SESSION_TIMEOUT_MS (the broker's minimum by default, 6 s) so the group settles
within seconds, not the client's default 45 s. --drain-timeout DRAIN_TIMEOUT_S bounds a drain with no
new owner to wait for (the last instances, in tearDown).

Needs SALDO_TEST_BOOTSTRAP_SERVERS and SALDO_BUILD_DIR (scripts/test.sh) and confluent-kafka (the venv).
"""
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from array import array
from decimal import Decimal

from confluent_kafka import Consumer, Producer, TopicPartition

from other_clients_test import BOOT, SERVICE, TS, Service, create_topic, home_partition, unique_topic, wait_for

CUSTOMERS = int(os.environ.get("SALDO_SHARDED_CUSTOMERS", "1000000"))
PARTITIONS = 6
BATCH = 1000                  # POST /saldos takes at most 1,000 ids
SESSION_TIMEOUT_MS = 6000     # the broker's group.min.session.timeout.ms by default
DRAIN_TIMEOUT_S = 30          # far above a share's rebuild here (about a second)
LOAD_THREADS = 4
READY_LIMIT = 120             # seconds for instances to rebuild their share and the group to settle
ABSENT = -1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def centavos(value):
    """A JSON amount (int or Decimal, parsed with parse_float=Decimal) as integer centavos."""
    return int(Decimal(value) * 100)


def amount_text(c):
    return f"{c // 100}.{c % 100:02d}"


def write_customers(topic):
    """Writes the module's data set with murmur2 placement; returns the expected table: an array of
    centavos per customer number, ABSENT for a deleted one. Customer n has the id str(n)."""
    expected = array("q", [0]) * CUSTOMERS
    producer = Producer({"bootstrap.servers": BOOT, "partitioner": "murmur2_random", "enable.idempotence": True,
                         "acks": "all", "linger.ms": 100, "batch.size": 1000000, "batch.num.messages": 100000,
                         "compression.type": "none", "queue.buffering.max.messages": 2000000,
                         "queue.buffering.max.kbytes": 2097152, "message.max.bytes": 2000000})
    sent = 0

    def send(n, c):
        nonlocal sent
        key = str(n)
        value = None if c == ABSENT else f'{{"cliente_id":"{key}","saldo":{amount_text(c)},"timestamp":"{TS}"}}'
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                break
            except BufferError:
                producer.poll(0.05)
        expected[n] = c
        sent += 1
        if sent % 20000 == 0:
            producer.poll(0)

    started = time.monotonic()
    for n in range(CUSTOMERS):                          # every customer once
        send(n, (n * 7919) % 10000000)
    for n in range(0, CUSTOMERS, 5):                    # a fifth updated
        send(n, (n * 104729 + 13) % 10000000)
    for n in range(1, CUSTOMERS, 50):                   # a fiftieth deleted
        send(n, ABSENT)
    for n in range(1, CUSTOMERS, 100):                  # half of those written again
        send(n, (n * 31 + 7) % 10000000)
    left = producer.flush(120)
    assert left == 0, f"{left} records not delivered in 120 s"
    # One idempotent writer into a new topic: the partitions hold exactly what was sent.
    consumer = Consumer({"bootstrap.servers": BOOT, "group.id": "saldo-sharded-test-watermarks"})
    total = sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS))
    consumer.close()
    assert total == sent, f"the topic holds {total} records, {sent} were sent"
    print(f"wrote {sent} records for {CUSTOMERS} customers in {time.monotonic() - started:.1f} s", flush=True)
    return expected


class ShardInstance(Service):
    """consumer_service --shard-group GROUP --advertise http://127.0.0.1:PORT on a fixed free port."""

    def __init__(self, topic, group, *extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen([SERVICE, "-b", BOOT, "-t", topic, "--http-host", "127.0.0.1",
                                      "--http-port", str(self.port), "--shard-group", group,
                                      "--advertise", self.url, "-X", f"session.timeout.ms={SESSION_TIMEOUT_MS}",
                                      "--drain-timeout", str(DRAIN_TIMEOUT_S),
                                      *extra],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc.poll() is None

    def shard_status(self):
        status, body = self.get("/shard/status")
        return json.loads(body) if status == 200 else None

    def post_json(self, path, payload, timeout=30):
        req = urllib.request.Request(f"{self.url}{path}", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def close(self, deadline):
        """For tearDown, after every instance got SIGTERM: gone by `deadline` (monotonic), else SIGKILL."""
        if self.proc.poll() is None:
            try:
                self.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        os.unlink(self.log.name)


def settled(instances):
    """True when every instance answers /ready 200, none drains, each was assigned something (while
    there are no more members than partitions), the group's assignments are disjoint and cover every
    partition, each partition is held ready by the member it is assigned to, and every instance's own
    picture (/ready's "shard" routes, refreshed a few times a second) says so too: until
    then a forwarded request can still reach an instance that let the partition go."""
    owner, views = {}, []
    for inst in instances:
        if not inst.alive():
            return False
        status, body = inst.get("/ready")
        if status != 200:
            return False
        views.append(json.loads(body).get("shard", {}).get("routes"))
        st = inst.shard_status()
        if not st or st.get("draining"):
            return False
        if not st.get("assigned") and len(instances) <= PARTITIONS:
            return False  # joined, ready by forwarding, but the group has not rebalanced it in yet
        for p in st.get("assigned", []):
            if p in owner or st.get("holds", {}).get(str(p)) != "ready":
                return False
            owner[p] = inst.url
    if sorted(owner) != list(range(PARTITIONS)):
        return False
    for routes in views:
        for r in routes or []:  # {"partition","owner","here","ready_at":[urls]}
            if r.get("owner") != owner.get(r.get("partition")) or owner.get(r.get("partition")) not in r.get("ready_at", []):
                return False
    return True


class Load:
    """GET /saldo/<random existing id> from a few threads against random live instances; every 200 is
    checked against the expected table. Non-200s are recorded with whether they carried Retry-After."""

    def __init__(self, expected, targets):
        self.expected = expected
        self.targets = list(targets)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.requests = 0
        self.non_200 = {}         # status (None: no answer from a live target) -> count
        self.without_retry_after = 0
        self.wrong = []           # (id, expected, status, body)
        self.cut = 0              # requests in flight to an instance the test had just killed
        self.longest_request = 0.0
        self.failing_since = None
        self.longest_failing = 0.0
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(LOAD_THREADS)]
        for t in self.threads:
            t.start()

    def add(self, inst):
        with self.lock:
            self.targets.append(inst)

    def remove(self, inst):
        with self.lock:
            self.targets.remove(inst)

    def count(self):
        with self.lock:
            return self.requests

    def pick_id(self, rng):
        while True:
            n = rng.randrange(CUSTOMERS)
            if self.expected[n] != ABSENT:
                return n

    def run(self):
        rng = random.Random()
        conns = {}
        while not self.stop_event.is_set():
            with self.lock:
                inst = rng.choice(self.targets)
            n = self.pick_id(rng)
            started = time.monotonic()
            status, body, retry_after = None, b"", None
            # A kept-alive connection the server closed while idle (Keep-Alive: timeout=1) fails at once on
            # reuse: like any HTTP client, send the GET again once on a new connection.
            for _ in (1, 2):
                reused = inst.port in conns
                if not reused:
                    conns[inst.port] = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=15)
                conn = conns[inst.port]
                try:
                    conn.request("GET", f"/saldo/{n}")
                    r = conn.getresponse()
                    status, body, retry_after = r.status, r.read(), r.getheader("Retry-After")
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conns.pop(inst.port, None)
                    if not reused:
                        break
            took = time.monotonic() - started
            self.record(inst, n, status, body, retry_after, started, took)
        for conn in conns.values():
            conn.close()

    def record(self, inst, n, status, body, retry_after, started, took):
        with self.lock:
            if status is None and inst not in self.targets:
                self.cut += 1  # the instance was killed (and dropped from the targets) while this was in flight
                return
            self.requests += 1
            self.longest_request = max(self.longest_request, took)
            if status == 200:
                try:
                    got = centavos(json.loads(body, parse_float=Decimal)["saldo"])
                except (ValueError, KeyError):
                    got = None
                if got != self.expected[n]:
                    self.wrong.append((n, self.expected[n], status, body[:300]))
                if self.failing_since is not None:
                    self.longest_failing = max(self.longest_failing, started + took - self.failing_since)
                    self.failing_since = None
                return
            if status == 404:  # an existing customer: a wrong answer, not an unavailable one
                self.wrong.append((n, self.expected[n], status, body[:300]))
            kind = status
            if status == 503:  # which 503: partition_unavailable, not_held, ...
                try:
                    kind = f"503/{json.loads(body).get('error')}"
                except ValueError:
                    pass
            self.non_200[kind] = self.non_200.get(kind, 0) + 1
            if status != 503 or not retry_after:  # (status None: no answer from a live instance)
                self.without_retry_after += 1
            if self.failing_since is None:
                self.failing_since = started

    def finish(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(30)

    def figures(self, name):
        non_200 = sum(self.non_200.values())
        return (f"SHARDED_FIGURES test={name} customers={CUSTOMERS} requests={self.requests} non_200={non_200} "
                f"statuses={','.join(f'{k}:{v}' for k, v in sorted(self.non_200.items(), key=str)) or '-'} "
                f"wrong={len(self.wrong)} cut_by_kill={self.cut} longest_request_ms={self.longest_request * 1000:.0f} "
                f"longest_without_200_ms={self.longest_failing * 1000:.0f}")


class Sharded(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.topic = unique_topic("sharded")
        create_topic(cls.topic, PARTITIONS)
        cls.expected = write_customers(cls.topic)

    def setUp(self):
        self.group = unique_topic("sharded-group")
        self.instances = []
        self.load = None

    def tearDown(self):
        if self.load:
            self.load.finish()
        # Every instance at once. The last ones to leave have no new owner to wait for and would drain
        # until --drain-timeout: what is left after a few seconds is killed.
        for inst in self.instances:
            if inst.alive():
                inst.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for inst in self.instances:
            inst.close(deadline)

    def start(self, count=1):
        new = [ShardInstance(self.topic, self.group) for _ in range(count)]
        self.instances += new
        return new

    def logs(self, instances=None):
        return "\n".join(f"---- {i.url} (exit {i.proc.poll()})\n{i.logs()}" for i in instances or self.instances)

    def wait_settled(self, members, limit=READY_LIMIT):
        try:
            wait_for(f"{len(members)} members settled (every partition held ready by its owner)",
                     lambda: settled(members), limit, step=0.2)
        except AssertionError as e:
            raise AssertionError(f"{e}\n{[m.shard_status() for m in members]}\n{self.logs()}") from None

    def check_every_key(self, inst):
        """Every customer through POST /saldos batches at one instance; returns the served_by URLs seen."""
        served_by = set()
        wrong = []
        ids = [str(n) for n in range(CUSTOMERS)]
        for start in range(0, CUSTOMERS, BATCH):
            batch = ids[start:start + BATCH]
            status, body = inst.post_json("/saldos", batch)
            self.assertEqual(status, 200, f"{inst.url} POST /saldos: {status} {body[:500]!r}")
            doc = json.loads(body, parse_float=Decimal)
            self.assertEqual(doc["invalid"], [], body[:500])
            self.assertEqual(doc.get("unavailable", []), [], f"{inst.url}: ids no instance answered: {body[:500]!r}")
            if "served_by" in doc:
                served_by.add(doc["served_by"])
            answered = set()
            for item in doc["found"]:
                n = int(item["cliente_id"])
                answered.add(n)
                served_by.add(item.get("served_by"))
                if self.expected[n] == ABSENT or centavos(item["saldo"]) != self.expected[n]:
                    wrong.append((n, self.expected[n], item))
            for item in doc["not_found"]:
                n = int(item["cliente_id"])
                answered.add(n)
                if self.expected[n] != ABSENT:
                    wrong.append((n, self.expected[n], "not_found"))
            self.assertEqual(answered, set(range(start, start + len(batch))), f"{inst.url}: ids missing from the answer")
            self.assertEqual(wrong, [], f"{inst.url}: {len(wrong)} wrong, first {wrong[:5]}")
        served_by.discard(None)
        return served_by

    def check_home_partitions(self, inst, sample=500):
        """The records sit where murmur2 puts them (the routing sharded mode relies on)."""
        for n in random.Random(7).sample(range(CUSTOMERS), sample):
            if self.expected[n] == ABSENT:
                continue
            status, body = inst.get(f"/saldo/{n}")
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["partition"], home_partition(str(n), PARTITIONS), body)

    def single_answers_served_by(self, inst, urls, sample=300):
        """GET /saldo/<id> for a sample of existing customers: each answer right and naming an instance."""
        seen = set()
        for n in random.Random(inst.port).sample(range(CUSTOMERS), sample):
            if self.expected[n] == ABSENT:
                continue
            status, body = inst.get(f"/saldo/{n}")
            self.assertEqual(status, 200, f"{inst.url}/saldo/{n}: {body}")
            doc = json.loads(body, parse_float=Decimal)
            self.assertEqual(centavos(doc["saldo"]), self.expected[n], body)
            self.assertIn(doc.get("served_by"), urls, f"{inst.url}/saldo/{n}: served_by not one of {urls}: {body}")
            seen.add(doc["served_by"])
        return seen

    def test_every_key_from_every_instance(self):
        three = self.start(3)
        self.wait_settled(three)
        assigned = {}
        for inst in three:
            st = inst.shard_status()
            self.assertEqual(st["url"], inst.url)
            count = st["partitions"]  # the topic's partition count (a list of them is taken too)
            self.assertEqual(len(count) if isinstance(count, list) else count, PARTITIONS, st)
            self.assertFalse(st["draining"])
            self.assertTrue(st["assigned"], f"{inst.url} was assigned nothing: {st}")
            for p in st["assigned"]:
                self.assertNotIn(p, assigned, f"partition {p} assigned to {assigned.get(p)} and {inst.url}")
                assigned[p] = inst.url
            ready = json.loads(inst.get("/ready")[1])
            self.assertIn("shard", ready)
        self.assertEqual(sorted(assigned), list(range(PARTITIONS)))
        urls = {inst.url for inst in three}
        try:
            self.check_home_partitions(three[0])
            for inst in three:
                started = time.monotonic()
                served_by = self.check_every_key(inst) | self.single_answers_served_by(inst, urls)
                print(f"every key through {inst.url}: {time.monotonic() - started:.1f} s, served_by {sorted(served_by)}",
                      flush=True)
                self.assertEqual(served_by, urls, f"{inst.url}: answers served by {served_by}, not by each of {urls}")
        except AssertionError as e:
            # A wrong or missing answer is read in the instances' logs: what each rebuilt, from where.
            raise AssertionError(f"{e}\n{self.logs()}") from None

    def run_load_until(self, load, more):
        """Lets the load make `more` requests beyond what it has made (bounded in time)."""
        target = load.count() + more
        wait_for(f"{more} more requests of the load", lambda: load.count() >= target, 60, step=0.1)

    def test_scale_out_and_graceful_stop_under_load(self):
        three = self.start(3)
        self.wait_settled(three)
        self.load = load = Load(self.expected, three)
        self.run_load_until(load, 500)

        fourth, = self.start(1)
        wait_for("the 4th instance READY", lambda: fourth.get("/ready")[0] == 200, READY_LIMIT, step=0.2)
        load.add(fourth)
        members = three + [fourth]
        self.wait_settled(members)
        self.run_load_until(load, 500)

        leaving = three[0]
        load.remove(leaving)  # as HAProxy would once /ready answers 503
        started = time.monotonic()
        leaving.proc.send_signal(signal.SIGTERM)
        wait_for("/ready 503 while draining", lambda: not leaving.alive() or leaving.get("/ready")[0] == 503, 10,
                 step=0.05)
        try:
            code = leaving.proc.wait(READY_LIMIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{leaving.url} did not exit within {READY_LIMIT} s of SIGTERM\n" + self.logs())
        drained = time.monotonic() - started
        self.assertEqual(code, 0, self.logs([leaving]))
        survivors = members[1:]
        self.wait_settled(survivors)
        self.run_load_until(load, 500)
        load.finish()
        print(load.figures("scale_out_graceful_stop") + f" drain_s={drained:.1f}", flush=True)
        self.assertEqual(load.wrong, [], f"first wrong answers: {load.wrong[:5]}\n{self.logs()}")
        self.assertEqual(load.non_200, {}, self.logs())

    def test_kill_nine_and_a_fourth_under_load(self):
        three = self.start(3)
        self.wait_settled(three)
        self.load = load = Load(self.expected, three)
        self.run_load_until(load, 500)

        victim = three[0]
        load.remove(victim)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        killed_at = time.monotonic()
        fourth, = self.start(1)
        wait_for("the 4th instance READY", lambda: fourth.get("/ready")[0] == 200,
                 READY_LIMIT + SESSION_TIMEOUT_MS / 1000, step=0.2)
        load.add(fourth)
        survivors = three[1:] + [fourth]
        self.wait_settled(survivors, READY_LIMIT + SESSION_TIMEOUT_MS / 1000)
        recovered = time.monotonic() - killed_at
        self.run_load_until(load, 500)
        load.finish()
        print(load.figures("kill_nine_and_a_fourth") + f" every_partition_ready_again_s={recovered:.1f}", flush=True)
        self.assertEqual(load.wrong, [], f"first wrong answers: {load.wrong[:5]}\n{self.logs()}")
        self.assertEqual(load.without_retry_after, 0,
                         f"non-200 answers other than 503 with Retry-After: {load.non_200}\n{self.logs()}")
        for inst in survivors:
            self.check_every_key(inst)


if __name__ == "__main__":
    unittest.main(verbosity=2)
