#!/usr/bin/env python3
"""Other clients write to the topic too (ARCHITECTURE.md, "Consistency").

A second, independent client (confluent-kafka from PyPI, with its own librdkafka and its default
partitioner, consistent_random, not murmur2) writes next to saldo's producer. After every change to
the topic, the test reads the whole topic back with that client, computes the expected table by
itself, and checks every key against a running consumer_service:

  mixed partitioners, updates and deletes, then restarts; partitions added under a live service;
  the topic deleted and recreated under it; values other clients write (float noise, integer ids,
  no timestamp, a rejected newest record); a topic that is not compacted.

Needs SALDO_TEST_BOOTSTRAP_SERVERS (a real broker) and SALDO_BUILD_DIR; scripts/test.sh sets both and
runs this with the venv's python, where confluent-kafka is installed.
"""
import json
import os
import threading
import random
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
from decimal import Decimal

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                  NewTopic)

BOOT = os.environ["SALDO_TEST_BOOTSTRAP_SERVERS"]
BUILD = os.environ["SALDO_BUILD_DIR"]
SERVICE = os.path.join(BUILD, "consumer_service", "consumer_service")
PRODUCER = os.path.join(BUILD, "producer", "producer")
ADMIN = os.path.join(BUILD, "tools", "saldo_admin")
TS = "2025-10-14T10:30:45"
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


def murmur2(data: bytes) -> int:
    """The Java client's murmur2, written here on its own (not saldo's), as an unsigned 32-bit value."""
    m, h = 0x5BD1E995, (0x9747B28C ^ len(data)) & 0xFFFFFFFF
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> 24
        k = (k * m) & 0xFFFFFFFF
        h = ((h * m) & 0xFFFFFFFF) ^ k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if rest:
        h ^= rest[0]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    return h ^ (h >> 15)


def home_partition(key, partitions):
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def unique_topic(prefix):
    return f"{prefix}-{os.getpid()}-{int(time.time() * 1000) % 10**9}-{random.randrange(10**6)}"


def create_topic(name, partitions, policy="compact", timestamp_type="LogAppendTime"):
    # By default as saldo_admin creates topics: the broker's clock orders records across partitions.
    fs = admin.create_topics([NewTopic(name, partitions, 1, config={
        "cleanup.policy": policy, "message.timestamp.type": timestamp_type})])
    fs[name].result(30)
    wait_for(f"{name} leaders", lambda: len(admin.list_topics(name, timeout=5).topics[name].partitions) == partitions
             and all(p.leader >= 0 for p in admin.list_topics(name, timeout=5).topics[name].partitions.values()))


def delete_topic(name):
    admin.delete_topics([name])[name].result(30)
    wait_for(f"{name} gone", lambda: name not in admin.list_topics(timeout=5).topics)


def python_producer():
    # confluent-kafka's defaults: partitioner consistent_random (CRC32), as a new user's script has.
    return Producer({"bootstrap.servers": BOOT, "enable.idempotence": True, "acks": "all"})


def py_send(producer, topic, key, value):
    body = None if value is None else (value if isinstance(value, (bytes, str)) else json.dumps(value))
    producer.produce(topic, key=key, value=body)
    assert producer.flush(30) == 0, "python producer could not deliver"


def saldo_file(topic, lines):
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    run = subprocess.run([PRODUCER, "-b", BOOT, "-t", topic, "--file", f.name], capture_output=True, text=True)
    os.unlink(f.name)
    assert run.returncode == 0, run.stderr


