"""DelayedJobBackend read side on SQLite, PostgreSQL and MariaDB, against the real DJ 4.1.9 fixture.

Every expectation is computed from the fixture's own exports (`delayed_jobs.<tag>.json`, DJ's names
in `names.<tag>.json`, counts in `summary.<tag>.json`), with "now" pinned to the export instant.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dj_data import (
    export_time,
    file_digest,
    fixture_names,
    fixture_rows,
    fixture_summary,
    load_fixture,
    sqlite_path,
    table_checksum,
)

from jobctl.backends.delayed_job.backend import DelayedJobBackend
from jobctl.model import Failure, FailureFilter, Job, JobFilter
from jobctl.targets import Target

MAX_RUN_TIME = timedelta(hours=4)


@dataclass
class Case:
    url: str  # the URL as a user writes it (postgresql://, mysql://, sqlite:///)
    admin_url: str  # SQLAlchemy URL for the test's own checks
    tag: str
    now: datetime

    def backend(self, now: datetime | None = None, **options: Any) -> DelayedJobBackend:
        at = now or self.now
        return DelayedJobBackend(Target(url=self.url, options=options), clock=lambda: at)

    def rows(self) -> list[dict[str, Any]]:
        return fixture_rows(self.tag)


def user_url(sa_url: str) -> str:
    return sa_url.replace("postgresql+psycopg://", "postgresql://").replace("mysql+pymysql://", "mysql://")


@pytest.fixture(params=["sqlite", "pg", "mysql"])
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Case:
    tag = request.param
    if tag == "sqlite":
        url = f"sqlite:///{tmp_path / 'dj.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url" if tag == "pg" else "mysql_url")
    load_fixture(url)
    return Case(url=user_url(url), admin_url=url, tag=tag, now=export_time(tag))


def expected_state(r: dict[str, Any], now: datetime, max_run_time: timedelta = MAX_RUN_TIME) -> str:
    """The README's state rules applied to one exported row."""
    if r["failed_at"] is not None:
        return "failed"
    if r["locked_at"] is not None:
        return "running" if r["locked_at"] >= now - max_run_time else "stuck"
    if (r["attempts"] or 0) > 0:
        return "retrying"
    if r["run_at"] is None or r["run_at"] > now:
        return "scheduled"
    return "ready"


def queue_name(q: str | None) -> str:
    return "(none)" if q is None else q


# --------------------------------------------------------------------------- queues / stats


def test_queue_counts_match_exports_and_summary(case: Case) -> None:
    b = case.backend()
    got = {q.name: q for q in b.queues()}
    expected: dict[str, Counter[str]] = {}
    for r in case.rows():
        expected.setdefault(queue_name(r["queue"]), Counter())[expected_state(r, case.now)] += 1
    assert set(got) == set(expected)
    for name, counts in expected.items():
        q = got[name]
        assert (q.ready, q.scheduled, q.running, q.stuck, q.retrying, q.failed) == (
            counts["ready"], counts["scheduled"], counts["running"], counts["stuck"], counts["retrying"],
            counts["failed"]), name
        assert q.size == sum(counts.values()) - counts["failed"]
        assert q.capped is False
    # the fixture README / summary: 18 failed, 2 retrying (not failed!), 8 ready, 7 in the future
    summary = fixture_summary(case.tag)
    total = Counter()
    for q in got.values():
        total.update({"failed": q.failed, "retrying": q.retrying, "ready": q.ready, "scheduled": q.scheduled})
    assert total["failed"] == summary["failed"] == 18
    assert total["retrying"] == summary["retrying"] == 2
    assert total["ready"] == summary["pending_ready"] == 8
    assert total["scheduled"] + total["retrying"] == summary["future"]
    assert {k if k != "(NULL)" else "(none)": v for k, v in summary["failed_by_queue"].items()} == \
        {n: q.failed for n, q in got.items() if q.failed}


