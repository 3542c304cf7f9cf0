"""Snapshot tests (pytest-textual-snapshot) of the main screens of `jobctl top`.

Deterministic by construction: the real fixtures (Delayed Job SQLite copy; Resque dump in a
private Redis), a frozen wall clock for both the backend and the app (ages, "running for",
"updated"), a frozen monotonic clock (tick duration 0 ms, no rates), one tick only (interval 60 s),
and named targets (no random port or temp path in the header).

Update after an intended UI change: `.venv/bin/pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs in tests/__snapshots__/test_tui_snapshots/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from resque_data import load_dump
from test_tui_support import dj_backend, first_tick, frozen_clock, resque_backend, top_app, wait_for

SIZE = (140, 40)


def _frozen_app(backend: Any) -> Any:
    return top_app(backend, clock=frozen_clock, monotonic=lambda: 0.0, config_path="~/.config/jobctl/config.toml")


def _dj_app(url: str) -> Any:
    return _frozen_app(dj_backend(url, name="dj-fixture", clock=frozen_clock))


def _then(*keys: str, until: Callable[[Any], bool] | None = None) -> Callable[[Any], Awaitable[None]]:
    """run_before: wait for the first tick, press keys, wait for `until(app)`, settle."""

    async def run_before(pilot: Any) -> None:
        await first_tick(pilot, pilot.app)
        if keys:
            await pilot.press(*keys)
        if until is not None:
            await wait_for(pilot, lambda: until(pilot.app), what="the screen to fill")
        await pilot.pause(0.2)

    return run_before


def test_snapshot_dashboard_delayed_job(snap_compare: Any, dj_fixture_sqlite: str) -> None:
    assert snap_compare(_dj_app(dj_fixture_sqlite), terminal_size=SIZE, run_before=_then())


def test_snapshot_dashboard_resque(snap_compare: Any, redis_client: Any, redis_url: str) -> None:
    load_dump(redis_client)
    app = _frozen_app(resque_backend(redis_url, name="resque-fixture"))
    assert snap_compare(app, terminal_size=SIZE, run_before=_then())


def test_snapshot_failures_maximised(snap_compare: Any, dj_fixture_sqlite: str) -> None:
    assert snap_compare(_dj_app(dj_fixture_sqlite), terminal_size=SIZE, run_before=_then("3", "space"))


def test_snapshot_failure_group_list(snap_compare: Any, dj_fixture_sqlite: str) -> None:
    assert snap_compare(_dj_app(dj_fixture_sqlite), terminal_size=SIZE, run_before=_then("3", "enter"))


def test_snapshot_failure_detail_backtrace(snap_compare: Any, dj_fixture_sqlite: str) -> None:
    run_before = _then("3", "enter", "enter",
                       until=lambda app: type(app.screen).__name__ == "DetailScreen")

    async def with_tab(pilot: Any) -> None:
        await run_before(pilot)
        await pilot.press("2")
        await pilot.pause(0.2)

    assert snap_compare(_dj_app(dj_fixture_sqlite), terminal_size=SIZE, run_before=with_tab)


def test_snapshot_queue_jobs(snap_compare: Any, dj_fixture_sqlite: str) -> None:
    def loaded(app: Any) -> bool:
        from jobctl.tui.widgets.job_list import JobList

        return type(app.screen).__name__ == "QueueJobsScreen" and app.screen.query_one(JobList).job_at(0) is not None

    # queues are listed by name: (none), billing, imports, low, mailers -> 4 downs
    assert snap_compare(_dj_app(dj_fixture_sqlite), terminal_size=SIZE,
                        run_before=_then("down", "down", "down", "down", "enter", until=loaded))


def test_snapshot_confirm_modal(snap_compare: Any, dj_fixture_sqlite: str) -> None:
    assert snap_compare(_dj_app(dj_fixture_sqlite), terminal_size=SIZE, run_before=_then("3", "space", "r"))


def test_snapshot_help(snap_compare: Any, dj_fixture_sqlite: str) -> None:
    assert snap_compare(_dj_app(dj_fixture_sqlite), terminal_size=(140, 60), run_before=_then("question_mark"))
