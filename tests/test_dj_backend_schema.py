"""DelayedJobBackend on the tables real apps have: DJ 2.x schema, prefixed names, app columns,
local-time storage, huge and broken handlers; plus URLs, errors and --trace."""

from __future__ import annotations

import io
import time
from collections import Counter
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dj_data import export_time, fixture_names, fixture_rows, load_fixture, sqlite_time
from test_dj_backend import expected_state, user_url

from jobctl.backends.delayed_job.backend import DelayedJobBackend
from jobctl.backends.delayed_job.engine import sqlalchemy_url
from jobctl.errors import NotAQueueStore, TargetUnreachable
from jobctl.model import FailureFilter, JobFilter
from jobctl.targets import Target
from jobctl.trace import TRACER


def _url(request: pytest.FixtureRequest, tmp_path: Path, tag: str) -> str:
    if tag == "sqlite":
        return f"sqlite:///{tmp_path / 'dj.sqlite3'}"
    return str(request.getfixturevalue("pg_url" if tag == "pg" else "mysql_url"))


@pytest.mark.parametrize("tag", ["sqlite", "pg", "mysql"])
def test_old_schema_without_queue_and_with_null_priority(request: pytest.FixtureRequest, tmp_path: Path,
                                                         tag: str) -> None:
    url = _url(request, tmp_path, tag)
    load_fixture(url, table="delayed_jobs", old_schema=True)
    now = export_time(tag)
    b = DelayedJobBackend(Target(url=user_url(url)), clock=lambda: now)
    rows = fixture_rows(tag)
    [q] = b.queues()
    states = Counter(expected_state(r, now) for r in rows)
    assert q.name == "(none)"
    assert (q.ready, q.scheduled, q.retrying, q.failed) == (states["ready"], states["scheduled"], states["retrying"], 18)
    names = fixture_names(tag)
    fails = list(b.failures())
    assert len(fails) == 18 and all(f.name == names[int(f.id)] and f.queue is None for f in fails)
    peek = b.peek("(none)")
    eligible = sorted((r for r in rows if expected_state(r, now) in ("ready", "retrying", "stuck")
                       and r["run_at"] <= now), key=lambda r: (r["priority"], r["run_at"], r["id"]))
    assert [j.id for j in peek] == [str(r["id"]) for r in eligible]
    assert all(j.priority is not None and j.attempts is not None for j in peek)  # NULL read as 0
    assert b.peek("low") == []
    assert b.count_failures(FailureFilter(queues=("toxic",))) == (0, False)
    assert b.ping().detail.endswith("no queue column (DJ 2.x schema)")


@pytest.mark.parametrize("tag", ["sqlite", "pg", "mysql"])
def test_prefixed_table_with_app_columns(request: pytest.FixtureRequest, tmp_path: Path, tag: str) -> None:
    from sqlalchemy import create_engine, text

    url = _url(request, tmp_path, tag)
    load_fixture(url, table="app_delayed_jobs", extras=True)
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("UPDATE app_delayed_jobs SET job_class = 'Toxic', tenant_id = 7 WHERE id = 15"))
    eng.dispose()
    now = export_time(tag)
    plain = DelayedJobBackend(Target(url=user_url(url)), clock=lambda: now)
    ping = plain.ping()
    assert ping.format_detected is False
    assert "app_delayed_jobs" in ping.detail and "--table" in ping.detail
    with pytest.raises(NotAQueueStore):
        plain.queues()
    b = DelayedJobBackend(Target(url=user_url(url), table="app_delayed_jobs"), clock=lambda: now)
    assert b.ping().format_detected
    assert sum(q.failed or 0 for q in b.queues()) == 18
    f = b.show("15")
    assert f.extra["columns"] == {"job_class": "Toxic", "tenant_id": 7}
    assert f.location == "app_delayed_jobs#15"
    assert "no index starts with failed_at" not in " ".join(b.capabilities().notes)


