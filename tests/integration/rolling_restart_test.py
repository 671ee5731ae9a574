#!/usr/bin/env python3
"""Zero-downtime operation (docs/operations.md, "Replicas"): two consumer_service replicas, each with its own state
directory, behind the repository's HAProxy (scripts/haproxy-local.sh, health check on /ready). Under a
bounded wrk load through the proxy, the replicas are restarted one after the other; each comes back
warm, and wrk must see 0 socket errors and no answer other than 200.

Needs SALDO_TEST_BOOTSTRAP_SERVERS and SALDO_BUILD_DIR (scripts/test.sh), Debian's haproxy and wrk.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from other_clients_test import BUILD, BOOT, Service, create_topic, unique_topic, wait_for

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PRODUCER = os.path.join(BUILD, "producer", "producer")
CUSTOMERS = 2000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica(Service):
    """A replica on a fixed port (so the proxy's server line stays right across restarts)."""

    def __init__(self, topic, port, state_dir):
        self.fixed_port, self.state_dir = port, state_dir
        super().__init__(topic, "--state-dir", state_dir)

    def __setattr__(self, name, value):
        if name == "port" and getattr(self, "fixed_port", None):
            value = self.fixed_port
        super().__setattr__(name, value)


class Edge:
    """scripts/haproxy-local.sh with two servers and a stats socket."""

    def __init__(self, backends, run_dir):
        self.port = free_port()
        self.socket = os.path.join(run_dir, "stats.sock")
        self.env = dict(os.environ, EDGE_PORT=str(self.port), SALDO_BACKEND=backends[0], SALDO_BACKEND2=backends[1],
                        SALDO_EDGE_STATS_SOCKET=self.socket, EDGE_RUN_DIR=run_dir)
        subprocess.run([os.path.join(ROOT, "scripts", "haproxy-local.sh"), "start"], env=self.env, check=True,
                       capture_output=True, text=True)

    def server_states(self):
        """{server name: status} from HAProxy's `show stat`."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(self.socket)
                s.sendall(b"show stat\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return {}
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "saldo" and row.get("svname") not in ("BACKEND", "FRONTEND"):
                states[row["svname"]] = row.get("status", "")
        return states

    def wait_up(self, *servers):
        wait_for(f"HAProxy to see {servers} UP", lambda: all(self.server_states().get(s) == "UP" for s in servers), 30)

    def stop(self):
        subprocess.run([os.path.join(ROOT, "scripts", "haproxy-local.sh"), "stop"], env=self.env, capture_output=True)


class RollingRestart(unittest.TestCase):
    def test_restarting_the_replicas_one_by_one_drops_no_request(self):
        topic = unique_topic("rolling")
        create_topic(topic, 3)
        run = subprocess.run([PRODUCER, "-b", BOOT, "-t", topic, "--customers", str(CUSTOMERS), "--updates",
                              str(CUSTOMERS), "--rate", "0", "--log-level", "warn"], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        work = tempfile.mkdtemp(prefix="saldo-rolling-")
        ports = [free_port(), free_port()]
        replicas = [Replica(topic, ports[i], os.path.join(work, f"state{i}")) for i in range(2)]
        edge = None
        wrk = None
        try:
            for r in replicas:
                r.wait_ready()
            edge = Edge([f"127.0.0.1:{p}" for p in ports], work)
            edge.wait_up("s1", "s2")
            # Bounded load through the proxy while both replicas restart, one after the other.
            wrk = subprocess.Popen(["wrk", "-t2", "-c16", "-d25s", "-s",
                                    os.path.join(os.path.dirname(__file__), "status_count.lua"),
                                    f"http://127.0.0.1:{edge.port}"], stdout=subprocess.PIPE, text=True,
                                   env=dict(os.environ, SALDO_CUSTOMERS=str(CUSTOMERS)))
            for i, name in enumerate(("s1", "s2")):
                replicas[i].stop()
                replicas[i] = Replica(topic, ports[i], os.path.join(work, f"state{i}"))
                replicas[i].wait_ready()
                self.assertEqual(replicas[i].ready()["start"], "warm", replicas[i].logs())
                edge.wait_up(name)
            out, _ = wrk.communicate(timeout=60)
            line = next((l for l in out.splitlines() if l.startswith("WRK ")), "")
            fields = dict(kv.split("=") for kv in line.split()[1:])
            statuses = next((l for l in out.splitlines() if l.startswith("STATUS")), "STATUS ?")
            print("through the proxy during the restarts:", line, "|", statuses)
            self.assertGreater(int(fields["requests"]), 1000, out)
            for error in ("connect", "read", "write", "timeout", "status"):
                self.assertEqual(int(fields[error]), 0, f"{error} errors: {line} | {statuses}\n" +
                                 replicas[0].logs() + replicas[1].logs())
        finally:
            if wrk and wrk.poll() is None:
                wrk.kill()
            if edge:
                edge.stop()
            for r in replicas:
                if r.proc.poll() is None:
                    r.proc.send_signal(signal.SIGTERM)
                    r.proc.wait(10)
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
