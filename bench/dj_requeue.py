"""Bench: requeue 100,000 failed Delayed Job rows on PostgreSQL: jobctl vs one raw UPDATE.

Baseline = the statement people run by hand (docs/delayed-job-format.md §4.2): one
`UPDATE delayed_jobs SET failed_at = NULL, attempts = 0, run_at = <now>, locked_at = NULL,
locked_by = NULL WHERE failed_at IS NOT NULL`, a single transaction over every row.

jobctl = keyset batches of 1,000 ids, each one transaction (`… WHERE id IN (…) AND failed_at IS NOT
NULL RETURNING id`), with per-queue counts: measured in-process (write.requeue) and as the whole
`jobctl requeue --all --yes` process. Target: <= 1.5x the raw UPDATE. Every run starts from the
same table (rows reset to failed, then VACUUM ANALYZE), in a fresh database on the machine's
PostgreSQL (127.0.0.1:5432, user root; JOBCTL_TEST_PG overrides).

    .venv/bin/python bench/dj_requeue.py [--n 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from dj_data import load_fixture  # noqa: E402
from resque_requeue_floor import _process_env  # noqa: E402
from servers import drop_database, make_database  # noqa: E402

RESET = ("UPDATE delayed_jobs SET failed_at = now() AT TIME ZONE 'UTC' - (id || ' seconds')::interval, attempts = 25, "
         "locked_at = now() AT TIME ZONE 'UTC' - interval '1 day', locked_by = 'host:web1 pid:4242'")
RAW = ("UPDATE delayed_jobs SET failed_at = NULL, attempts = 0, run_at = now() AT TIME ZONE 'UTC', locked_at = NULL, "
       "locked_by = NULL WHERE failed_at IS NOT NULL")


def seed(url: str, n: int) -> None:
    from sqlalchemy import create_engine, text

    load_fixture(url, rows=[])
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text(
            "INSERT INTO delayed_jobs (priority, attempts, handler, last_error, run_at, queue, created_at, updated_at) "
            "SELECT g % 5, 25, E'--- !ruby/object:Delayed::PerformableMethod\\nobject: !ruby/object:User\\n  "
            "concise_attributes:\\n  - !ruby/object:ActiveModel::Attribute::FromDatabase\\n    name: id\\n    "
            "value_before_type_cast: ' || g || E'\\nmethod_name: \\:send_heavy_report\\nargs: []\\n', "
            "'Net::ReadTimeout: Net::ReadTimeout with #<TCPSocket:(closed)>' || E'\\n/app/models/user.rb:5:in `send_heavy_report''', "
            "now() AT TIME ZONE 'UTC', (ARRAY['low','default','mailers','reports'])[1 + g % 4], now(), now() "
            "FROM generate_series(1, :n) g"), {"n": n})
    eng.dispose()


def reset(url: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(RESET))
        c.execute(text("VACUUM ANALYZE delayed_jobs"))
    eng.dispose()


def raw_update(url: str) -> float:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.connect() as c:
        c.execute(text("SELECT 1"))  # connect before the clock starts, as jobctl's in-process run does
        c.commit()
        t0 = time.perf_counter()
        with c.begin():
            n = c.execute(text(RAW)).rowcount
        dt = time.perf_counter() - t0
    eng.dispose()
    assert n > 0
    return dt


def jobctl_in_process(url: str) -> float:
    from jobctl.backends.delayed_job import write
    from jobctl.backends.delayed_job.backend import DelayedJobBackend
    from jobctl.model import FailureFilter
    from jobctl.targets import Target

    b = DelayedJobBackend(Target(url=url))
    b.dj  # noqa: B018 - connect and reflect before the clock starts
    t0 = time.perf_counter()
    res = write.requeue(b, FailureFilter())
    dt = time.perf_counter() - t0
    b.close()
    assert res.done > 0 and res.skipped == 0
    return dt


def raw_update_process(url: str) -> float:
    """The same UPDATE as a whole process, the way it is run by hand: `psql URL -c '…'`."""
    plain = "postgresql://" + url.split("://", 1)[1]  # psql wants no SQLAlchemy driver suffix
    t0 = time.perf_counter()
    subprocess.run(["psql", plain, "-q", "-v", "ON_ERROR_STOP=1", "-c", RAW], check=True, capture_output=True)
    return time.perf_counter() - t0


def jobctl_process(url: str) -> float:
    env = _process_env(url)  # byte-compiled jobctl, as installed (see resque_requeue_floor.py)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "jobctl", "-u", url, "requeue", "--all", "--yes", "-o", "json"],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"jobctl failed: {p.stderr}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    url, name = make_database("pg")
    try:
        seed(url, a.n)
        raw, rawp, inproc, proc = [], [], [], []
        for _ in range(a.rounds):
            reset(url)
            raw.append(raw_update(url))
            reset(url)
            rawp.append(raw_update_process(url))
            reset(url)
            inproc.append(jobctl_in_process(url))
            reset(url)
            proc.append(jobctl_process(url))
        r, rp, i, p = min(raw), min(rawp), min(inproc), min(proc)
        print(f"{a.n} failed rows on PostgreSQL, best of {a.rounds}")
        print(f"one raw UPDATE (single transaction):         {r:6.2f} s  ({a.n / r:,.0f} rows/s)")
        print(f"jobctl write.requeue (in-process, batched):  {i:6.2f} s  ({a.n / i:,.0f} rows/s)  {i / r:.2f}x the raw UPDATE")
        print(f"the raw UPDATE as a process (psql -c):       {rp:6.2f} s  ({a.n / rp:,.0f} rows/s)")
        print(f"jobctl requeue --all --yes (whole process):  {p:6.2f} s  ({a.n / p:,.0f} rows/s)  {p / r:.2f}x the raw UPDATE, "
              f"{p / rp:.2f}x its process")
        print("target: <= 1.5x")
    finally:
        drop_database("pg", name)


if __name__ == "__main__":
    main()
