"""Bench: requeue-and-remove 10,000 Resque failures: jobctl vs resque-web's index-by-index retry.

Baseline = what the resque-web Rails engine's "Retry all" does (failures_controller: for each index
from count-1 down to 0, `Failure.requeue(i)` then `Failure.remove(i)`), written here with redis-py:
LINDEX i, LSET i <record + retried_at>, RPUSH queue (+SADD), then LSET i "" + LREM 1 "" (Resque's
sentinel remove). Six round trips per job, and each LREM scans from the head to index i, so the
whole run is quadratic in the list length.

jobctl = the real `jobctl requeue --all --yes` process (start-up included) and, separately, the
write module called in-process. Target: >= 20x faster than the baseline. Each run starts from the
same freshly loaded list on a private redis-server.

    .venv/bin/python bench/resque_requeue_vs_index.py [--n 10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from resque_requeue_floor import QUEUES, jobctl_in_process, load, records  # noqa: E402
from resque_requeue_floor import jobctl as jobctl_process  # noqa: E402
from servers import RedisServer  # noqa: E402


def index_by_index(r) -> float:  # type: ignore[no-untyped-def]
    """resque-web engine's retry_all: (count-1).downto(0) { requeue(i); remove(i) }."""
    t0 = time.perf_counter()
    count = r.llen("resque:failed")
    for i in range(count - 1, -1, -1):
        raw = r.lindex("resque:failed", i)
        item = orjson.loads(raw)
        item["retried_at"] = time.strftime("%Y/%m/%d %H:%M:%S UTC", time.gmtime())
        r.lset("resque:failed", i, orjson.dumps(item))
        r.sadd("resque:queues", item["queue"])
        r.rpush(f"resque:queue:{item['queue']}", orjson.dumps(item["payload"]))
        r.lset("resque:failed", i, "")
        r.lrem("resque:failed", 1, "")
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    srv = RedisServer()
    srv.start()
    try:
        r = srv.client()
        recs = records(a.n)
        base, proc, inproc = [], [], []
        for _ in range(a.rounds):
            load(r, recs)
            base.append(index_by_index(r))
            assert r.llen("resque:failed") == 0
            load(r, recs)
            proc.append(jobctl_process(srv.url))
            assert r.llen("resque:failed") == 0 and sum(r.llen(f"resque:queue:{q}") for q in QUEUES) == a.n
            load(r, recs)
            inproc.append(jobctl_in_process(srv.url))
        b, p, i = min(base), min(proc), min(inproc)
        print(f"{a.n} failures, best of {a.rounds}")
        print(f"index-by-index retry+remove (resque-web engine): {b:7.2f} s  ({a.n / b:,.0f} jobs/s)")
        print(f"jobctl requeue --all --yes (whole process):      {p:7.2f} s  ({a.n / p:,.0f} jobs/s)  {b / p:6.1f}x faster")
        print(f"jobctl write.requeue (in-process):               {i:7.2f} s  ({a.n / i:,.0f} jobs/s)  {b / i:6.1f}x faster")
        print("target: >= 20x")
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main()
