"""`/` on the job list of one queue: a bounded filtered scan through backend.peek(filter=grep),
against a real redis-server (the Resque 3.0 fixture plus a generated 2,500-job queue) and the real
delayed_job 4.1.9 SQLite fixture. Expectations are computed from the stored data."""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

import pytest
from test_tui_support import (
    dj_backend,
    first_tick,
    frozen_clock,
    loaded_resque,
    run,
    screen_name,
    table_keys,
    top_app,
    wait_for,
    widget_text,
)

BULK = "bulk"
BULK_SIZE = 2_500


def _load_bulk(redis_client: Any) -> list[str]:
    """A queue of 2,500 jobs; every 7th is a NeedleJob. Returns the raw entries in list order."""
    raws = [json.dumps({"class": "NeedleJob" if i % 7 == 0 else "HayJob", "args": [i]}) for i in range(BULK_SIZE)]
    redis_client.rpush(f"resque:queue:{BULK}", *raws)
    redis_client.sadd("resque:queues", BULK)
    return raws


def _queue_raws(redis_client: Any, queue: str) -> list[str]:
    return [r.decode("utf-8", "backslashreplace") for r in redis_client.lrange(f"resque:queue:{queue}", 0, -1)]


async def _open_queue(pilot: Any, app: Any, queue: str) -> Any:
    from jobctl.tui.widgets.job_list import JobList
    from jobctl.tui.widgets.queue_table import QueueTable

    await first_tick(pilot, app)
    queues = app.screen.query_one(QueueTable)
    queues.move_cursor(row=table_keys(queues).index(queue))
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "QueueJobsScreen", what="queue screen")
    jobs = app.screen.query_one(JobList)
    await wait_for(pilot, lambda: jobs.job_at(0) is not None, what="the first window")
    return jobs


async def _filter(pilot: Any, app: Any, text: str) -> None:
    await pilot.press("slash", *text, "enter")
    await wait_for(pilot, lambda: app.screen.scan is not None and not app.screen.scanning, what="the filtered scan")


def _crumbs(app: Any) -> str:
    return widget_text(app.screen.query_one("#crumbs"))


def test_resque_filter_shows_exactly_the_matching_jobs_with_real_positions(redis_client: Any,
                                                                           redis_url: str) -> None:
    backend = loaded_resque(redis_client, redis_url)
    raws = _load_bulk(redis_client)
    app = top_app(backend)
    expected = [i for i, r in enumerate(raws) if re.search("needle", r, re.IGNORECASE)]
    assert len(expected) == 358

    async def scenario(pilot: Any) -> None:
        jobs = await _open_queue(pilot, app, BULK)
        assert jobs.total == BULK_SIZE
        await _filter(pilot, app, "needle")
        assert jobs.matches is not None
        assert [j.position for j in jobs.matches] == expected
        assert all(j.job_class == "NeedleJob" for j in jobs.matches)
        assert jobs.total == len(expected)
        crumbs = _crumbs(app)
        assert "filtered scan /needle/" in crumbs and "358 match(es)" in crumbs
        assert "whole queue searched" in crumbs and "scan limit hit" not in crumbs
        # lines carry the real queue position, not the index in the match list
        await pilot.press("G")
        assert jobs.current_job().position == expected[-1]
        assert f"{expected[-1]:>9,}" in jobs.render_line(jobs.cursor - int(jobs.scroll_y)).text
        await pilot.press("enter")
        assert screen_name(app) == "DetailScreen" and app.screen.item.id == f"{BULK}@{expected[-1]}"
        await pilot.press("escape")
        assert screen_name(app) == "QueueJobsScreen" and jobs.matches is not None

        # Esc clears the filter: virtual paging of the whole queue again
        fetched = jobs.fetches
        await pilot.press("escape")
        assert screen_name(app) == "QueueJobsScreen"
        assert jobs.matches is None and jobs.total == BULK_SIZE and app.screen.filter_text == ""
        assert "filtered scan" not in _crumbs(app)
        await pilot.press("G")
        await wait_for(pilot, lambda: jobs.current_job() is not None, what="the last window")
        assert jobs.current_job().position == BULK_SIZE - 1 and jobs.fetches > fetched
        await pilot.press("escape")
        assert screen_name(app) == "MainScreen"

    run(app, scenario)


