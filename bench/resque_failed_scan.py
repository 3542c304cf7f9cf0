"""Benchmark: filtered `failed` scans over 200,000 Resque failures: entries/s and memory, against a raw
redis-py LRANGE walk of the same list in the same process.

    .venv/bin/python bench/resque_failed_scan.py                 # 200,000 failures
    .venv/bin/python bench/resque_failed_scan.py --failures 50000

A private redis-server is started (and stopped) by the script. The list is built from the
fixture's 30 real failure records (the 100 kB one excluded; mean ≈ 950 bytes, backtraces up to 48
frames), each with its own failed_at second, so every entry is distinct.

Cases (all newest first over the whole list, nothing capped):
* raw LRANGE: 1,000-entry windows, bytes only (the floor any reader pays);
* raw LRANGE + orjson.loads of every entry (a minimal "parse everything" reader);
* jobctl --exception X (rare match): stable id + byte pre-filter, parse only candidates;
* jobctl --error REGEX: stable id + full parse + FailureFilter.matches on every entry;
* jobctl --group-by class,exception: decode + group every entry (the CLI's path, six fields picked
  from each record), and the same grouping over full Failure records for comparison.
Memory: RSS sampled every 20 ms by a thread; "RSS +MB" is the peak growth over the RSS before the
case (flat = independent of list length; the list itself is ~190 MB). The machine's load average
is printed: the 2-core CI box is shared, and absolute rates scale with the CPU share we get.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 1e6


def build(r: Any, n: int) -> int:
    from datetime import UTC, datetime, timedelta

    from resque_data import dump_by_key

    tpls = [v.encode() for v in dump_by_key()["failed"]["value"] if len(v) < 20_000]
    base = datetime(2026, 11, 1, tzinfo=UTC)
    pipe = r.pipeline(transaction=False)
    batch: list[bytes] = []
    total = 0
    for i in range(n):
        t = tpls[i % len(tpls)]
        stamp = (base + timedelta(seconds=i)).strftime("%Y/%m/%d %H:%M:%S UTC").encode()
        entry = t[:14] + stamp + t[37:]  # {"failed_at":"<23 chars>" is the first field
        total += len(entry)
        batch.append(entry)
        if len(batch) == 1000:
            pipe.rpush("resque:failed", *batch)
            batch = []
            if len(pipe.command_stack) >= 20:
                pipe.execute()
    if batch:
        pipe.rpush("resque:failed", *batch)
    pipe.execute()
    return total


class RssSampler:
    """Peak RSS while a case runs, sampled every 20 ms by a thread (no per-entry cost)."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> RssSampler:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_mb())


def measure(name: str, fn: Callable[[], int], n: int) -> tuple[str, float, float, int]:
    gc.collect()
    start = rss_mb()
    with RssSampler() as sampler:
        t0 = time.perf_counter()
        result = fn()
        dt = time.perf_counter() - t0
    return name, n / dt, sampler.peak - start, result


def raw_walk(r: Any, parse: bool) -> Callable[[], int]:
    import orjson

    def run() -> int:
        n = r.llen("resque:failed")
        hi, count = n - 1, 0
        while hi >= 0:
            lo = max(0, hi - 999)
            for raw in reversed(r.lrange("resque:failed", lo, hi)):
                if parse:
                    orjson.loads(raw)
                count += 1
            hi = lo - 1
        return count

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--failures", type=int, default=200_000)
    opts = ap.parse_args()

    from servers import RedisServer

    from jobctl.backends.resque.backend import ResqueBackend
    from jobctl.model import FailureFilter, group_failures
    from jobctl.targets import Target

    srv = RedisServer()
    srv.start()
    try:
        r = srv.client()
        t0 = time.perf_counter()
        size = build(r, opts.failures)
        n = opts.failures
        print(f"built {n:,} failures ({size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f}s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        b = ResqueBackend(Target(url=srv.url))

        def scan(flt: FailureFilter) -> Callable[[], int]:
            def run() -> int:
                got = sum(1 for _ in b.failures(flt))
                assert b.last_scan is not None and b.last_scan.scanned == n  # every entry was examined
                return got
            return run

        def grouped() -> int:
            return len(b.failure_groups(None, "class,exception"))

        def grouped_parsed() -> int:
            return len(group_failures(b.failures(), "class,exception"))

        results = [
            measure("raw LRANGE (bytes only)", raw_walk(r, parse=False), n),
            measure("raw LRANGE + orjson.loads", raw_walk(r, parse=True), n),
            measure("jobctl failed --exception Errno::ECONNREFUSED", scan(FailureFilter(exceptions=("Errno::ECONNREFUSED",))), n),
            measure("jobctl failed --error 'Luhn check for user 60[12]'", scan(FailureFilter(error=r"Luhn check for user 60[12]")), n),
            measure("jobctl failed --group-by class,exception", grouped, n),
            measure("  (same via full Failure records)", grouped_parsed, n),
        ]
        base = results[0][1]
        print(f"\n{'case':<52} {'entries/s':>11} {'vs raw':>7} {'RSS +MB':>8} {'result':>7}")
        for name, rate, mem, res in results:
            print(f"{name:<52} {rate:>11,.0f} {rate / base:>7.2f} {mem:>8.1f} {res:>7,}")
        b.close()
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main()