def saldo_delete(topic, key):
    run = subprocess.run([PRODUCER, "-b", BOOT, "-t", topic, "--delete", key], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr


def read_back(topic):
    """Every record of the topic up to its high watermarks, read by the independent client."""
    md = admin.list_topics(topic, timeout=10).topics[topic]
    consumer = Consumer({"bootstrap.servers": BOOT, "group.id": "saldo-test-readback", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    ends, parts = {}, []
    for p in md.partitions:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ends[p] = high
        if high > low:
            parts.append(TopicPartition(topic, p, low))
    consumer.assign(parts)
    records, left = [], {tp.partition for tp in parts}
    deadline = time.monotonic() + 60
    while left and time.monotonic() < deadline:
        m = consumer.poll(0.5)
        if m is None:
            continue
        if m.error():
            continue
        records.append((m.partition(), m.offset(), m.timestamp()[1], m.key().decode(), m.value()))
        if m.offset() + 1 >= ends[m.partition()]:
            left.discard(m.partition())
    consumer.close()
    assert not left, f"read_back of {topic} did not finish: {left}"
    return records


def expected_table(records):
    """The rule, computed here on its own: per key the greatest (ordering time, partition, offset),
    where a partition's ordering time is the greatest record timestamp read so far in it; a null
    value deletes. Returns {key: Decimal amount} for the customers that exist."""
    best, order_time = {}, {}
    for p, off, ts, key, value in sorted(records, key=lambda r: (r[0], r[1])):
        order_time[p] = max(order_time.get(p, ts), ts)
        rank = (order_time[p], p, off)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, value)
    table = {}
    for key, (_, value) in best.items():
        if value is not None:
            table[key] = Decimal(str(json.loads(value)["saldo"])).quantize(Decimal("0.01"))
    return table


class Service:
    """consumer_service on a free loopback port, logging to a file."""

    def __init__(self, topic, *extra):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen([SERVICE, "-b", BOOT, "-t", topic, "--http-host", "127.0.0.1",
                                      "--http-port", str(self.port), *extra], stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except (urllib.error.URLError, ConnectionError):
            return None, ""

    def wait_ready(self, limit=60):
        wait_for("READY", lambda: self.get("/ready")[0] == 200, limit)

    def ready(self):
        return json.loads(self.get("/ready")[1])

    def metric(self, name):
        for line in self.get("/metrics")[1].splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"no metric {name}")

    def mismatches(self, table, keys):
        """Keys whose answer differs from the expected table (empty when all agree)."""
        wrong = []
        for key in keys:
            status, body = self.get(f"/saldo/{key}")
            if key in table:
                if status != 200 or Decimal(str(json.loads(body, parse_float=Decimal)["saldo"])) != table[key]:
                    wrong.append((key, str(table[key]), status, body))
            elif status != 404:
                wrong.append((key, "absent", status, body))
        return wrong

    def stop(self):
        self.proc.terminate()
        try:
            code = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("SIGTERM did not stop the service within 10 s:\n" + self.logs())
        assert code == 0, self.logs()

    def logs(self):
        self.log.seek(0)
        return self.log.read()[-4000:]


class OtherClients(unittest.TestCase):
    def assert_table(self, svc, topic, keys, limit=0.0):
        table = expected_table(read_back(topic))
        if limit:
            wait_for("every key to match the topic", lambda: not svc.mismatches(table, keys), limit, step=0.2)
        wrong = svc.mismatches(table, keys)
        self.assertEqual(wrong, [], svc.logs())
        return table

    def test_mixed_partitioners_added_partitions_and_a_recreated_topic(self):
        topic = unique_topic("other-clients")
        create_topic(topic, 3)
        keys = [f"k{i}" for i in range(200)]
        py = python_producer()
        saldo_file(topic, [f"{k},{i}.{i % 100:02d}" for i, k in enumerate(keys)])
        for i, k in enumerate(keys[:100]):
            py_send(py, topic, k, {"cliente_id": k, "saldo": f"{1000 + i}.50", "timestamp": TS})
        for k in keys[:10]:
            saldo_delete(topic, k)  # murmur2 partition; the python value sits on another one for most
        saldo_file(topic, [f"{k},7.07" for k in keys[10:20]])
        for k in keys[20:25]:
            py_send(py, topic, k, None)
        for k in keys[150:160]:
            py_send(py, topic, k, {"cliente_id": k, "saldo": 3.3, "timestamp": TS})

        svc = Service(topic)
        try:
            svc.wait_ready()
            table = self.assert_table(svc, topic, keys)
            for k in keys[:10] + keys[20:25]:
                self.assertNotIn(k, table)  # the last write deleted them
            self.assertGreater(svc.ready()["misrouted_records"], 0)
        finally:
            svc.stop()

        # A restart reads the partitions in whatever order the broker serves them: the same answers.
        svc = Service(topic)
        try:
            svc.wait_ready()
            self.assert_table(svc, topic, keys)

            # Partitions added under the live service: found and read without a restart.
            admin.create_partitions([NewPartitions(topic, 6)])[topic].result(30)
            py = python_producer()  # a producer that starts now knows all six partitions
            wait_for("6 partitions in the producer's metadata",
                     lambda: len(py.list_topics(topic, timeout=5).topics[topic].partitions) == 6)
            for i, k in enumerate(keys[100:150]):
                py_send(py, topic, k, {"cliente_id": k, "saldo": f"{2000 + i}.25", "timestamp": TS})
            for k in keys[30:35]:
                py_send(py, topic, k, None)
            self.assertTrue(any(p >= 3 for p, *_ in read_back(topic)), "no record reached a new partition")
            started = time.monotonic()
            self.assert_table(svc, topic, keys, limit=30)
            print(f"added partitions: every key right {time.monotonic() - started:.1f} s after the writes")
            wait_for("6 partitions in /ready", lambda: len(svc.ready()["partitions"]) == 6, 30)

            # The topic deleted and recreated with other data: no old balance survives.
            delete_topic(topic)
            create_topic(topic, 2)
            py = python_producer()
            wait_for("the new topic in the producer's metadata",
                     lambda: len(py.list_topics(topic, timeout=5).topics[topic].partitions) == 2)
            for i, k in enumerate(keys[:50]):
                py_send(py, topic, k, {"cliente_id": k, "saldo": f"{i}.01", "timestamp": TS})
            started = time.monotonic()
            table = self.assert_table(svc, topic, keys, limit=60)
            print(f"recreated topic: every key right {time.monotonic() - started:.1f} s after the writes")
            self.assertEqual(sorted(table), sorted(keys[:50]))
            self.assertGreaterEqual(svc.metric("saldo_full_rebuilds_total"), 1)
            self.assertIn("rebuild_reason", svc.ready())
        finally:
            svc.stop()

    def test_fix_routing_moves_every_customer_home_and_keeps_the_table(self):
        topic = unique_topic("fix-routing")
        create_topic(topic, 3)
        keys = [f"r{i}" for i in range(60)]
        py = python_producer()
        saldo_file(topic, [f"{k},{i}.00" for i, k in enumerate(keys)])
        for i, k in enumerate(keys[:40]):
            py_send(py, topic, k, {"cliente_id": k, "saldo": f"{100 + i}.10", "timestamp": TS})
        for k in keys[:5]:
            saldo_delete(topic, k)  # deletes at home while the python value sits elsewhere
        for k in keys[30:35]:
            py_send(py, topic, k, None)  # deletes off home
        before = read_back(topic)
        table = expected_table(before)

        dry = subprocess.run([ADMIN, "fix-routing", "-b", BOOT, "-t", topic], capture_output=True, text=True)
        self.assertEqual(dry.returncode, 1, dry.stdout + dry.stderr)
        self.assertIn("dry run", dry.stdout)
        self.assertEqual(len(read_back(topic)), len(before))  # a dry run writes nothing

        fixed = subprocess.run([ADMIN, "fix-routing", "-b", BOOT, "-t", topic, "--apply"], capture_output=True, text=True)
        self.assertEqual(fixed.returncode, 0, fixed.stdout + fixed.stderr)
        after = read_back(topic)
        self.assertEqual(expected_table(after), table)  # the same customers and balances
        # Every customer's latest record is now on its murmur2 partition, and no other partition ends
        # with a value for it: compaction will leave it on one partition.
        latest, last_on = {}, {}
        order_time = {}
        for p, off, ts, key, value in sorted(after, key=lambda r: (r[0], r[1])):
            order_time[p] = max(order_time.get(p, ts), ts)
            rank = (order_time[p], p, off)
            if key not in latest or rank > latest[key]:
                latest[key] = rank
            last_on[(key, p)] = value
        for key, (_, p, _) in latest.items():
            self.assertEqual(p, home_partition(key, 3), key)
        for (key, p), value in last_on.items():
            if p != home_partition(key, 3):
                self.assertIsNone(value, f"{key} still ends with a value on partition {p}")

        again = subprocess.run([ADMIN, "fix-routing", "-b", BOOT, "-t", topic, "--apply"], capture_output=True, text=True)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn(" 0 customers to repair", again.stdout)
        svc = Service(topic)
        try:
            svc.wait_ready()
            self.assertEqual(svc.mismatches(table, keys), [], svc.logs())
        finally:
            svc.stop()

    def test_fix_routing_with_a_future_stamped_winner_changes_no_answer(self):
        """The issue's scenario on a CreateTime topic: X's winner sits off home, stamped 50 min ahead
        (the broker accepts up to 1 h); a later saldo write home loses to it. --apply must leave every
        answer as it was at every moment (a service polls throughout), a later write home must win
        at once, and a second run must find nothing to do. Y, deleted off home by another
        partitioner, must be listed and counted."""
        topic = unique_topic("fix-routing-future")
        create_topic(topic, 3, timestamp_type="CreateTime")
        x, y = "fx1", "fy1"
        hx, hy = home_partition(x, 3), home_partition(y, 3)
        py = python_producer()
        saldo_file(topic, [f"{x},1.00", f"{y},3.00"])
        ahead = int(time.time() * 1000) + 50 * 60 * 1000
        py.produce(topic, key=x, value=json.dumps({"cliente_id": x, "saldo": "2100.00", "timestamp": TS}),
                   partition=(hx + 1) % 3, timestamp=ahead)
        py.produce(topic, key=y, value=None, partition=(hy + 1) % 3)
        self.assertEqual(py.flush(30), 0)
        saldo_file(topic, [f"{x},5.55"])  # home, stamped now: loses to the future-stamped record
        keys = [x, y]
        records = read_back(topic)
        table = expected_table(records)
        self.assertEqual(table, {x: Decimal("2100.00")})  # computed here by the rule, not by saldo
        mine = [(p, off) for p, off, _, key, value in records
                if key == x and value and json.loads(value)["saldo"] in (5.55, "5.55")]
        self.assertEqual(len(mine), 1, records)

        svc = Service(topic)
        try:
            svc.wait_ready()
            self.assertEqual(svc.mismatches(table, keys), [], svc.logs())
            # Read-your-writes at the 5.55 write's position: the winner, with a warning naming it.
            status, body = svc.get(f"/saldo/{x}?after={mine[0][0]}:{mine[0][1]}&wait_ms=5000")
            self.assertEqual(status, 200, body)
            answer = json.loads(body)
            self.assertEqual(answer["warning"]["reason"], "ordered_after", body)
            self.assertEqual(answer["warning"]["partition"], (hx + 1) % 3, body)
            self.assertEqual(answer["warning"]["timestamp_ms"], ahead, body)
            dry = subprocess.run([ADMIN, "fix-routing", "-b", BOOT, "-t", topic], capture_output=True, text=True)
            self.assertEqual(dry.returncode, 1, dry.stdout + dry.stderr)
            self.assertIn(f"  {x}: belongs on partition {hx}", dry.stdout)
            self.assertIn(f"  {y}: belongs on partition {hy}", dry.stdout)  # deleted off home: listed
            self.assertIn(" 2 customers on several partitions", dry.stdout)
            self.assertIn(" 2 customers to repair, 0 refused", dry.stdout)

            seen, stop = [], threading.Event()

            def poll():
                while not stop.is_set():
                    seen.append((svc.get(f"/saldo/{x}"), svc.get(f"/saldo/{y}")[0]))

            watcher = threading.Thread(target=poll)
            watcher.start()
            try:
                fixed = subprocess.run([ADMIN, "fix-routing", "-b", BOOT, "-t", topic, "--apply"],
                                       capture_output=True, text=True)
                self.assertEqual(fixed.returncode, 0, fixed.stdout + fixed.stderr)
                self.assertEqual(expected_table(read_back(topic)), table)
                saldo_file(topic, [f"{x},7.77"])  # a new write home must win now, not in 50 minutes
                wait_for("the new write home to be answered",
                         lambda: json.loads(svc.get(f"/saldo/{x}")[1] or "{}").get("saldo") in ("7.77", 7.77), 30)
            finally:
                stop.set()
                watcher.join()
            for (status, body), y_status in seen:
                self.assertEqual(y_status, 404)
                self.assertEqual(status, 200, body)
                amount = Decimal(str(json.loads(body, parse_float=Decimal)["saldo"]))
                self.assertIn(amount, (Decimal("2100.00"), Decimal("7.77")), body)
            self.assertGreater(len(seen), 0)

            again = subprocess.run([ADMIN, "fix-routing", "-b", BOOT, "-t", topic], capture_output=True, text=True)
            self.assertEqual(again.returncode, 0, again.stdout + again.stderr)
            self.assertIn(" 0 customers to repair", again.stdout)
        finally:
            svc.stop()

    def test_fix_routing_refuses_what_a_log_append_time_topic_cannot_repair(self):
        """A future-stamped winner written while the topic was CreateTime, the topic then switched to
        LogAppendTime: the broker would stamp the copy with now, before the winner, so the key is
        refused with a line and a count, --apply exits 2 and writes nothing for it."""
        topic = unique_topic("fix-routing-refuse")
        create_topic(topic, 3, timestamp_type="CreateTime")
        x = "fz1"
        hx = home_partition(x, 3)
        saldo_file(topic, [f"{x},1.00"])
        py = python_producer()
        py.produce(topic, key=x, value=json.dumps({"cliente_id": x, "saldo": "2100.00", "timestamp": TS}),
                   partition=(hx + 1) % 3, timestamp=int(time.time() * 1000) + 50 * 60 * 1000)
        self.assertEqual(py.flush(30), 0)
        res = ConfigResource("topic", topic, incremental_configs=[
            ConfigEntry("message.timestamp.type", "LogAppendTime", incremental_operation=AlterConfigOpType.SET)])
        admin.incremental_alter_configs([res])[res].result(30)
        saldo_file(topic, ["fz2,2.00"])  # a record the broker stamps: the scan sees LogAppendTime
        before = read_back(topic)
        table = expected_table(before)
        self.assertEqual(table[x], Decimal("2100.00"))

        dry = subprocess.run([ADMIN, "fix-routing", "-b", BOOT, "-t", topic], capture_output=True, text=True)
        self.assertEqual(dry.returncode, 1, dry.stdout + dry.stderr)
        self.assertIn(f"  {x}: REFUSED", dry.stdout)
        self.assertIn(" 1 customers to repair, 1 refused", dry.stdout)
        fixed = subprocess.run([ADMIN, "fix-routing", "-b", BOOT, "-t", topic, "--apply"], capture_output=True, text=True)
        self.assertEqual(fixed.returncode, 2, fixed.stdout + fixed.stderr)
        after = read_back(topic)
        self.assertEqual(len(after), len(before))  # nothing written for the refused key
        self.assertEqual(expected_table(after), table)

    def test_every_kind_of_batch_reads_the_same_with_and_without_the_direct_catch_up(self):
        # The direct catch-up reads plain and lz4 batches itself; at anything else (another codec, a
        # transaction) it stops that partition and librdkafka reads on from there. Either way the table
        # must be the one the independent client's read computes, and the same as librdkafka's alone.
        topic = unique_topic("batch-kinds")
        create_topic(topic, 3)
        keys = [f"b{i}" for i in range(300)]
        value = lambda k, i: {"cliente_id": k, "saldo": f"{i}.{i % 100:02d}", "timestamp": TS}
        saldo_file(topic, [f"{k},{i}.25" for i, k in enumerate(keys)])  # lz4, saldo's producer
        plain = Producer({"bootstrap.servers": BOOT, "compression.type": "none", "linger.ms": 5})
        for i, k in enumerate(keys[:100]):
            plain.produce(topic, key=k, value=json.dumps(value(k, i + 1)))
        plain.produce(topic, key=keys[0], value=None)  # a tombstone in a plain batch
        self.assertEqual(plain.flush(30), 0)
        for codec in ("gzip", "snappy", "zstd"):
            other = Producer({"bootstrap.servers": BOOT, "compression.type": codec, "linger.ms": 5})
            for i, k in enumerate(keys[100:150]):
                other.produce(topic, key=k, value=json.dumps(value(k, i + 7)))
            self.assertEqual(other.flush(30), 0)
        tx = Producer({"bootstrap.servers": BOOT, "transactional.id": topic + "-tx"})
        tx.init_transactions(30)
        tx.begin_transaction()
        for i, k in enumerate(keys[150:200]):
            tx.produce(topic, key=k, value=json.dumps(value(k, i + 500)))
        tx.commit_transaction(30)
        tx.begin_transaction()
        for k in keys[200:220]:
            tx.produce(topic, key=k, value=json.dumps(value(k, 99999)))  # aborted: never in the table
        tx.abort_transaction(30)
        saldo_file(topic, [f"{k},{i}.75" for i, k in enumerate(keys[250:])])  # lz4 after the markers
        table = expected_table(read_back(topic))
        self.assertNotIn(keys[0], table)
        self.assertNotIn(Decimal("99999.99"), table.values())
        for args in ((), ("--direct-catch-up", "false")):
            svc = Service(topic, *args)
            try:
                svc.wait_ready()
                self.assertEqual(svc.mismatches(table, keys), [], svc.logs())
                logs = svc.logs()
                if args:
                    self.assertNotIn("direct catch-up read", logs)
                else:
                    self.assertIn("direct catch-up read", logs)
                    # Every partition got a batch it leaves to librdkafka (the keys spread over all three).
                    self.assertIn("compression", logs)
            finally:
                svc.stop()

    def test_what_other_clients_write_is_never_dropped_silently(self):
        topic = unique_topic("other-values")
        create_topic(topic, 1)
        py = python_producer()
        py_send(py, topic, "f1", {"cliente_id": "f1", "saldo": 150.0 - 0.1 - 0.2 + 0.3, "timestamp": TS})
        py_send(py, topic, "2", {"cliente_id": 2, "saldo": 5, "timestamp": TS})
        py_send(py, topic, "f3", {"cliente_id": "f3", "saldo": 1})
        py_send(py, topic, "f4", {"cliente_id": "f4", "saldo": 10, "timestamp": TS})
        py_send(py, topic, "f4", '{"cliente_id":"f4","saldo":1e-05,"timestamp":"' + TS + '"}')
        py_send(py, topic, "f5", '{"cliente_id":"f5","saldo":1234.567,"timestamp":"' + TS + '"}')
        svc = Service(topic)
        try:
            svc.wait_ready()
            status, body = svc.get("/saldo/f1")
            self.assertEqual(status, 200)
            self.assertIn('"saldo":150.00,', body)
            self.assertEqual(svc.get("/saldo/2")[0], 200)
            status, body = svc.get("/saldo/f3")
            self.assertEqual(status, 200)
            self.assertTrue(json.loads(body)["timestamp"].endswith("Z"), body)
            status, body = svc.get("/saldo/f4")
            self.assertEqual(status, 200)
            self.assertIn('"saldo":10.00,', body)
            self.assertEqual(json.loads(body)["warning"]["reason"], "invalid_amount")
            status, body = svc.get("/saldo/f5")
            self.assertEqual(status, 404)
            self.assertEqual(json.loads(body)["warning"]["reason"], "invalid_amount")
            self.assertEqual(svc.metric("saldo_amounts_rounded_total"), 1)
            self.assertEqual(svc.metric("saldo_ids_as_number_total"), 1)
            self.assertEqual(svc.metric("saldo_timestamps_from_record_total"), 1)
            logs = svc.logs()
            self.assertIn("customer 'f4'", logs)
            self.assertNotIn("1e-05", logs)  # never the balance
        finally:
            svc.stop()

    def test_a_topic_that_is_not_compacted(self):
        topic = unique_topic("not-compacted")
        create_topic(topic, 1, policy="delete")
        svc = Service(topic)
        try:
            svc.wait_ready()
            self.assertIn("not compact", svc.ready()["topic_warning"])
            self.assertEqual(svc.metric("saldo_topic_not_compacted"), 1)
        finally:
            svc.stop()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        # saldo's producer still sends, and says so.
        sent = subprocess.run([PRODUCER, "-b", BOOT, "-t", topic, "--id", "1", "--saldo", "1"], capture_output=True, text=True)
        self.assertEqual(sent.returncode, 0, sent.stderr)
        self.assertIn("not compact", sent.stdout + sent.stderr)
        refused = subprocess.run([SERVICE, "-b", BOOT, "-t", topic, "--http-host", "127.0.0.1", "--http-port", str(port),
                                  "--require-compacted", "1"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("not compact", refused.stdout + refused.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