def test_resque_negated_filter_and_empty_filter_restores_paging(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))
    raws = _queue_raws(redis_client, "low")
    cls = json.loads(raws[0])["class"]
    keep = [i for i, r in enumerate(raws) if not re.search(re.escape(cls), r, re.IGNORECASE)]
    hit = [i for i, r in enumerate(raws) if re.search(re.escape(cls), r, re.IGNORECASE)]
    assert keep and hit  # the fixture queue holds both kinds

    async def scenario(pilot: Any) -> None:
        jobs = await _open_queue(pilot, app, "low")
        await _filter(pilot, app, "!" + re.escape(cls.lower()))
        assert [j.position for j in jobs.matches] == keep
        assert f"{len(keep)} match(es)" in _crumbs(app)
        # the prompt opens with the filter in effect: erase it, Enter on an empty `/` clears
        await pilot.press("slash", "ctrl+u", "enter")
        await wait_for(pilot, lambda: jobs.matches is None, what="paging")
        assert app.screen.filter_text == "" and "filtered scan" not in _crumbs(app)
        assert jobs.total == len(raws)
        await wait_for(pilot, lambda: jobs.job_at(len(raws) - 1) is not None, what="the window")
        assert [jobs.job_at(i).position for i in range(len(raws))] == list(range(len(raws)))

    run(app, scenario)


def test_resque_invalid_regex_keeps_the_previous_filter(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))
    raws = _queue_raws(redis_client, "low")
    cls = json.loads(raws[0])["class"]
    hit = [i for i, r in enumerate(raws) if re.search(re.escape(cls), r, re.IGNORECASE)]

    async def scenario(pilot: Any) -> None:
        jobs = await _open_queue(pilot, app, "low")
        await _filter(pilot, app, re.escape(cls))
        assert [j.position for j in jobs.matches] == hit
        await pilot.press("slash", *"[", "enter")
        await pilot.pause()
        assert app.screen.filter_text == re.escape(cls)
        assert [j.position for j in jobs.matches] == hit

    run(app, scenario)


def test_resque_scan_limit_is_reported(redis_client: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import jobctl.tui.screens.jobs as jobs_screen

    monkeypatch.setattr(jobs_screen, "SCAN_LIMIT", 1_000)
    backend = loaded_resque(redis_client, redis_url)
    raws = _load_bulk(redis_client)
    app = top_app(backend)
    expected = [i for i, r in enumerate(raws[:1_000]) if "NeedleJob" in r]

    async def scenario(pilot: Any) -> None:
        jobs = await _open_queue(pilot, app, BULK)
        await _filter(pilot, app, "needle")
        assert [j.position for j in jobs.matches] == expected
        crumbs = _crumbs(app)
        assert "scan limit hit" in crumbs and "first 1,000 jobs searched" in crumbs

    run(app, scenario)


def _dj_pending(url: str, queue: str) -> list[Any]:
    """The unfiltered list the screen pages through (states the queue size counts), in order."""
    from jobctl.model import JobFilter
    from jobctl.tui.screens.jobs import PENDING_STATES

    b = dj_backend(url, clock=frozen_clock)
    try:
        return b.peek(queue, limit=1_000, filter=JobFilter(states=PENDING_STATES))
    finally:
        b.close()


def _dj_handlers(url: str) -> dict[str, str]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as c:
        return {str(i): h for i, h in c.execute("SELECT id, handler FROM delayed_jobs")}


@pytest.mark.parametrize("negate", [False, True])
def test_delayed_job_filter_and_negation(dj_fixture_sqlite: str, negate: bool) -> None:
    pending = _dj_pending(dj_fixture_sqlite, "mailers")
    handlers = _dj_handlers(dj_fixture_sqlite)
    hit = [(j.position, j.id) for j in pending if re.search("newsletter", handlers[j.id], re.IGNORECASE)]
    miss = [(j.position, j.id) for j in pending if not re.search("newsletter", handlers[j.id], re.IGNORECASE)]
    assert hit and miss and len(pending) >= 3
    app = top_app(dj_backend(dj_fixture_sqlite, clock=frozen_clock), clock=frozen_clock)

    async def scenario(pilot: Any) -> None:
        jobs = await _open_queue(pilot, app, "mailers")
        assert jobs.total == len(pending)
        await _filter(pilot, app, "!NewsLetter" if negate else "NewsLetter")
        want = miss if negate else hit
        assert [(j.position, j.id) for j in jobs.matches] == want
        assert f"{len(want)} match(es)" in _crumbs(app) and "scan limit hit" not in _crumbs(app)
        await pilot.press("escape")
        assert jobs.matches is None and jobs.total == len(pending)
        await wait_for(pilot, lambda: jobs.job_at(len(pending) - 1) is not None, what="paging")
        assert [jobs.job_at(i).id for i in range(len(pending))] == [j.id for j in pending]

    run(app, scenario)
