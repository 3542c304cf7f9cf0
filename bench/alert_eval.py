"""Benchmark: `jobctl alert` rule evaluation and `jobctl metrics` on a big failed set, against the
naive baseline every hand-written cron check does, in the same process.

    .venv/bin/python bench/alert_eval.py                    # Resque, 200,000 failures (~1 min)
    .venv/bin/python bench/alert_eval.py --failures 50000 --repeat 3
    .venv/bin/python bench/alert_eval.py --dj               # also the 1M-row DJ SQLite of bench/dj_read.py

Resque: a private redis-server is started (and stopped) by the script; `resque:failed` gets
--failures entries copied from the fixture's real failure entries (the one with a 100 kB
argument left out) (queues high/toxic/low/
mailers/critical), one second apart, oldest first (RPUSH, as Resque appends).
  raw baseline   LRANGE the whole list in 1,000-entry windows + json.loads + count queue == toxic
                 (what a shell/Ruby cron check does: Resque keeps no per-queue failure index)
  jobctl cases   jobctl.alert.evaluate.evaluate() in-process (count_failures + 5 newest samples,
                 thresholds, message) for: failed --queue toxic; failed --queue toxic --window 15m
                 (newest-first scan stops at the window); record-not-found (classifier over the
                 2,000 newest failures, the default --scan-limit); and promstats.backend_families
                 (the whole `metrics` read, default --failed-scan-limit 2,000).
Delayed Job (--dj): the raw baseline is `SELECT count(*) … WHERE failed_at IS NOT NULL AND
queue = 'toxic'` (no rows fetched), the jobctl cases the same rules through DelayedJobBackend.
Medians of --repeat runs; ratio = jobctl / raw.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), result


def fill_failed(r: Any, n: int) -> None:
    from resque_data import dump_by_key

    tpls = [json.loads(v) for v in dump_by_key()["failed"]["value"] if len(v) < 5000]  # not the 100 kB blob
    pipe = r.pipeline(transaction=False)
    batch: list[bytes] = []
    for i in range(n):
        e = dict(tpls[i % len(tpls)])
        e["failed_at"] = (BASE + timedelta(seconds=i)).strftime("%Y/%m/%d %H:%M:%S UTC")
        e.pop("retried_at", None)
        batch.append(json.dumps(e, separators=(",", ":")).encode())
        if len(batch) == 1000:
            pipe.rpush("resque:failed", *batch)
            batch = []
            if len(pipe.command_stack) >= 20:
                pipe.execute()
    if batch:
        pipe.rpush("resque:failed", *batch)
    pipe.execute()
    r.sadd("resque:queues", "high", "toxic", "low", "mailers", "critical")


def raw_count_toxic(r: Any) -> int:
    total = r.llen("resque:failed")
    n = 0
    for start in range(0, total, 1000):
        for raw in r.lrange("resque:failed", start, start + 999):
            if json.loads(raw).get("queue") == "toxic":
                n += 1
    return n


def jobctl_cases(backend: Any, now: datetime) -> list[tuple[str, Callable[[], Any]]]:
    from jobctl.alert.evaluate import evaluate
    from jobctl.alert.promstats import backend_families
    from jobctl.alert.rules import quick_rule

    toxic = quick_rule({"queue": ["toxic"], "critical": "5"}, channels={})
    windowed = quick_rule({"queue": ["toxic"], "window": "15m", "critical": "5"}, channels={})
    rnf = quick_rule({"metric": "record-not-found"}, channels={})
    return [
        ("failed --queue toxic", lambda: evaluate(toxic, backend, "bench", now).value),
        ("failed --queue toxic --window 15m", lambda: evaluate(windowed, backend, "bench", now).value),
        ("record-not-found (scan 2k newest)", lambda: evaluate(rnf, backend, "bench", now).value),
        ("metrics (all families)", lambda: len(backend_families(backend, instance="bench", now=now))),
    ]


def report(title: str, raw_label: str, raw_ms: float, raw_val: Any, rows: list[tuple[str, float, Any]]) -> None:
    print(f"\n{title}")
    print(f"{'case':<38} {'ms':>10} {'ratio vs raw':>13}  value")
    print(f"{raw_label:<38} {raw_ms:>10.1f} {1.0:>13.2f}  {raw_val}")
    for label, ms, val in rows:
        print(f"{label:<38} {ms:>10.1f} {ms / raw_ms:>13.3f}  {val}")


def bench_resque(n: int, repeat: int) -> None:
    from servers import RedisServer

    from jobctl.backends.resque.backend import ResqueBackend
    from jobctl.targets import Target

    srv = RedisServer()
    srv.start()
    try:
        r = srv.client()
        t0 = time.perf_counter()
        fill_failed(r, n)
        print(f"Resque: filled {n:,} failures in {time.perf_counter() - t0:.1f}s")
        backend = ResqueBackend(Target(url=srv.url, read_only=True))
        now = BASE + timedelta(seconds=n)
        raw_ms, raw_val = median_ms(lambda: raw_count_toxic(r), repeat)
        rows = []
        for label, fn in jobctl_cases(backend, now):
            ms, val = median_ms(fn, repeat)
            rows.append((label, ms, val))
        assert rows[0][2] == raw_val, (rows[0][2], raw_val)  # same count as the baseline
        report(f"Resque, {n:,} failed entries (median of {repeat})", "raw LRANGE+json count toxic", raw_ms, raw_val,
               rows)
        backend.close()
    finally:
        srv.cleanup()


def bench_dj(repeat: int) -> None:
    from dj_read import sqlite_db  # type: ignore[import-not-found]
    from sqlalchemy import create_engine, text

    from jobctl.backends.delayed_job.backend import DelayedJobBackend
    from jobctl.targets import Target

    url = sqlite_db(False)
    eng = create_engine(url)
    sql = text("SELECT count(*) FROM delayed_jobs WHERE failed_at IS NOT NULL AND queue = 'toxic'")

    def raw() -> int:
        with eng.connect() as c:
            return int(c.execute(sql).scalar_one())

    with eng.connect() as c:
        newest = c.execute(text("SELECT max(failed_at) FROM delayed_jobs")).scalar_one()
    now = datetime.fromisoformat(str(newest)).replace(tzinfo=UTC)
    backend = DelayedJobBackend(Target(url=url, read_only=True), clock=lambda: now)
    raw_ms, raw_val = median_ms(raw, repeat)
    rows = [(label, *median_ms(fn, repeat)) for label, fn in jobctl_cases(backend, now)]
    assert rows[0][2] == raw_val, (rows[0][2], raw_val)
    report(f"Delayed Job SQLite, 1,000,000 rows (median of {repeat})", "raw SELECT count(*) toxic", raw_ms, raw_val,
           rows)
    backend.close()
    eng.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--failures", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dj", action="store_true", help="also the 1M-row Delayed Job SQLite database")
    opts = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    bench_resque(opts.failures, opts.repeat)
    if opts.dj:
        bench_dj(opts.repeat)


if __name__ == "__main__":
    main()
