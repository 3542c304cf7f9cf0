"""Delayed Job requeue / discard / unlock on SQLite, PostgreSQL and MariaDB with the real fixture.

Checks the exact column writes (failed_at, attempts, run_at in the column's own format, locks,
last_error), the `failed_at IS NOT NULL` guard, exact filters (parsed class / error regex), the
newest-N limit, snapshot bounds, and that nothing else in the table changes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dj_data import fixture_rows, load_fixture
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from jobctl.backends.delayed_job import write
from jobctl.backends.delayed_job.backend import DelayedJobBackend
from jobctl.backends.delayed_job.write_batches import apply_ids
from jobctl.backends.delayed_job.write_result import Acc, Sel
from jobctl.model import FailureFilter
from jobctl.targets import Target

FAILED = sorted(r["id"] for r in fixture_rows("sqlite") if r["failed_at"] is not None)


@pytest.fixture(params=["sqlite", "pg", "mysql"])
def dj_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'dj.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url" if request.param == "pg" else "mysql_url")
    load_fixture(url)
    return url


def rows(url: str) -> dict[int, dict[str, Any]]:
    eng = create_engine(url, poolclass=NullPool)
    try:
        with eng.connect() as c:
            res = c.execute(text("SELECT * FROM delayed_jobs ORDER BY id"))
            return {int(r.id): dict(r._mapping) for r in res}
    finally:
        eng.dispose()


def backend(url: str) -> DelayedJobBackend:
    return DelayedJobBackend(Target(url=url))


def test_requeue_all_resets_exactly_the_failed_rows(dj_url: str) -> None:
    before = rows(dj_url)
    assert sorted(i for i, r in before.items() if r["failed_at"] is not None) == FAILED
    t0 = datetime.now(UTC).replace(tzinfo=None)
    res = write.requeue(backend(dj_url), FailureFilter())
    assert (res.selected, res.done, res.skipped, res.complete) == (len(FAILED), len(FAILED), 0, True)
    after = rows(dj_url)
    assert after.keys() == before.keys()
    for i, row in after.items():
        if i not in FAILED:
            assert row == before[i]  # nothing else changed
            continue
        assert row["failed_at"] is None and row["attempts"] == 0
        assert row["locked_at"] is None and row["locked_by"] is None
        assert row["last_error"] == before[i]["last_error"]  # kept unless --clear-error
        assert row["handler"] == before[i]["handler"] and row["queue"] == before[i]["queue"]
        run_at = row["run_at"]
        if dj_url.startswith("sqlite"):  # ActiveRecord's SQLite text form
            assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?", run_at)
            run_at = datetime.fromisoformat(run_at)
        if dj_url.startswith("mysql"):
            assert run_at.microsecond == 0  # second-precision datetime column, as DJ writes it
        assert t0 - timedelta(seconds=2) <= run_at <= datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)


def test_requeue_with_filters_to_queue_and_clear_error(dj_url: str) -> None:
    b = backend(dj_url)
    listed = {int(f.id) for f in b.failures(FailureFilter(classes=("ToxicJob",), error=r"bad checksum"))}
    assert listed == {15, 17, 19}
    res = write.requeue(b, FailureFilter(classes=("ToxicJob",), error=r"bad checksum"), to_queue="rescue",
                        clear_error=True)
    assert res.done == 3 and res.by_class == {"ToxicJob": 3} and res.by_queue == {"toxic": 3}
    after = rows(dj_url)
    for i in (15, 17, 19):
        assert after[i]["queue"] == "rescue" and after[i]["last_error"] is None and after[i]["failed_at"] is None
    for i in (16, 18, 20):
        assert after[i]["failed_at"] is not None and after[i]["queue"] == "toxic"


@pytest.mark.parametrize("flt, expected", [
    (FailureFilter(queues=("billing",)), {28, 30}),
    (FailureFilter(queues=("(none)",)), {3, 6}),
    (FailureFilter(classes=("User#send_heavy_report",)), {3, 6, 35}),
    (FailureFilter(classes=("User.*",)), {21, 22}),
    (FailureFilter(error=r"^card declined for user [24]:"), {28, 30}),
    (FailureFilter(ids=("12", "delayed_jobs#15", "39")), {12, 15}),  # 39 is not failed
    (FailureFilter(retried=True), set()),
])
def test_filters_select_exactly(dj_url: str, flt: FailureFilter, expected: set[int]) -> None:
    b = backend(dj_url)
    assert {int(f.id) for f in b.failures(flt)} == expected
    preview = write.discard(b, flt, dry_run=True)
    assert preview.selected == len(expected) and preview.done == 0
    res = write.discard(b, flt)
    assert res.done == len(expected)
    assert not (set(rows(dj_url)) & expected)
    assert set(rows(dj_url)) | expected == {r["id"] for r in fixture_rows("sqlite")}


def test_time_window_and_limit_take_the_newest(dj_url: str) -> None:
    b = backend(dj_url)
    newest = [int(f.id) for f in b.failures(FailureFilter(limit=4))]
    res = write.requeue(b, FailureFilter(limit=4))
    assert res.done == 4 and len(newest) == 4
    still_failed = {i for i, r in rows(dj_url).items() if r["failed_at"] is not None}
    assert still_failed == set(FAILED) - set(newest)
    times = {int(f.id): f.failed_at for f in b.failures()}
    assert set(times) == still_failed
    cut = sorted(times.values())[3]
    expected = {i for i, t in times.items() if t is not None and t <= cut}
    res = write.requeue(b, FailureFilter(until=cut))
    assert res.done == len(expected) >= 4
    assert {i for i, r in rows(dj_url).items() if r["failed_at"] is not None} == still_failed - expected


def test_guard_never_touches_a_row_that_is_not_failed_any_more(dj_url: str) -> None:
    """The UPDATE re-checks failed_at: a row requeued (or taken) by someone else is skipped."""
    b = backend(dj_url)
    sels = [Sel(id=12, queue="mailers"), Sel(id=39, queue=None), Sel(id=38, queue="reports")]
    before = rows(dj_url)
    acc = Acc("requeue", False, None)
    t = b.dj
    c = t.table.c
    with b.connect() as conn, conn.begin():
        apply_ids(conn, b, lambda cond: t.table.update().where(cond).values(failed_at=None, attempts=0, locked_at=None,
                                                                            locked_by=None),
                  c.failed_at.is_not(None), sels, acc, "no longer failed")
    res = acc.result()
    assert res.done == 1 and res.skipped == 2 and {e["id"] for e in res.skipped_entries} == {"39", "38"}
    after = rows(dj_url)
    assert after[38] == before[38] and after[39] == before[39]  # the running worker's lock is intact
    assert after[12]["failed_at"] is None


def test_snapshot_bounds_exclude_rows_added_or_failed_later(dj_url: str) -> None:
    b = backend(dj_url)
    snap = write.take_snapshot(b)
    eng = create_engine(dj_url, poolclass=NullPool)
    late = (snap.taken_at + timedelta(seconds=30)).replace(tzinfo=None, microsecond=0)
    late_v: Any = late.strftime("%Y-%m-%d %H:%M:%S") if dj_url.startswith("sqlite") else late
    with eng.begin() as c:
        c.execute(text("UPDATE delayed_jobs SET failed_at = :t, attempts = 2 WHERE id = 40"), {"t": late_v})
        c.execute(text("INSERT INTO delayed_jobs (priority, attempts, handler, last_error, run_at, failed_at, queue) "
                       "VALUES (0, 2, '--- !ruby/struct:ToxicJob\npayload_id: 1\n', 'x', :t, :t, 'toxic')"),
                  {"t": late_v})
    eng.dispose()
    res = write.requeue(b, FailureFilter(), snapshot=snap)
    assert res.done == len(FAILED)
    after = rows(dj_url)
    assert after[40]["failed_at"] is not None
    assert [i for i, r in after.items() if r["failed_at"] is not None] == [40, max(after)]


def test_unlock_releases_only_stale_locks_of_unfailed_rows(dj_url: str) -> None:
    b = backend(dj_url)
    before = rows(dj_url)
    stuck = {i for i, r in before.items() if r["failed_at"] is None and r["locked_at"] is not None}
    assert stuck == {38}
    # the fixture lock is minutes to days old depending on when this runs: make it exactly 10 minutes old
    ten_min = (datetime.now(UTC) - timedelta(minutes=10)).replace(tzinfo=None, microsecond=0)
    v: Any = ten_min.strftime("%Y-%m-%d %H:%M:%S") if dj_url.startswith("sqlite") else ten_min
    eng = create_engine(dj_url, poolclass=NullPool)
    with eng.begin() as c:
        c.execute(text("UPDATE delayed_jobs SET locked_at = :t WHERE id = 38"), {"t": v})
    eng.dispose()
    assert write.unlock(b).selected == 0  # younger than max_run_time (4h)
    preview = write.unlock(b, older_than=timedelta(minutes=5), dry_run=True)
    assert preview.selected == 1 and preview.sample[0]["id"] == "38" and preview.by_class == {"LongReportJob": 1}
    res = write.unlock(b, older_than=timedelta(minutes=5))
    assert res.done == 1
    after = rows(dj_url)
    assert after[38]["locked_at"] is None and after[38]["locked_by"] is None
    for i, r in after.items():
        if i != 38:
            assert r == {**before[i]}  # failed rows keep their (DJ-retained) locks


def test_read_only_and_unsupported_options(dj_url: str) -> None:
    from jobctl.errors import ReadOnlyError, Unsupported

    ro = DelayedJobBackend(Target(url=dj_url, read_only=True))
    with pytest.raises(ReadOnlyError):
        write.requeue(ro, FailureFilter())
    with pytest.raises(ReadOnlyError):
        write.discard(ro, FailureFilter())
    with pytest.raises(ReadOnlyError):
        write.unlock(ro)
    assert write.requeue(ro, FailureFilter(), dry_run=True).selected == len(FAILED)
    with pytest.raises(Unsupported):
        write.requeue(backend(dj_url), FailureFilter(), keep=True)