@pytest.mark.parametrize("tag", ["sqlite", "pg", "mysql"])
def test_db_timezone_for_apps_storing_local_time(request: pytest.FixtureRequest, tmp_path: Path, tag: str) -> None:
    zone = ZoneInfo("Asia/Tokyo")
    rows = fixture_rows(tag)
    shifted = []
    for r in rows:  # what ActiveRecord writes with default_timezone = :local on a Tokyo machine
        s = dict(r)
        for c in ("run_at", "locked_at", "failed_at", "created_at", "updated_at"):
            if s[c] is not None:
                s[c] = s[c].astimezone(zone).replace(tzinfo=UTC)
        shifted.append(s)
    url = _url(request, tmp_path, tag)
    load_fixture(url, rows=shifted)
    now = export_time(tag)
    local = DelayedJobBackend(Target(url=user_url(url), options={"db_timezone": "Asia/Tokyo"}),
                              clock=lambda: now)
    totals = Counter()
    for q in local.queues():
        totals.update({"ready": q.ready, "scheduled": q.scheduled, "retrying": q.retrying, "failed": q.failed})
    want = Counter(expected_state(r, now) for r in rows)
    assert (totals["ready"], totals["scheduled"], totals["retrying"], totals["failed"]) == (
        want["ready"], want["scheduled"], want["retrying"], want["failed"])
    by_id = {r["id"]: r for r in rows}
    assert all(f.failed_at == by_id[int(f.id)]["failed_at"] for f in local.failures())
    # read as UTC, the same rows lie 9 hours in the future: nothing is due yet
    utc = DelayedJobBackend(Target(url=user_url(url)), clock=lambda: now)
    assert sum(q.ready or 0 for q in utc.queues()) == 0


def _insert(url: str, rows: list[dict[str, Any]]) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    with eng.begin() as c:
        for r in rows:
            c.execute(text("INSERT INTO delayed_jobs (id, priority, attempts, handler, run_at, queue, created_at) "
                           "VALUES (:id, 0, 0, :handler, :run_at, :queue, :run_at)"), r)
    eng.dispose()


def test_big_and_broken_handlers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dj.sqlite3'}"
    load_fixture(url)
    now = export_time("sqlite")
    at = sqlite_time(now - timedelta(minutes=1))
    big = "--- !ruby/struct:BigJob\ntext: " + "x" * 20_000 + "\nn: 1\n"
    _insert(url, [
        {"id": 100, "handler": big, "run_at": at, "queue": "big"},
        {"id": 101, "handler": "--- !ruby/object:LegacyJob\nitems: [unclosed\n", "run_at": at, "queue": "big"},
    ])
    b = DelayedJobBackend(Target(url=url), clock=lambda: now)
    jobs = b.peek("big")
    assert [j.id for j in jobs] == ["100", "101"]
    assert jobs[0].name == "BigJob" and jobs[0].parse_error is None and jobs[0].raw == big
    assert jobs[0].size == len(big)
    assert jobs[1].parse_error and jobs[1].name == "LegacyJob"  # DJ's own fallback: the first tag
    assert [j.id for j in b.peek("big", filter=JobFilter(states=("bad",)))] == ["101"]
    capped = DelayedJobBackend(Target(url=url, options={"max_handler_bytes": 10_000}), clock=lambda: now)
    [j, _] = capped.peek("big")
    assert j.name == "BigJob" and "parse cap" in (j.parse_error or "")
    assert j.extra["handler_truncated"] is True and len(j.raw or "") == 8192


def test_count_limit_caps_aggregates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dj.sqlite3'}"
    load_fixture(url)
    b = DelayedJobBackend(Target(url=url, options={"count_limit": 10}))
    qs = b.queues()
    assert all(q.capped and q.failed_capped for q in qs)
    assert sum(q.size + (q.failed or 0) for q in qs) == 11  # count_limit + 1 rows examined
    st = b.stats()
    assert st.server["counts_capped"] is True and st.failed_stored_capped is True


# --------------------------------------------------------------------------- URLs and errors


def test_url_mapping() -> None:
    assert sqlalchemy_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    assert sqlalchemy_url("postgresql://u@h/db?sslmode=require").query["sslmode"] == "require"
    assert sqlalchemy_url("mariadb://u@h/db").drivername == "mysql+pymysql"
    assert sqlalchemy_url("mysql://u@h/db").query["charset"] == "utf8mb4"
    assert sqlalchemy_url("sqlite:////tmp/x.db").database == "file:/tmp/x.db"


