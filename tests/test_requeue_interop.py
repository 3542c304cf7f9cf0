"""Jobs jobctl requeued on a Delayed Job table are run by a real Delayed Job worker (Debian's
delayed_job 4.1.9 + delayed_job_active_record, tests/ruby_requeue/worker.rb), on SQLite and
PostgreSQL. The worker defines the fixture's job classes as a fixed deploy would; every fixable
failed job must run once and be deleted (DJ deletes successful jobs); the unfixable ones (their
record or mailer is gone) must fail again, which shows DJ really picked them up.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from dj_data import load_fixture
from servers import FIXTURES
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

pytestmark = [pytest.mark.ruby, pytest.mark.slow]

WORKER = Path(__file__).resolve().parent / "ruby_requeue" / "worker.rb"
FIXABLE = {3: "User#send_heavy_report 3", 6: "User#send_heavy_report 6", 12: "NewsletterJob Broken list",
           15: "ToxicJob 7000", 16: "ToxicJob 7001", 17: "ToxicJob 7002", 18: "ToxicJob 7003",
           19: "ToxicJob 7004", 20: "ToxicJob 7005", 21: 'User.explode "nested\\nnewline in args"',
           22: 'User.validate_strict {"mode"=>"turbo", "retries"=>0}', 25: "PurgeUserDataJob 5 7",
           28: "ChargeCardJob 2 75000 USD", 30: "ChargeCardJob 4 99999 USD"}
UNFIXABLE = {26, 32, 34, 35}  # user 10 / user 9 deleted, UserMailer not defined in the worker


def run_worker(db_url: str, log: Path) -> str:
    if shutil.which("ruby") is None:
        pytest.fail("ruby is not installed (scripts/test installs ruby-delayed-job); cannot run the interop test")
    p = subprocess.run(["ruby", str(WORKER), db_url, str(log)], capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def failed_state(url: str) -> dict[int, tuple[bool, int]]:
    eng = create_engine(url, poolclass=NullPool)
    with eng.connect() as c:
        out = {int(r.id): (r.failed_at is not None, int(r.attempts))
               for r in c.execute(text("SELECT id, failed_at, attempts FROM delayed_jobs"))}
    eng.dispose()
    return out


def check(url: str, ruby_url: str, jobctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = failed_state(url)
    assert {i for i, (failed, _) in before.items() if failed} == set(FIXABLE) | UNFIXABLE
    p = jobctl("-u", url, "requeue", "--all", "--yes")
    assert p.returncode == 0 and f"requeued {len(FIXABLE) + len(UNFIXABLE)} of" in p.stdout, p.stderr
    log = tmp_path / "ran.log"
    run_worker(ruby_url, log)
    ran = log.read_text(encoding="utf-8").splitlines()
    after = failed_state(url)
    for i, line in FIXABLE.items():
        assert i not in after, f"job {i} was not run to success by Delayed Job"
        assert ran.count(f"ok {i}") == 1 and line in ran, line
    for i in UNFIXABLE:
        assert i in after
        failed, attempts = after[i]
        assert failed or attempts == 1  # DJ ran it again: failed for good, or rescheduled after 1 attempt
        assert f"ok {i}" not in ran


def test_requeued_jobs_run_under_real_delayed_job_sqlite(dj_fixture_sqlite: str, jobctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = dj_fixture_sqlite.removeprefix("sqlite:///")
    check(dj_fixture_sqlite, f"sqlite3://{path}", jobctl, tmp_path)


def test_requeued_jobs_run_under_real_delayed_job_postgresql(pg_url: str, jobctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    load_fixture(pg_url)
    src = sqlite3.connect(FIXTURES / "delayed_job" / "sqlite.sqlite3")
    users = src.execute("SELECT id, name, email, locale, created_at, updated_at FROM users").fetchall()
    src.close()
    eng = create_engine(pg_url, poolclass=NullPool)
    with eng.begin() as c:
        c.execute(text("CREATE TABLE users (id bigserial PRIMARY KEY, name varchar NOT NULL, email varchar, "
                       "locale varchar DEFAULT 'en', created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL)"))
        c.execute(text("INSERT INTO users VALUES (:id, :name, :email, :locale, "
                       "CAST(:created_at AS timestamp), CAST(:updated_at AS timestamp))"),
                  [dict(zip(("id", "name", "email", "locale", "created_at", "updated_at"), u, strict=True))
                   for u in users])
    eng.dispose()
    check(pg_url, pg_url.replace("postgresql+psycopg://", "postgresql://"), jobctl, tmp_path)
