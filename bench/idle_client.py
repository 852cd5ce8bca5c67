#!/usr/bin/env python3
"""Opens many TLS connections through a load balancer, holds them idle, then checks each still works.

Driven over stdin/stdout by bench.py so the driver can sample the balancer's memory between steps:

  1. opens COUNT connections (at most CONCURRENCY handshakes in flight), verifying the server
     certificate against the test CA, then prints {"opened": N, "failed": N, "seconds": S};
  2. on any line on stdin, sends one GET /version on every open connection and prints
     {"ok": N, "bad": N, "seconds": S};
  3. on the next line (or end of input), closes everything and exits.

Standard library only; every network step has a timeout so a stuck balancer cannot hang the run.
"""

import argparse
import asyncio
import json
import ssl
import sys
import time

REQUEST = b"GET /version HTTP/1.1\r\nHost: kubernetes\r\nUser-Agent: apilb-bench-idle\r\n\r\n"


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def read_line_from_stdin():
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, sys.stdin.readline)


async def open_all(host, port, count, concurrency, ctx, timeout):
    sem = asyncio.Semaphore(concurrency)
    conns = []
    errors = {}

    async def one():
        async with sem:
            try:
                conns.append(await asyncio.wait_for(
                    asyncio.open_connection(host, port, ssl=ctx, server_hostname=host), timeout))
            except (OSError, asyncio.TimeoutError, ssl.SSLError) as e:
                key = type(e).__name__
                errors[key] = errors.get(key, 0) + 1

    await asyncio.gather(*(one() for _ in range(count)))
    return conns, errors


async def check_one(reader, writer, timeout):
    writer.write(REQUEST)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    status = head.split(b" ", 2)[1]
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await asyncio.wait_for(reader.readexactly(length), timeout)
    return status == b"200"


async def check_all(conns, concurrency, timeout):
    sem = asyncio.Semaphore(concurrency)
    results = []

    async def one(r, w):
        async with sem:
            try:
                results.append(await check_one(r, w, timeout))
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError, ssl.SSLError, IndexError, ValueError):
                results.append(False)

    await asyncio.gather(*(one(r, w) for r, w in conns))
    return sum(results), len(results) - sum(results)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()

    ctx = ssl.create_default_context(cafile=args.ca)
    ctx.set_alpn_protocols(["http/1.1"])

    t0 = time.monotonic()
    conns, errors = await open_all(args.host, args.port, args.count, args.concurrency, ctx, args.timeout)
    emit({"opened": len(conns), "failed": sum(errors.values()), "errors": errors,
          "seconds": round(time.monotonic() - t0, 3)})

    await read_line_from_stdin()
    t0 = time.monotonic()
    ok, bad = await check_all(conns, args.concurrency, args.timeout)
    emit({"ok": ok, "bad": bad, "seconds": round(time.monotonic() - t0, 3)})

    await read_line_from_stdin()
    for _, w in conns:
        w.transport.abort()


if __name__ == "__main__":
    asyncio.run(main())
