#!/usr/bin/env python3
"""The live stream GET /saldo/<id>/events against the real broker.

Records are written with an independent client (confluent-kafka), not the project's producer: a
stream opened on a customer must show each write with its centavos and the position the broker gave
it, a delete as a deleted event with the tombstone's position, a heartbeat on an idle stream, a 503
over --sse-max-streams (and a place freed when a client leaves), and the end of every stream when the
service stops, without the stop waiting for them.

Needs SALDO_TEST_BOOTSTRAP_SERVERS (a real broker) and SALDO_BUILD_DIR; scripts/test.sh sets both and
runs this with the venv's python.
"""
import json
import os
import signal
import sys
import time
import unittest
from decimal import Decimal

from confluent_kafka import Producer

from api_test import Service, create_topic, admin
from other_clients_test import wait_for
from sse_client import EventStream

BOOT = os.environ["SALDO_TEST_BOOTSTRAP_SERVERS"]


def send(producer, topic, key, value):
    """One record (value None: a tombstone), awaited; returns (partition, offset) from the broker."""
    delivered = []
    producer.produce(topic, key=key, value=None if value is None else json.dumps(value),
                     on_delivery=lambda err, msg: delivered.append((err, msg)))
    assert producer.flush(30) == 0, "not delivered in 30 s"
    err, msg = delivered[0]
    assert err is None, err
    return msg.partition(), msg.offset()


def next_event(stream, skip_heartbeats=True):
    while True:
        e = stream.next_event()
        if not (skip_heartbeats and "comment" in e):
            return e


class SseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.topic = create_topic(3)
        cls.producer = Producer({"bootstrap.servers": BOOT, "enable.idempotence": True, "acks": "all",
                                 "partitioner": "murmur2_random"})
        send(cls.producer, cls.topic, "seed", {"cliente_id": "seed", "saldo": 1, "timestamp": "2025-10-14T10:30:45"})
        cls.service = Service(cls.topic, "--sse-max-streams", "2", "--sse-heartbeat", "1")
        cls.service.wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.service.stop()
        admin.delete_topics([cls.topic])[cls.topic].result(30)

    def setUp(self):
        # Streams a previous test closed are noticed within the service's one-second check.
        wait_for("no stream open", lambda: self.service.metric("saldo_sse_streams_open") == 0, limit=10)

    def test_updates_and_a_delete_arrive_with_their_centavos_and_positions(self):
        stream = EventStream(self.service.port, "/saldo/live-42/events")
        try:
            self.assertEqual(stream.status, 200)
            self.assertEqual(stream.headers["Content-Type"], "text/event-stream")
            first = next_event(stream)
            self.assertEqual(first["event"], "not_found")
            self.assertEqual(first["data"]["cliente_id"], "live-42")
            self.assertIn("retry", first)
            for amount in ("150.05", "-0.10", "1234567.89"):
                p, o = send(self.producer, self.topic, "live-42",
                            {"cliente_id": "live-42", "saldo": amount, "timestamp": "2025-10-14T10:30:45"})
                e = next_event(stream)
                self.assertEqual(e["event"], "saldo", e)
                self.assertEqual(e["id"], f"{p}:{o}")
                self.assertEqual(Decimal(str(e["data"]["saldo"])).quantize(Decimal("0.01")), Decimal(amount))
                self.assertEqual((e["data"]["partition"], e["data"]["offset"]), (p, o))
            # Another customer's record makes no event here.
            send(self.producer, self.topic, "someone-else", {"cliente_id": "someone-else", "saldo": 5})
            p, o = send(self.producer, self.topic, "live-42", None)
            e = next_event(stream)
            self.assertEqual(e["event"], "deleted", e)
            self.assertEqual(e["id"], f"{p}:{o}")
            self.assertEqual(e["data"], {"cliente_id": "live-42", "partition": p, "offset": o})
        finally:
            stream.close()

    def test_an_idle_stream_gets_heartbeats(self):
        stream = EventStream(self.service.port, "/saldo/seed/events")
        try:
            self.assertEqual(next_event(stream)["event"], "saldo")
            began = time.monotonic()
            self.assertEqual(stream.next_event(), {"comment": "heartbeat"})  # --sse-heartbeat 1
            self.assertLess(time.monotonic() - began, 5)
        finally:
            stream.close()

    def test_over_the_cap_is_503_and_a_client_that_left_frees_its_place(self):
        rejected = self.service.metric("saldo_sse_streams_rejected_total")
        held = [EventStream(self.service.port, "/saldo/seed/events") for _ in range(2)]
        try:
            self.assertEqual([s.status for s in held], [200, 200])
            over = EventStream(self.service.port, "/saldo/seed/events")
            self.assertEqual(over.status, 503)
            self.assertEqual(over.headers.get("Retry-After"), "5")
            body = json.loads(over.body())
            self.assertEqual(body["max_streams"], 2)
            self.assertIn("streams demais", body["error"])
            over.close()
            self.assertEqual(self.service.metric("saldo_sse_streams_open"), 2)
            self.assertEqual(self.service.metric("saldo_sse_streams_rejected_total"), rejected + 1)
            held.pop().close()
            # The service notices the client left (within its one-second check), and the place is free.
            wait_for("a freed place", lambda: self.service.metric("saldo_sse_streams_open") == 1, limit=10)
            again = EventStream(self.service.port, "/saldo/seed/events")
            self.assertEqual(again.status, 200)
            held.append(again)
        finally:
            for s in held:
                s.close()

    def test_zz_stop_ends_open_streams_without_waiting_for_them(self):
        """Last (by name): stops the service."""
        streams = [EventStream(self.service.port, f"/saldo/{k}/events", timeout=30) for k in ("seed", "nobody")]
        for s in streams:
            self.assertEqual(s.status, 200)
            next_event(s)
        began = time.monotonic()
        self.service.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.service.proc.wait(10), 0)
        self.assertLess(time.monotonic() - began, 5, "the stop waited for the open streams")
        for s in streams:
            with self.assertRaises(EOFError):
                while True:
                    s.next_event()
            s.close()
        print(f"stopped with 2 open streams in {time.monotonic() - began:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
