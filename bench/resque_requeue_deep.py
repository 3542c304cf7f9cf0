"""Bench: a scattered selection deep inside a 1,000,000-entry failed list — how long Redis is blocked.

Every 10th failure is a `DeepJob`; `jobctl requeue --class DeepJob` must remove 100,000 entries
spread over the whole list. Redis has no remove-by-index: each removal batch costs an LREM scan
from the nearer end of the list (jobctl/backends/resque/stall.py), up to ~500,000 entries in the
middle. Measured on a private redis-server from its SLOWLOG (every command logged, server time):

  1. jobctl with the default stall guard (--max-stall-ms 10): what it does and skips, and the
     longest script call;
  2. a rerun with the limit raised (--max-stall-ms 10000): it finishes the deep middle; the cost
     of each call there is the scan itself;
  3. baseline, in the same process: Resque's own way to remove one failure (`Failure.remove(i)` =
     LSET i "" + LREM 1 "", what resque-web's Remove does) for a sample of the same entries spread
     over the list: one scan from the head per entry.

    .venv/bin/python bench/resque_requeue_deep.py [--n 1000000] [--sample 300]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from servers import RedisServer  # noqa: E402

from jobctl.backends.resque import write  # noqa: E402
from jobctl.backends.resque.backend import ResqueBackend  # noqa: E402
from jobctl.model import FailureFilter  # noqa: E402
from jobctl.targets import Target  # noqa: E402

DEEP = FailureFilter(classes=("DeepJob",))


def load(r, n: int) -> None:  # type: ignore[no-untyped-def]
    r.flushall()
    pipe = r.pipeline(transaction=False)
    batch = []
    for i in range(n):
        payload = orjson.dumps({"class": "DeepJob" if i % 10 == 0 else "OtherJob", "args": [i, "x" * 160]})
        batch.append(b'{"failed_at":"2026/11/27 19:43:27 UTC","payload":' + payload + b',"exception":"Net::ReadTimeout",'
                     b'"error":"Net::ReadTimeout with #' + str(i).encode() + b'","backtrace":["/app/jobs/deep.rb:17"],'
                     b'"worker":"web-1:4242:low","queue":"low"}')
        if len(batch) == 5000:
            pipe.rpush("resque:failed", *batch)
            batch = []
    if batch:
        pipe.rpush("resque:failed", *batch)
    pipe.execute()


def calls(r, prefix: bytes) -> list[int]:  # type: ignore[no-untyped-def]
    """Server time (µs) of each logged command starting with `prefix`, then reset the log."""
    out = [e["duration"] for e in r.slowlog_get(1_000_000) if e["command"].startswith(prefix)]
    r.slowlog_reset()
    return out


def describe(us: list[int]) -> str:
    if not us:
        return "no calls"
    us = sorted(us)
    return (f"{len(us):,} calls, median {statistics.median(us) / 1000:.2f} ms, p99 {us[int(len(us) * 0.99)] / 1000:.2f} ms, "
            f"max {us[-1] / 1000:.2f} ms, total blocked {sum(us) / 1e6:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=300, help="entries removed the Resque way (baseline)")
    a = ap.parse_args()
    srv = RedisServer(extra_args=["--slowlog-log-slower-than", "0", "--slowlog-max-len", "1000000"])
    srv.start()
    try:
        r = srv.client()
        load(r, a.n)
        print(f"{a.n:,} failures (~{len(r.lindex('resque:failed', 0)):,} bytes each), every 10th a DeepJob")
        b = ResqueBackend(Target(url=srv.url))
        r.slowlog_reset()
        t0 = time.perf_counter()
        res = write.requeue(b, DEEP)
        t1 = time.perf_counter()
        print(f"1. default guard (10 ms): requeued {res.done:,}, skipped {res.skipped:,} in {t1 - t0:.1f} s; "
              f"{describe(calls(r, b'EVALSHA'))}")
        t0 = time.perf_counter()
        res2 = write.requeue(b, DEEP, max_stall_ms=10_000)
        t1 = time.perf_counter()
        deep_us = calls(r, b"EVALSHA")
        print(f"2. rerun, --max-stall-ms 10000: requeued {res2.done:,}, skipped {res2.skipped:,} in {t1 - t0:.1f} s; "
              f"{describe(deep_us)}")
        assert res.done + res2.done == a.n // 10 and r.llen("resque:failed") == a.n - a.n // 10

        load(r, a.n)
        r.slowlog_reset()
        # The sample spread evenly over the list, newest first (a removal shifts only what is above it).
        stride = max(1, (a.n // 10) // a.sample) * 10
        idx = (a.n - 1) // 10 * 10
        done = 0
        t0 = time.perf_counter()
        while done < a.sample and idx >= 0:
            r.lset("resque:failed", idx, "")
            r.lrem("resque:failed", 1, "")
            idx -= stride
            done += 1
        t1 = time.perf_counter()
        base = calls(r, b"LREM")
        per_entry_base = sum(base) / len(base)
        per_entry_jobctl = (sum(deep_us)) / max(res2.done, 1)
        print(f"3. Resque's Failure.remove (LSET \"\" + LREM 1 \"\") on {done} DeepJobs spread over the list: {describe(base)} "
              f"({t1 - t0:.1f} s)")
        print(f"Redis blocked per entry removed: Resque's way {per_entry_base / 1000:.2f} ms (LREM scans "
              f"from the head), jobctl {per_entry_jobctl / 1000:.3f} ms over the deep rerun: "
              f"{per_entry_base / per_entry_jobctl:.0f}x less")
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main()
