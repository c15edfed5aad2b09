"""One redis-py client process: ``python -m bench.pyclient PATH TEST REQUESTS``.

PATH is ``direct`` or ``haproxy`` (``redis.Redis`` to BENCH_HOST:BENCH_PORT)
or ``sentinel`` (``redis.sentinel.Sentinel(BENCH_SENTINELS).master_for(BENCH_MASTER_SET)``,
as examples/consumer/app.py connects). The password comes from BENCH_PASSWORD,
never argv. Sends REQUESTS unpipelined SET or GET of 100-byte values on
random keys of a 1,000,000 keyspace (redis-benchmark's ``-d 100 -r 1000000``)
and prints {"requests": n, "seconds": s}. The loop starts when a line arrives
on stdin (after this process printed "ready"), after a warm-up request, so the
connection (and for ``sentinel`` the master lookup) is not timed: a
long-lived application pays them once.

Separate processes, not threads: three redis-py threads would share one GIL
and measure Python, not the path.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

import redis
from redis.sentinel import Sentinel

VALUE = b"x" * 100
KEYSPACE = 1_000_000


def client(path: str) -> redis.Redis:
    password = os.environ["BENCH_PASSWORD"]
    user = os.environ.get("BENCH_USER")
    if path == "sentinel":
        sentinels = [(h, int(p)) for h, p in (e.rsplit(":", 1) for e in os.environ["BENCH_SENTINELS"].split(","))]
        sentinel = Sentinel(sentinels, sentinel_kwargs={"username": user, "password": password, "socket_timeout": 5},
                            username=user, password=password, socket_timeout=5)
        return sentinel.master_for(os.environ["BENCH_MASTER_SET"])
    return redis.Redis(host=os.environ["BENCH_HOST"], port=int(os.environ["BENCH_PORT"]), username=user,
                       password=password, socket_timeout=5)


def main(argv: list[str]) -> int:
    path, test, requests = argv[0], argv[1].upper(), int(argv[2])
    c = client(path)
    c.set("bench:warmup", VALUE)
    rng = random.Random(os.getpid())
    keys = [f"key:{rng.randrange(KEYSPACE):012d}" for _ in range(min(requests, 10_000))]
    op = (lambda k: c.set(k, VALUE)) if test == "SET" else c.get
    # A start barrier: interpreter start-up varies by a second on a busy
    # machine, so each process says it is ready and waits for the parent's
    # go; the loops then overlap and their rates add up.
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    for i in range(requests):
        op(keys[i % len(keys)])
    seconds = time.perf_counter() - started
    print(json.dumps({"requests": requests, "seconds": seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