def test_latency_is_age_of_oldest_ready_row(case: Case) -> None:
    got = {q.name: q for q in case.backend().queues()}
    for name, q in got.items():
        ready = [r["run_at"] for r in case.rows()
                 if queue_name(r["queue"]) == name and expected_state(r, case.now) == "ready"]
        want = (case.now - min(ready)).total_seconds() if ready else 0.0
        assert q.latency_s == pytest.approx(want, abs=1e-3), name


def test_stuck_lock_after_max_run_time(case: Case) -> None:
    later = case.now + timedelta(minutes=30)
    b = case.backend(now=later, max_run_time="15m")
    got = {q.name: q for q in b.queues()}
    assert (got["reports"].stuck, got["reports"].running) == (1, 0)
    assert sum(q.retrying or 0 for q in got.values()) == 2  # the back-off rows are still retrying
    workers = b.workers()
    assert len(workers) == 1 and workers[0].state == "stale" and workers[0].stuck_jobs == 1
    # default max_run_time (4 h): the same lock is a running job
    fresh = {q.name: q for q in case.backend(now=later).queues()}
    assert (fresh["reports"].stuck, fresh["reports"].running) == (0, 1)


def test_stats_totals(case: Case) -> None:
    st = case.backend().stats()
    states = Counter(expected_state(r, case.now) for r in case.rows())
    assert st.backend == "delayed_job"
    assert st.pending == len(case.rows()) - states["failed"]
    assert (st.ready, st.scheduled, st.retrying, st.running, st.stuck, st.failed_stored) == (
        states["ready"], states["scheduled"], states["retrying"], states["running"], states["stuck"], 18)
    assert st.queues == len({r["queue"] for r in case.rows()})
    assert st.workers == 1 and st.working == 1
    assert st.processed is None
    expect = {"sqlite": "SQLite", "pg": "PostgreSQL", "mysql": "MariaDB"}[case.tag]
    assert st.server["version"].startswith(expect)


def test_workers_from_locked_by(case: Case) -> None:
    [w] = case.backend().workers()
    stuck_row = next(r for r in case.rows() if r["locked_at"] and not r["failed_at"])
    host, pid = re.fullmatch(r"host:(\S+) pid:(\d+)", stuck_row["locked_by"]).groups()  # type: ignore[union-attr]
    assert (w.id, w.host, w.pid) == (stuck_row["locked_by"], host, int(pid))
    assert w.queues == ["reports"] and w.jobs_held == 1 and w.stuck_jobs == 0
    assert w.job_class == "LongReportJob" and w.state == "working"
    assert w.job_started_at == stuck_row["locked_at"]


# --------------------------------------------------------------------------- failures


def test_failures_names_errors_and_order(case: Case) -> None:
    names = fixture_names(case.tag)
    failed = [r for r in case.rows() if r["failed_at"] is not None]
    got = list(case.backend().failures())
    want_order = sorted(failed, key=lambda r: (r["failed_at"], r["id"]), reverse=True)
    assert [f.id for f in got] == [str(r["id"]) for r in want_order]
    by_id = {r["id"]: r for r in failed}
    for f in got:
        r = by_id[int(f.id)]
        assert f.name == names[r["id"]], f.id  # exactly Delayed::Job#name
        assert f.queue == r["queue"]
        assert f.failed_at == r["failed_at"]
        assert f.error == r["last_error"].split("\n", 1)[0]
        assert f.worker == r["locked_by"]  # failed rows keep the lock of the worker that gave up
        assert f.attempts == r["attempts"]
        assert f.location == f"delayed_jobs#{r['id']}"
        assert f.raw == r["handler"]
        assert f.backtrace and f.backtrace[0].endswith("'")
    one = {f.id: f for f in got}
    assert one["22"].error_full.count("\n") == 3  # a four-line message stays whole
    assert "东京 太郎" in one["3"].error
    assert one["35"].exception == "Delayed::DeserializationError"
    assert one["26"].exception == "ActiveJob::DeserializationError"
    assert one["34"].exception == "ActiveRecord::RecordNotFound"
    assert one["15"].exception is None  # DJ does not store the class; never guessed


