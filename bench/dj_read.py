"""Benchmark: Delayed Job reads on a 1,000,000-row table (100,000 failed) vs the raw SQL returning the same rows.

    .venv/bin/python bench/dj_read.py                  # SQLite file + PostgreSQL
    .venv/bin/python bench/dj_read.py --only sqlite --fresh

The table is the real DJ 4.1.9 DDL (tests/dj_data.py) filled by SQL alone (a recursive CTE on
SQLite, generate_series on PostgreSQL) from the fixture's own handlers and last_errors (the latter
cut to their first 12 lines to keep the files small): every 10th row failed, 1/8 of the rest in
each of 8 queues (one NULL), priorities 0..3, a third scheduled in the future; no index on
failed_at (DJ's generator adds only [priority, run_at]). The generated
databases are kept in /tmp/jobctl-bench (SQLite) and database `jobctl_bench` (PostgreSQL) and
reused unless --fresh.

For each operation the jobctl call (backend in-process: SQL + parsing 50 handlers + model
objects) and the raw SQL that returns the same 50 rows (SELECT * … ORDER BY … LIMIT 50, rows
fetched, nothing parsed) run alternately in the same process; medians of --repeat runs and the
ratio jobctl/raw are printed; the failed cases run again with an index on failed_at (created for
the run, dropped after), the index DJ users commonly add.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

ROWS = 1_000_000
BENCH_DIR = Path("/tmp/jobctl-bench")
PG_ADMIN = "postgresql+psycopg://root@127.0.0.1:5432"
PG_DB = "jobctl_bench"
QUEUES = ("default", "mailers", "low", "billing", "imports", "toxic", "reports")  # + NULL = 8 queues


def _templates() -> tuple[list[str], list[str]]:
    from dj_data import fixture_rows

    rows = fixture_rows("pg")
    handlers = [r["handler"] for r in rows]
    errors = ["\n".join(r["last_error"].split("\n")[:12]) for r in rows if r["last_error"]]
    return handlers, errors


def _fill(conn: Any, dialect: str) -> None:
    """Insert ROWS rows with one INSERT … SELECT (templates in a temp table)."""
    from sqlalchemy import text

    handlers, errors = _templates()
    conn.execute(text("CREATE TEMP TABLE tpl (k integer, handler text)"))
    conn.execute(text("CREATE TEMP TABLE etpl (k integer, last_error text)"))
    conn.execute(text("INSERT INTO tpl VALUES (:k, :h)"), [{"k": i, "h": h} for i, h in enumerate(handlers)])
    conn.execute(text("INSERT INTO etpl VALUES (:k, :e)"), [{"k": i, "e": e} for i, e in enumerate(errors)])
    nq = len(QUEUES) + 1
    # (i / 10) spreads failed rows (i % 10 = 3) over every queue; priority and schedule vary independently
    queue_case = "CASE " + " ".join(f"WHEN (i / 10) % {nq} = {j} THEN '{q}'" for j, q in enumerate(QUEUES)) + " END"
    if dialect == "sqlite":
        ts = "strftime('%Y-%m-%d %H:%M:%f', '2026-11-20', '+' || ({secs}) || ' seconds')"
        series = (f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) ")
        src = "n"
    else:
        ts = "(timestamp '2026-11-20' + ({secs}) * interval '1 second')"
        series = ""
        src = f"generate_series(1, {ROWS}) AS n(i)"
    run_at = ts.format(secs="i * 0.6 + CASE WHEN i % 3 = 0 THEN 1000000 ELSE 0 END")  # a third in the future
    failed_at = ts.format(secs="i * 0.6 + 30")
    sql = (
        f"{series}INSERT INTO delayed_jobs (priority, attempts, handler, last_error, run_at, locked_at, failed_at, "
        "locked_by, queue, created_at, updated_at) "
        f"SELECT (i / 3) % 4, CASE WHEN i % 10 = 3 THEN 25 ELSE 0 END, "
        f"(SELECT handler FROM tpl WHERE k = i % {len(handlers)}), "
        f"CASE WHEN i % 10 = 3 THEN (SELECT last_error FROM etpl WHERE k = i % {len(errors)}) END, "
        f"{run_at}, CASE WHEN i % 10 = 3 THEN {failed_at} END, CASE WHEN i % 10 = 3 THEN {failed_at} END, "
        f"CASE WHEN i % 10 = 3 THEN 'host:bench pid:' || (i % 50) END, {queue_case}, {run_at}, {run_at} FROM {src}"
    )
    conn.execute(text(sql))


def sqlite_db(fresh: bool) -> str:
    from dj_data import load_fixture
    from sqlalchemy import create_engine

    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / "dj_1m.sqlite3"
    url = f"sqlite:///{path}"
    if path.exists() and not fresh:
        return url
    path.unlink(missing_ok=True)
    load_fixture(url, rows=[])
    eng = create_engine(url)
    with eng.begin() as conn:
        _fill(conn, "sqlite")
    eng.dispose()
    return url


def pg_db(fresh: bool) -> str:
    from dj_data import load_fixture
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{PG_ADMIN}/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        exists = c.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": PG_DB}).scalar()
        if exists and fresh:
            c.execute(text(f"DROP DATABASE {PG_DB} WITH (FORCE)"))
            exists = None
        if not exists:
            c.execute(text(f"CREATE DATABASE {PG_DB}"))
    admin.dispose()
    url = f"{PG_ADMIN}/{PG_DB}"
    eng = create_engine(url)
    with eng.connect() as c:
        has = c.execute(text("SELECT to_regclass('public.delayed_jobs')")).scalar()
        n = c.execute(text("SELECT count(*) FROM delayed_jobs")).scalar() if has else 0
    if n != ROWS:
        if has:
            with eng.begin() as c:
                c.execute(text("DROP TABLE delayed_jobs"))
        load_fixture(url, rows=[])
        with eng.begin() as c:
            _fill(c, "pg")
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE delayed_jobs"))
    eng.dispose()
    return url


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm-up (caches, reflection)
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def run(label: str, url: str, repeat: int) -> list[tuple[str, float, float]]:
    from sqlalchemy import create_engine, text

    from jobctl.backends.delayed_job.backend import DelayedJobBackend
    from jobctl.targets import Target
    from jobctl.timeutil import utcnow

    user_url = url.replace("postgresql+psycopg://", "postgresql://")
    b = DelayedJobBackend(Target(url=user_url))
    raw = create_engine(url)
    now = utcnow()
    is_sqlite = url.startswith("sqlite")

    def t(dt: Any) -> Any:
        naive = dt.replace(tzinfo=None)
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if is_sqlite else naive

    peek_sql = text("SELECT * FROM delayed_jobs WHERE queue = :q AND failed_at IS NULL AND run_at <= :now "
                    "AND (locked_at IS NULL OR locked_at < :stale) ORDER BY priority, run_at, id LIMIT 50")
    failed_sql = text("SELECT * FROM delayed_jobs WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id DESC LIMIT 50")
    failed_q_sql = text("SELECT * FROM delayed_jobs WHERE failed_at IS NOT NULL AND queue = :q "
                        "ORDER BY failed_at DESC, id DESC LIMIT 50")
    params = {"q": "mailers", "now": t(now), "stale": t(now - timedelta(hours=4))}

    def raw_rows(stmt: Any, **p: Any) -> Callable[[], list[Any]]:
        def go() -> list[Any]:
            with raw.connect() as c:
                return c.execute(stmt, p).fetchall()
        return go

    cases = [
        ("peek mailers --limit 50", lambda: b.peek("mailers", limit=50), raw_rows(peek_sql, **params)),
        ("failed --limit 50", lambda: list(itertools.islice(b.failures(), 50)), raw_rows(failed_sql)),
        ("failed -q mailers --limit 50",
         lambda: list(itertools.islice(b.failures(__import__("jobctl.model", fromlist=["FailureFilter"])
                                                  .FailureFilter(queues=("mailers",))), 50)),
         raw_rows(failed_q_sql, q="mailers")),
    ]
    results = _compare(label, cases, repeat)
    # the index many apps add (delayed_job#202): failed_at first; created for this run, then dropped
    with raw.begin() as c:
        c.execute(text("CREATE INDEX bench_failed_at ON delayed_jobs (failed_at)"))
    try:
        results += _compare(label + "+ix", cases[1:], repeat)
    finally:
        with raw.begin() as c:
            c.execute(text("DROP INDEX bench_failed_at"))
    b.close()
    raw.dispose()
    return results


def _compare(label: str, cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]],
             repeat: int) -> list[tuple[str, float, float]]:
    results = []
    for name, ours, baseline in cases:
        t_raw, rows = timed(baseline, repeat)
        t_ours, objs = timed(ours, repeat)
        assert len(rows) == 50 and [str(r.id) for r in rows] == [o.id for o in objs], f"{label} {name}: different rows"
        results.append((name, t_ours, t_raw))
        print(f"  {label:<14} {name:<30} jobctl {t_ours * 1000:9.1f} ms   raw SQL {t_raw * 1000:9.1f} ms   "
              f"ratio {t_ours / t_raw:5.2f}", flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=("sqlite", "pg"))
    ap.add_argument("--fresh", action="store_true", help="regenerate the 1M-row tables")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"Delayed Job reads, {ROWS:,} rows ({ROWS // 10:,} failed); median of {args.repeat}")
    for key, label, make in (("sqlite", "sqlite", sqlite_db), ("pg", "postgresql", pg_db)):
        if args.only and args.only != key:
            continue
        t0 = time.perf_counter()
        url = make(args.fresh)
        print(f"  {label}: table ready in {time.perf_counter() - t0:.1f} s", flush=True)
        run(label, url, args.repeat)


if __name__ == "__main__":
    main()