def test_postgres_scheme_alias_and_sslmode_pass_through(pg_url: str) -> None:
    load_fixture(pg_url)
    plain = user_url(pg_url).replace("postgresql://", "postgres://")
    assert DelayedJobBackend(Target(url=plain + "?sslmode=disable")).ping().format_detected
    with pytest.raises(TargetUnreachable, match="SSL"):  # the local server has ssl = off
        DelayedJobBackend(Target(url=plain + "?sslmode=require")).ping()


def test_mariadb_scheme_alias(mysql_url: str) -> None:
    load_fixture(mysql_url)
    b = DelayedJobBackend(Target(url=mysql_url.replace("mysql+pymysql://", "mariadb://")))
    assert b.ping().server_version.startswith("MariaDB")


@pytest.mark.parametrize("url", [
    "postgresql://app:s3cr3t-pw@127.0.0.1:1/app",
    "mysql://app:s3cr3t-pw@127.0.0.1:1/app",
    "postgresql://app:s3cr3t-pw@no-such-host.invalid/app",
])
def test_unreachable_is_exit_3_with_masked_url(url: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(TargetUnreachable) as ei:
        DelayedJobBackend(Target(url=url, options={"connect_timeout": 2})).queues()
    assert time.monotonic() - t0 < 15
    msg = str(ei.value)
    assert "s3cr3t-pw" not in msg and "app:***@" in msg
    assert ei.value.exit_code == 3


def test_missing_sqlite_file_is_unreachable_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.sqlite3"
    with pytest.raises(TargetUnreachable):
        DelayedJobBackend(Target(url=f"sqlite:///{path}")).ping()
    assert not path.exists()


def test_empty_database_is_not_a_queue_store(tmp_path: Path, jobctl: Any) -> None:
    import sqlite3

    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE users (id integer)").connection.close()
    result = DelayedJobBackend(Target(url=f"sqlite:///{path}")).ping()
    assert result.format_detected is False and "no table 'delayed_jobs'" in result.detail
    proc = jobctl("-u", f"sqlite:///{path}", "ping")
    assert proc.returncode == 3


def test_trace_prints_every_statement_with_duration(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dj.sqlite3'}"
    load_fixture(url)
    buf = io.StringIO()
    old_stream, old_enabled = TRACER.stream, TRACER.enabled
    TRACER.enable(buf)
    try:
        n0 = TRACER.count
        DelayedJobBackend(Target(url=url)).queues()
        sent = TRACER.count - n0
    finally:
        TRACER.stream, TRACER.enabled = old_stream, old_enabled
    lines = buf.getvalue().splitlines()
    assert len(lines) == sent >= 3
    assert all(line.startswith("[sql ") and " ms] " in line for line in lines)
    assert any("SELECT dj.queue, dj.state, count(*)" in line for line in lines)  # the one aggregate
    assert any(line.endswith("PRAGMA query_only = 1") for line in lines)


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_connect_timeout_on_a_hung_server(silent_server: Any, scheme: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(TargetUnreachable):
        DelayedJobBackend(Target(url=f"{scheme}://app:pw@127.0.0.1:{silent_server.port}/app",
                                 options={"connect_timeout": 2})).ping()
    assert time.monotonic() - t0 < 10  # bounded by connect_timeout, not the OS default


@pytest.mark.parametrize("tag", ["pg", "mysql"])
def test_statement_timeout_option(request: pytest.FixtureRequest, tmp_path: Path, tag: str) -> None:
    from jobctl.errors import JobctlError

    url = _url(request, tmp_path, tag)
    b = DelayedJobBackend(Target(url=user_url(url), options={"timeout": "1s"}))
    sleep = "SELECT pg_sleep(4)" if tag == "pg" else "SELECT SLEEP(4)"
    t0 = time.monotonic()
    with pytest.raises(JobctlError), b.connect() as conn:
        conn.exec_driver_sql(sleep).fetchall()
    assert time.monotonic() - t0 < 3.5
    b.close()
