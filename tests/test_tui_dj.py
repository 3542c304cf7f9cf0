"""`jobctl top` on a real Delayed Job table: the delayed_job 4.1.9 SQLite fixture (34 rows:
18 failed, 1 locked by a killed worker, retrying / ready / scheduled jobs)."""

from __future__ import annotations

import sqlite3
from typing import Any

from test_tui_support import (
    dj_backend,
    first_tick,
    frozen_clock,
    notifications,
    run,
    screen_name,
    table_keys,
    top_app,
    wait_for,
    widget_text,
)


def _db(url: str) -> sqlite3.Connection:
    return sqlite3.connect(url.removeprefix("sqlite:///"))


def _failed_ids(url: str) -> set[str]:
    with _db(url) as c:
        return {str(r[0]) for r in c.execute("SELECT id FROM delayed_jobs WHERE failed_at IS NOT NULL")}


def test_dashboard_on_the_delayed_job_fixture(dj_fixture_sqlite: str) -> None:
    app = top_app(dj_backend(dj_fixture_sqlite, clock=frozen_clock), clock=frozen_clock)

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.failure_tables import FailureGroupsTable
        from jobctl.tui.widgets.meters import Meters
        from jobctl.tui.widgets.queue_table import QueueTable
        from jobctl.tui.widgets.workers_table import WorkersTable

        await first_tick(pilot, app)
        with _db(dj_fixture_sqlite) as c:
            queues = {q or "(none)" for (q,) in c.execute("SELECT DISTINCT queue FROM delayed_jobs")}
        shown = set(table_keys(app.screen.query_one(QueueTable)))
        assert shown <= queues and {"toxic", "mailers", "reports", "low"} <= shown
        groups = app.screen.query_one(FailureGroupsTable).visible_rows()
        assert sum(g.count for g in groups) == len(_failed_ids(dj_fixture_sqlite)) == 18
        assert {i for g in groups for i in g.ids} == _failed_ids(dj_fixture_sqlite)
        workers = app.screen.query_one(WorkersTable).visible_rows()
        assert [(w.id, w.state) for w in workers] == [("host:vm pid:29347", "working")]
        header = widget_text(app.screen.query_one(Meters))
        assert "delayed_job (sqlite)" in header and "failures 18" in header
        assert "processed/s n/a" in header  # Delayed Job keeps no processed counter

    run(app, scenario)


def test_drill_down_to_a_delayed_job_and_its_handler(dj_fixture_sqlite: str) -> None:
    app = top_app(dj_backend(dj_fixture_sqlite, clock=frozen_clock), clock=frozen_clock)

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.job_list import JobList
        from jobctl.tui.widgets.queue_table import QueueTable

        await first_tick(pilot, app)
        queues = app.screen.query_one(QueueTable)
        queues.move_cursor(row=table_keys(queues).index("mailers"))
        await pilot.press("enter")
        assert screen_name(app) == "QueueJobsScreen"
        jobs = app.screen.query_one(JobList)
        await wait_for(pilot, lambda: jobs.current_job() is not None, what="mailers jobs")
        job = jobs.current_job()
        assert job.queue == "mailers"
        await pilot.press("enter", "3")
        assert screen_name(app) == "DetailScreen"
        raw = widget_text(app.screen.query_one("#raw-text"))
        with _db(dj_fixture_sqlite) as c:
            (handler,) = c.execute("SELECT handler FROM delayed_jobs WHERE id = ?", (int(job.id),)).fetchone()
        assert handler.splitlines()[0] in raw  # the YAML handler as stored

    run(app, scenario)


def test_discard_tagged_failures_deletes_exactly_those_rows(dj_fixture_sqlite: str) -> None:
    app = top_app(dj_backend(dj_fixture_sqlite), clock=frozen_clock)
    before = _failed_ids(dj_fixture_sqlite)
    discarded: set[str] = set()

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.failure_tables import FailureRowsTable

        await first_tick(pilot, app)
        await pilot.press("3", "enter")  # the biggest group: ToxicJob
        assert screen_name(app) == "FailureListScreen"
        rows = app.screen.query_one(FailureRowsTable)
        await pilot.press("space", "space")  # tag the two newest
        tagged = set(rows.tagged)
        assert len(tagged) == 2
        await pilot.press("d")
        assert screen_name(app) == "ConfirmScreen"
        assert "Discard 2 failure(s)" in widget_text(app.screen.query_one("#confirm-head"))
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(app.mutations), what="the discard")
        assert (app.mutations[-1].done, app.mutations[-1].skipped) == (2, 0)
        await wait_for(pilot, lambda: app.snapshot.failures_total == 16, what="refresh after discard")
        assert not tagged & {r.id for r in rows.rows_all}
        discarded.update(tagged)

    run(app, scenario)
    assert _failed_ids(dj_fixture_sqlite) == before - discarded
    with _db(dj_fixture_sqlite) as c:
        gone = c.execute(f"SELECT COUNT(*) FROM delayed_jobs WHERE id IN ({','.join(discarded)})").fetchone()
    assert gone == (0,)


def test_requeue_from_a_failure_detail_clears_failed_at(dj_fixture_sqlite: str) -> None:
    app = top_app(dj_backend(dj_fixture_sqlite), clock=frozen_clock)

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await pilot.press("3", "enter", "enter")
        await wait_for(pilot, lambda: screen_name(app) == "DetailScreen", what="failure detail")
        failure = app.screen.item
        await pilot.press("r")
        assert "Requeue 1 failure(s)" in widget_text(app.screen.query_one("#confirm-head"))
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(app.mutations), what="the requeue")
        assert app.mutations[-1].done == 1
        with _db(dj_fixture_sqlite) as c:
            row = c.execute("SELECT failed_at, attempts, locked_by FROM delayed_jobs WHERE id = ?",
                            (int(failure.id),)).fetchone()
        assert row == (None, 0, None)

    run(app, scenario)


def test_read_only_delayed_job_refuses(dj_fixture_sqlite: str) -> None:
    app = top_app(dj_backend(dj_fixture_sqlite, read_only=True), clock=frozen_clock)

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await pilot.press("3", "enter", "space", "d")
        assert screen_name(app) == "FailureListScreen"
        assert any("refusing to discard failures" in m for m in notifications(app))

    run(app, scenario)
    assert len(_failed_ids(dj_fixture_sqlite)) == 18
