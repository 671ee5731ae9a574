#!/usr/bin/env python3
"""Every connection answered? Opens C keep-alive connections at once and has each complete K
GET /saldo/<random id> requests; prints the fewest and most answers per connection and the errors.
wrk's totals hide a connection that a too-small thread pool never serves; this does not.

    conn_check.py --port P --connections 256 --requests 20 --customers K [--timeout 60]
"""
import argparse
import asyncio
import random
import sys
import time


async def one(port, k, customers, answered, errors, idx):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as e:
        errors.append(f"connect: {e}")
        return
    try:
        for _ in range(k):
            cid = random.randint(1, customers)
            writer.write(f"GET /saldo/{cid} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(head.split(b"\r\n", 1)[0].decode())
            answered[idx] += 1
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=256)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--customers", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    answered = [0] * a.connections
    errors = []
    start = time.monotonic()
    tasks = [asyncio.create_task(one(a.port, a.requests, a.customers, answered, errors, i))
             for i in range(a.connections)]
    done, pending = await asyncio.wait(tasks, timeout=a.timeout)
    for t in pending:
        t.cancel()
    elapsed = time.monotonic() - start
    full = sum(1 for n in answered if n == a.requests)
    print(f"CONN connections={a.connections} requests_each={a.requests} min={min(answered)} "
          f"max={max(answered)} complete={full} errors={len(errors)} timed_out={len(pending)} "
          f"seconds={elapsed:.2f}")
    for e in errors[:5]:
        print(f"conn_check: {e}", file=sys.stderr)
    return 0 if full == a.connections and not errors else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