def test_failure_filters(case: Case) -> None:
    b = case.backend()
    names = fixture_names(case.tag)
    failed = [r for r in case.rows() if r["failed_at"] is not None]

    def ids(f: FailureFilter) -> set[str]:
        return {x.id for x in b.failures(f)}

    assert ids(FailureFilter(queues=("toxic",))) == {str(r["id"]) for r in failed if r["queue"] == "toxic"}
    assert ids(FailureFilter(queues=("(none)",))) == {str(r["id"]) for r in failed if r["queue"] is None}
    assert ids(FailureFilter(classes=("ToxicJob",))) == {str(r["id"]) for r in failed if names[r["id"]] == "ToxicJob"}
    assert ids(FailureFilter(classes=("PurgeUserDataJob",))) == {"25", "26"}
    assert ids(FailureFilter(exceptions=("Delayed::DeserializationError",))) == {"35"}
    assert ids(FailureFilter(error=r"poisoned payload #700[0-2]")) == {"15", "16", "17"}
    assert ids(FailureFilter(error=r"retries must be positive")) == {"22"}  # third line of the message
    assert ids(FailureFilter(ids=("delayed_jobs#16", "17", "999"))) == {"16", "17"}
    assert ids(FailureFilter(retried=True)) == set()
    times = sorted(r["failed_at"] for r in failed)
    mid = times[len(times) // 2]
    since = ids(FailureFilter(since=mid))
    assert since == {str(r["id"]) for r in failed if r["failed_at"] >= mid}
    assert ids(FailureFilter(until=mid)) | since == {str(r["id"]) for r in failed}
    assert len(list(b.failures(FailureFilter(limit=5)))) == 5
    oldest = list(b.failures(newest_first=False))
    assert [f.id for f in oldest] == [f.id for f in reversed(list(b.failures()))]


def test_count_failures_sql_and_python_paths(case: Case) -> None:
    b = case.backend()
    assert b.count_failures() == (18, False)
    assert b.count_failures(cap=10) == (10, True)
    assert b.count_failures(FailureFilter(queues=("toxic",))) == (8, False)
    n_toxic = sum(1 for v in fixture_names(case.tag).values() if v == "ToxicJob")
    failed_toxic = sum(1 for r in case.rows() if r["failed_at"] and fixture_names(case.tag)[r["id"]] == "ToxicJob")
    assert n_toxic >= failed_toxic
    assert b.count_failures(FailureFilter(classes=("ToxicJob",))) == (failed_toxic, False)
    assert b.count_failures(FailureFilter(classes=("ToxicJob",)), cap=2) == (2, True)


# --------------------------------------------------------------------------- peek


def _reserve_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["priority"], r["run_at"], r["id"]))


def test_peek_is_worker_order_of_eligible_rows(case: Case) -> None:
    b = case.backend()
    names = fixture_names(case.tag)
    stale = case.now - MAX_RUN_TIME
    for q in {queue_name(r["queue"]) for r in case.rows()}:
        eligible = [r for r in case.rows() if queue_name(r["queue"]) == q and r["failed_at"] is None
                    and r["run_at"] <= case.now and (r["locked_at"] is None or r["locked_at"] < stale)]
        got = b.peek(q)
        assert [j.id for j in got] == [str(r["id"]) for r in _reserve_order(eligible)], q
        assert [j.position for j in got] == list(range(len(got)))
        for j in got:
            assert j.name == names[int(j.id)]
            assert j.state == expected_state(next(r for r in case.rows() if r["id"] == int(j.id)), case.now)
    mail = b.peek("mailers")
    assert [j.priority for j in mail] == sorted(j.priority for j in mail)


