#!/usr/bin/env python3
"""The state directory (docs/operations.md, "State directory"): a restart loads the snapshot and reads only what
is new, and a snapshot that must not be trusted is never used. Every key is checked against the table
the test computes from the topic itself (other_clients_test's helpers, the same second client).

Needs SALDO_TEST_BOOTSTRAP_SERVERS and SALDO_BUILD_DIR (scripts/test.sh sets both).
"""
import contextlib
import os
import shutil
import signal
import tempfile
import time
import unittest

from confluent_kafka.admin import NewTopic

import other_clients_test as oc
from other_clients_test import (TS, Service, create_topic, delete_topic, expected_table, py_send, python_producer,
                                read_back, saldo_delete, saldo_file, unique_topic, wait_for)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class StateService(Service):
    def __init__(self, topic, state_dir, *extra, env=None):
        self.state_dir = state_dir
        if env:
            old = dict(os.environ)
            os.environ.update(env)
        try:
            super().__init__(topic, "--state-dir", state_dir, *extra)
        finally:
            if env:
                os.environ.clear()
                os.environ.update(old)

    def start_kind(self):
        r = self.ready()
        return r.get("start"), r.get("start_note", "")


class WarmStart(unittest.TestCase):
    def setUp(self):
        self.state = tempfile.mkdtemp(prefix="saldo-state-")

    def tearDown(self):
        shutil.rmtree(self.state, ignore_errors=True)

    def assert_table(self, svc, topic, keys):
        table = expected_table(read_back(topic))
        self.assertEqual(svc.mismatches(table, keys), [], svc.logs())
        return table

    def snapshot_of(self, topic):
        """Runs the service once on `topic`, so the state directory holds its snapshot."""
        svc = StateService(topic, self.state)
        svc.wait_ready()
        svc.stop()
        return svc

    @contextlib.contextmanager
    def started(self, topic, kind, *extra, env=None):
        """The service on `topic`, READY, having started `kind` ("warm" or "cold"); stopped after."""
        svc = StateService(topic, self.state, *extra, env=env)
        try:
            svc.wait_ready()
            self.assertEqual(svc.start_kind()[0], kind, svc.logs())
            yield svc
        finally:
            svc.stop()

    def seed(self, topic, keys, cents=0):
        saldo_file(topic, [f"{k},{i}.{cents:02d}" for i, k in enumerate(keys)])

    def test_warm_after_a_clean_stop_and_after_kill_9(self):
        topic = unique_topic("warm")
        create_topic(topic, 3)
        keys = [f"w{i}" for i in range(300)]
        self.seed(topic, keys)
        svc = StateService(topic, self.state)
        svc.wait_ready()
        self.assertEqual(svc.start_kind()[0], "cold")
        svc.stop()  # writes the snapshot at SIGTERM
        self.assertTrue(os.path.exists(os.path.join(self.state, "snapshot.bin")), svc.logs())

        # 1% new while it was down, and a delete.
        saldo_file(topic, [f"{k},9.99" for k in keys[:3]])
        saldo_delete(topic, keys[10])
        svc = StateService(topic, self.state, "--snapshot-interval", "1")
        svc.wait_ready()
        self.assertEqual(svc.start_kind()[0], "warm", svc.logs())
        self.assertIn("warm start", svc.logs())
        self.assert_table(svc, topic, keys)

        # kill -9 after a periodic snapshot: the next start is warm and right.
        saldo_file(topic, [f"{k},7.77" for k in keys[20:30]])
        wait_for("a periodic snapshot", lambda: svc.metric('saldo_snapshot_writes_total{result="ok"}') >= 1, 30)
        svc.proc.send_signal(signal.SIGKILL)
        svc.proc.wait(10)
        saldo_delete(topic, keys[20])
        with self.started(topic, "warm") as svc:
            self.assert_table(svc, topic, keys)

    def test_damaged_or_foreign_snapshots_are_never_used(self):
        topic = unique_topic("damaged")
        create_topic(topic, 2)
        keys = [f"d{i}" for i in range(200)]
        self.seed(topic, keys)
        self.snapshot_of(topic)
        path = os.path.join(self.state, "snapshot.bin")
        good = read_bytes(path)

        def flip(data):
            b = bytearray(data)
            b[len(b) // 2] ^= 0x40
            return bytes(b)

        for name, data, result in [("truncated", good[: len(good) // 2], "corrupt"),
                                   ("one byte flipped", flip(good), "corrupt"),
                                   ("empty", b"", "corrupt")]:
            with open(path, "wb") as f:
                f.write(data)
            saldo_file(topic, [f"{keys[0]},1.{len(data) % 100:02d}"])
            with self.started(topic, "cold") as svc:  # and writes a good snapshot again at the stop
                self.assertIn(result, svc.start_kind()[1], name)
                self.assertIn("cold start", svc.logs(), name)
                self.assertGreaterEqual(svc.metric(f'saldo_snapshot_loads_total{{result="{result}"}}'), 1, name)
                self.assert_table(svc, topic, keys)

        # Another topic's snapshot.
        other = unique_topic("damaged-other")
        create_topic(other, 2)
        self.seed(other, keys, cents=55)
        with self.started(other, "cold") as svc:
            self.assertIn("other_topic", svc.start_kind()[1])
            self.assert_table(svc, other, keys)

    def test_a_topic_recreated_while_down_leaves_no_old_balance(self):
        topic = unique_topic("recreated-down")
        create_topic(topic, 2)
        keys = [f"r{i}" for i in range(100)]
        self.seed(topic, keys)
        self.snapshot_of(topic)
        delete_topic(topic)
        create_topic(topic, 2)
        py = python_producer()
        wait_for("the new topic", lambda: topic in py.list_topics(topic, timeout=5).topics)
        for k in keys[:5]:
            py_send(py, topic, k, {"cliente_id": k, "saldo": "1.00", "timestamp": TS})
        with self.started(topic, "cold") as svc:
            table = self.assert_table(svc, topic, keys)
            self.assertEqual(sorted(table), sorted(keys[:5]))

    def test_a_topic_recreated_with_more_records_is_not_taken_for_the_old_one(self):
        # Issue 25: every offset of the snapshot still fits the new topic (more records per partition),
        # so only the identity of the record read last in each partition can tell the two apart.
        topic = unique_topic("recreated-more")
        create_topic(topic, 3)
        old_keys = [f"old{i}" for i in range(3000)]
        self.seed(topic, old_keys)
        self.snapshot_of(topic)
        delete_topic(topic)
        create_topic(topic, 3)
        py = python_producer()
        wait_for("the new topic", lambda: topic in py.list_topics(topic, timeout=5).topics)
        new_keys = [f"new{i}" for i in range(4500)]
        self.seed(topic, new_keys, cents=7)
        with self.started(topic, "cold") as svc:
            self.assertIn("topic_changed", svc.start_kind()[1], svc.logs())
            self.assertGreaterEqual(svc.metric('saldo_snapshot_loads_total{result="topic_changed"}'), 1)
            table = self.assert_table(svc, topic, old_keys + new_keys)
            self.assertEqual(sorted(table), sorted(new_keys))
        # The snapshot written at that stop is the new topic's: the next start is warm again.
        with self.started(topic, "warm") as svc:
            self.assert_table(svc, topic, old_keys + new_keys)

    def test_a_snapshot_older_than_delete_retention_is_not_trusted(self):
        # The broker's cleaner may drop a tombstone the snapshot never saw: its value must not return.
        topic = unique_topic("retention")
        fs = oc.admin.create_topics([NewTopic(topic, 1, 1, config={
            "cleanup.policy": "compact", "message.timestamp.type": "LogAppendTime", "delete.retention.ms": "1000",
            "segment.ms": "100", "min.cleanable.dirty.ratio": "0.01", "min.compaction.lag.ms": "0"})])
        fs[topic].result(30)
        wait_for("leader", lambda: all(p.leader >= 0 for p in oc.admin.list_topics(topic, timeout=5)
                                       .topics[topic].partitions.values()))
        keys = [f"t{i}" for i in range(20)]
        self.seed(topic, keys)
        self.snapshot_of(topic)
        saldo_delete(topic, keys[0])
        # More records roll segments, so the cleaner has something to clean; then wait until the
        # tombstone itself is gone from the topic.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            saldo_file(topic, [f"{keys[1]},{int(time.monotonic() * 10) % 1000}.00"])
            if not any(r[3] == keys[0] for r in read_back(topic)):
                break
            time.sleep(0.5)  # the cleaner runs on its own schedule; nothing to await but the topic itself
        self.assertFalse(any(r[3] == keys[0] for r in read_back(topic)), "the cleaner never dropped the tombstone")
        with self.started(topic, "cold") as svc:
            self.assertIn("older_than_delete_retention", svc.start_kind()[1])
            self.assertEqual(svc.get(f"/saldo/{keys[0]}")[0], 404, "a deleted customer came back")
            self.assert_table(svc, topic, keys)

    def test_kill_9_while_a_snapshot_is_written_keeps_the_previous_one(self):
        topic = unique_topic("kill-mid-write")
        create_topic(topic, 2)
        keys = [f"m{i}" for i in range(3000)]
        self.seed(topic, keys)
        self.snapshot_of(topic)
        good = read_bytes(os.path.join(self.state, "snapshot.bin"))
        # A slow write (5 ms every 64 entries: about 0.25 s for 3000) and a short interval.
        saldo_file(topic, [f"{k},3.33" for k in keys[:50]])
        svc = StateService(topic, self.state, "--snapshot-interval", "1", env={"SALDO_TEST_SNAPSHOT_SLOW_MS": "5"})
        svc.wait_ready()
        saldo_file(topic, [f"{k},4.44" for k in keys[50:60]])
        wait_for("a snapshot being written", lambda: os.path.exists(os.path.join(self.state, "snapshot.tmp")), 30,
                 step=0.005)
        svc.proc.send_signal(signal.SIGKILL)
        svc.proc.wait(10)
        self.assertEqual(read_bytes(os.path.join(self.state, "snapshot.bin"))[:8], good[:8])
        with self.started(topic, "warm") as svc:
            self.assert_table(svc, topic, keys)


if __name__ == "__main__":
    unittest.main(verbosity=2)
