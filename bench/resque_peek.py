"""Benchmark: `peek 50` at the head, the middle and near the tail of a 1,000,000-entry Resque queue,
against a raw redis-py LRANGE of the same 50 entries, and against the same peek on a 1,000-entry
queue (peek time must not depend on queue length).

    .venv/bin/python bench/resque_peek.py               # 1,000,000 entries, 200 repeats
    .venv/bin/python bench/resque_peek.py --entries 200000 --repeat 50

A private redis-server is started (and stopped) by the script. Entries are the fixture's real
queue payloads (plain, ActiveJob, mailers, a big-int one; the 100 kB blob excluded) with a varying
first argument. jobctl = ResqueBackend.peek in-process (LRANGE + parse 50 payloads + model
objects); raw = `LRANGE key offset offset+49` with redis-py, nothing parsed. Every round runs each
case once with jobctl and once raw, in the same process; medians over the rounds are printed with
the ratio jobctl/raw.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def templates() -> list[dict[str, Any]]:
    from resque_data import dump_by_key

    out = []
    for key, e in dump_by_key().items():
        if key.startswith("queue:"):
            out += [json.loads(v) for v in e["value"] if len(v) < 5000]
    return out


def fill(r: Any, key: str, n: int, tpls: list[dict[str, Any]]) -> None:
    """RPUSH n entries, 1,000 per command, 50 commands per round trip (like a busy producer)."""
    parts: list[tuple[bytes, bytes] | bytes] = []
    for t in tpls:  # pre-encode; an int first argument becomes the entry number
        args = list(t["args"])
        if args and isinstance(args[0], int) and not isinstance(args[0], bool):
            args[0] = -987654321
            enc = json.dumps({"class": t["class"], "args": args}, separators=(",", ":")).encode()
            pre, _, post = enc.partition(b"-987654321")
            parts.append((pre, post))
        else:
            parts.append(json.dumps({"class": t["class"], "args": args}, separators=(",", ":")).encode())
    pipe = r.pipeline(transaction=False)
    batch: list[bytes] = []
    for i in range(n):
        p = parts[i % len(parts)]
        batch.append(p[0] + str(i).encode() + p[1] if isinstance(p, tuple) else p)
        if len(batch) == 1000:
            pipe.rpush(key, *batch)
            batch = []
            if len(pipe.command_stack) >= 50:
                pipe.execute()
    if batch:
        pipe.rpush(key, *batch)
    pipe.execute()


def timed_ms(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=200)
    opts = ap.parse_args()

    from servers import RedisServer

    from jobctl.backends.resque.backend import ResqueBackend
    from jobctl.targets import Target

    srv = RedisServer()
    srv.start()
    try:
        raw = srv.client()
        tpls = templates()
        t0 = time.perf_counter()
        raw.sadd("resque:queues", "big", "small")
        fill(raw, "resque:queue:big", opts.entries, tpls)
        fill(raw, "resque:queue:small", 1000, tpls)
        print(f"filled {opts.entries:,} + 1,000 entries in {time.perf_counter() - t0:.1f}s "
              f"(used_memory {raw.info('memory')['used_memory_human']}); "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        b = ResqueBackend(Target(url=srv.url))
        n = opts.entries
        cases = [("big", "head", 0), ("big", "middle", n // 2), ("big", "near tail", n - 50),
                 ("small", "head", 0), ("small", "near tail", 950)]
        for queue, _, offset in cases:  # correctness first: the same 50 entries as LRANGE
            got = b.peek(queue, limit=50, offset=offset)
            assert len(got) == 50 and got[0].position == offset
            assert [j.raw.encode() for j in got] == raw.lrange(f"resque:queue:{queue}", offset, offset + 49)  # type: ignore[union-attr]
        # rounds interleave every case (jobctl then raw), so load drift on a shared box hits all alike
        j_times: list[list[float]] = [[] for _ in cases]
        r_times: list[list[float]] = [[] for _ in cases]
        for _ in range(opts.repeat):
            for c, (queue, _, offset) in enumerate(cases):
                key = f"resque:queue:{queue}"
                j_times[c].append(timed_ms(lambda q=queue, o=offset: b.peek(q, limit=50, offset=o)))
                r_times[c].append(timed_ms(lambda k=key, o=offset: raw.lrange(k, o, o + 49)))
        rows = [(f"{q} ({n if q == 'big' else 1000:,})", where, off, statistics.median(j_times[c]),
                 statistics.median(r_times[c])) for c, (q, where, off) in enumerate(cases)]
        print(f"\n{'queue':<20} {'where':<10} {'offset':>9} {'jobctl ms':>10} {'raw LRANGE ms':>14} {'ratio':>6}")
        for q, where, off, j, r in rows:
            print(f"{q:<20} {where:<10} {off:>9,} {j:>10.3f} {r:>14.3f} {j / r:>6.2f}")
        head_big, head_small = rows[0][3], rows[3][3]
        tail_big = rows[2][3]
        print(f"\npeek 50 at the head: {opts.entries:,}-entry queue / 1,000-entry queue = {head_big / head_small:.2f}")
        print(f"peek 50 near the tail vs at the head of the {opts.entries:,}-entry queue = {tail_big / head_big:.2f}")
        b.close()
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main()