def test_peek_states_class_grep_and_paging(case: Case) -> None:
    b = case.backend()
    rows = case.rows()
    want = _reserve_order([r for r in rows if r["queue"] == "low"
                           and expected_state(r, case.now) in ("failed", "scheduled")])
    got = b.peek("low", filter=JobFilter(states=("failed", "scheduled")))
    assert [j.id for j in got] == [str(r["id"]) for r in want]
    assert {j.state for j in got} == {"failed", "scheduled"}
    page = b.peek("low", limit=2, offset=1, filter=JobFilter(states=("failed", "scheduled")))
    assert [j.id for j in page] == [j.id for j in got[1:3]]
    assert [j.position for j in page] == [1, 2]
    retry = b.peek("imports", filter=JobFilter(states=("retrying",)))
    assert [j.id for j in retry] == ["14"] and retry[0].attempts == 2 and retry[0].last_error.startswith("No such file")
    toxic_all = b.peek("toxic", filter=JobFilter(states=("failed",), classes=("ToxicJob",)))
    assert len(toxic_all) == sum(1 for r in rows if r["queue"] == "toxic" and r["failed_at"]
                                 and fixture_names(case.tag)[r["id"]] == "ToxicJob")
    grep = b.peek("toxic", filter=JobFilter(states=("failed",), grep=r"payload_id: 700[45]"))
    assert sorted(j.id for j in grep) == ["19", "20"]
    assert b.peek("no-such-queue") == []
    users = b.peek("(none)")
    assert users and all(j.args == ["xlsx"] for j in users)
    with pytest.raises(Exception, match="unknown state"):
        b.peek("low", filter=JobFilter(states=("dead",)))


# --------------------------------------------------------------------------- show


def test_show_failure_and_job_in_full(case: Case) -> None:
    b = case.backend()
    by_id = {r["id"]: r for r in case.rows()}
    f = b.show("34")
    assert isinstance(f, Failure)
    assert "\n".join([f.error_full or "", *f.backtrace]) == by_id[34]["last_error"].rstrip("\n")
    assert f.raw == by_id[34]["handler"]
    assert f.extra["handler"]["_class"] == "ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper"
    assert "backtrace_truncated" not in f.extra
    j = b.show("delayed_jobs#14")
    assert isinstance(j, Job) and j.state == "retrying"
    assert j.last_error == by_id[14]["last_error"]
    assert j.extra["handler"]["_class"] == "ImportCsvJob"
    assert j.raw == by_id[14]["handler"]
    with pytest.raises(Exception, match="no row with id 9999"):
        b.show("9999")


# --------------------------------------------------------------------------- reads never write


def test_every_read_leaves_the_data_unchanged(case: Case) -> None:
    def snapshot() -> str:
        if case.tag == "sqlite":
            return file_digest(sqlite_path(case.admin_url))
        return table_checksum(case.admin_url)

    before = snapshot()
    b = case.backend(max_run_time="1s")
    assert b.ping().format_detected
    b.queues()
    b.stats()
    b.workers()
    for q in ("low", "(none)", "toxic"):
        b.peek(q)
        b.peek(q, filter=JobFilter(states=("failed", "retrying", "stuck")), offset=1)
    list(b.failures())
    b.count_failures(FailureFilter(classes=("ToxicJob",)))
    b.show("35")
    b.show("38")
    b.close()
    assert snapshot() == before


def test_real_fixture_file_is_read_byte_for_byte_unchanged(dj_fixture_sqlite: str) -> None:
    path = sqlite_path(dj_fixture_sqlite)
    before = file_digest(path)
    names = fixture_names("sqlite")
    now = export_time("sqlite")
    b = DelayedJobBackend(Target(url=dj_fixture_sqlite), clock=lambda: now)
    fails = list(b.failures())
    assert len(fails) == 18 and all(f.name == names[int(f.id)] for f in fails)
    assert sum(q.retrying or 0 for q in b.queues()) == 2
    b.close()
    assert file_digest(path) == before
