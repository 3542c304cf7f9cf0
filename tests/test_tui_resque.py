"""`jobctl top` on a real Resque: Pilot tests against a private redis-server loaded with the real
Resque 3.0 fixture (navigation, filter, drill-down, requeue confirm + effect, read-only refusal,
never writing while monitoring, hostile and broken entries)."""

from __future__ import annotations

from typing import Any

from test_tui_support import (
    WRITE_COMMANDS,
    cell_texts,
    commandstats,
    first_tick,
    loaded_resque,
    next_tick,
    notifications,
    run,
    screen_name,
    table_keys,
    top_app,
    wait_for,
    widget_text,
)

FIXTURE_QUEUES = ["critical", "high", "low", "mailers", "reports", "toxic"]


def _widgets(app: Any) -> dict[str, Any]:
    from jobctl.tui.widgets.failure_tables import FailureGroupsTable
    from jobctl.tui.widgets.meters import Meters
    from jobctl.tui.widgets.queue_table import QueueTable
    from jobctl.tui.widgets.workers_table import WorkersTable

    s = app.screen
    return {"queues": s.query_one(QueueTable), "workers": s.query_one(WorkersTable),
            "failures": s.query_one(FailureGroupsTable), "meters": s.query_one(Meters)}


def test_dashboard_shows_queues_workers_failures_and_meters(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url, name="fixture"))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        w = _widgets(app)
        assert table_keys(w["queues"]) == FIXTURE_QUEUES
        sizes = {r.queue.name: r.queue.size for r in w["queues"].visible_rows()}
        assert sizes == {q: redis_client.llen(f"resque:queue:{q}") for q in FIXTURE_QUEUES}
        assert sorted(table_keys(w["workers"])) == sorted(m.decode() for m in redis_client.smembers("resque:workers"))
        groups = w["failures"].visible_rows()
        assert sum(g.count for g in groups) == redis_client.llen("resque:failed") == 31
        top = groups[0]
        assert (top.job_class, top.exception, top.count) == ("ToxicPayloadJob", "RuntimeError", 7)
        header = widget_text(w["meters"])
        assert "fixture" in header and "resque" in header and "failures 31" in header
        assert "pending 27" in header and "3 stale" in header
        assert app.snapshot.server_version == redis_client.info("server")["redis_version"]

    run(app, scenario)


def test_number_keys_maximise_panels_and_tab_moves_focus(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        w = _widgets(app)
        await pilot.press("3")
        assert app.screen.maximized is w["failures"] and app.focused is w["failures"]
        await pilot.press("3")
        assert app.screen.maximized is None
        await pilot.press("2")
        assert app.screen.maximized is w["workers"]
        await pilot.press("0")
        assert app.screen.maximized is None
        await pilot.press("1")
        await pilot.press("escape")
        assert app.screen.maximized is None and app.focused is w["queues"]
        await pilot.press("tab")
        assert app.focused is w["workers"]
        await pilot.press("tab")
        assert app.focused is w["failures"]

    run(app, scenario)


def test_regex_filter_negation_and_invalid_pattern(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        queues = _widgets(app)["queues"]
        await pilot.press("slash", *"^(lo|hi)", "enter")
        assert table_keys(queues) == ["high", "low"]
        assert app.focused is queues
        await pilot.press("slash", "ctrl+u", *"!o", "enter")  # negated: names without an "o"
        assert table_keys(queues) == ["critical", "high", "mailers"]
        await pilot.press("slash", "ctrl+u", *"(", "enter")  # invalid regex: old filter stays
        assert table_keys(queues) == ["critical", "high", "mailers"]
        assert any("invalid regex" in m for m in notifications(app))
        await next_tick(pilot, app)  # a refresh keeps the filter
        assert table_keys(queues) == ["critical", "high", "mailers"]
        await pilot.press("escape")  # Esc on the dashboard clears the focused table's filter
        assert table_keys(queues) == FIXTURE_QUEUES
        await pilot.press("3", "slash", *"argument", "enter")  # failures: class or exception
        groups = _widgets(app)["failures"].visible_rows()
        assert groups and all("ArgumentError" == g.exception for g in groups)

    run(app, scenario)


def test_sort_cycles_columns(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        queues = _widgets(app)["queues"]
        await pilot.press("s")  # name
        assert table_keys(queues) == FIXTURE_QUEUES
        await pilot.press("s")  # size, biggest first
        sizes = [r.queue.size for r in queues.visible_rows()]
        assert sizes == sorted(sizes, reverse=True) and table_keys(queues)[0] == "low"
        await pilot.press("S")
        assert [r.queue.size for r in queues.visible_rows()] == sorted(sizes)

    run(app, scenario)


def test_drill_down_queue_jobs_detail_and_back(redis_client: Any, redis_url: str) -> None:
    import json

    app = top_app(loaded_resque(redis_client, redis_url))

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.job_list import JobList

        await first_tick(pilot, app)
        await pilot.press("down", "down", "enter")  # critical, high, [low]
        assert screen_name(app) == "QueueJobsScreen" and app.screen.queue_name == "low"
        jobs = app.screen.query_one(JobList)
        await wait_for(pilot, lambda: jobs.current_job() is not None, what="the first window of jobs")
        await pilot.press("j", "j")
        job = jobs.current_job()
        raw = json.loads(redis_client.lindex("resque:queue:low", 2))
        assert job.position == 2 and raw["class"] in (job.job_class, job.wrapper)
        await pilot.press("enter")
        assert screen_name(app) == "DetailScreen" and app.screen.item.id == "low@2"
        await pilot.press("3")  # raw tab shows the stored entry
        raw_text = widget_text(app.screen.query_one("#raw-text"))
        assert raw["class"] in raw_text
        await pilot.press("escape")
        assert screen_name(app) == "QueueJobsScreen"
        await pilot.press("escape")
        assert screen_name(app) == "MainScreen"

    run(app, scenario)


def test_drill_down_failure_group_to_failure_detail(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.failure_tables import FailureRowsTable

        await first_tick(pilot, app)
        await pilot.press("3", "enter")
        assert screen_name(app) == "FailureListScreen"
        rows = app.screen.query_one(FailureRowsTable).visible_rows()
        assert len(rows) == 7 and {r.job_class for r in rows} == {"ToxicPayloadJob"}
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "DetailScreen", what="the failure detail")
        failure = app.screen.item
        assert failure.id == rows[0].id and failure.exception == "RuntimeError"
        await pilot.press("2")
        text = widget_text(app.screen.query_one("#error-text"))
        assert "RuntimeError" in text and "backtrace" in text and failure.backtrace[0] in text
        await pilot.press("escape", "escape")
        assert screen_name(app) == "MainScreen"

    run(app, scenario)


def test_requeue_tagged_group_asks_then_moves_failures_to_their_queue(redis_client: Any, redis_url: str) -> None:
    import json

    app = top_app(loaded_resque(redis_client, redis_url))
    toxic_before = redis_client.llen("resque:queue:toxic")
    records = [json.loads(x) for x in redis_client.lrange("resque:failed", 0, -1)]
    expected = sorted(json.dumps(r["payload"], sort_keys=True) for r in records
                      if r["exception"] == "RuntimeError" and r["payload"]["class"] == "ToxicPayloadJob")
    assert len(expected) == 7

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        group = _widgets(app)["failures"].visible_rows()[0]
        assert (group.job_class, group.count) == ("ToxicPayloadJob", 7)
        await pilot.press("3", "space")  # tag the ToxicPayloadJob × RuntimeError group
        assert _widgets(app)["failures"].tagged == {group.key}
        await pilot.press("r")
        assert screen_name(app) == "ConfirmScreen"
        head = widget_text(app.screen.query_one("#confirm-head"))
        assert "Requeue 7 failure(s)" in head and "tagged" in head
        sample = widget_text(app.screen.query_one("#confirm-sample"))
        assert "ToxicPayloadJob" in sample
        assert redis_client.llen("resque:failed") == 31  # nothing happened before "yes"
        await pilot.press("y")
        await wait_for(pilot, lambda: bool(app.mutations), what="the requeue to finish")
        result = app.mutations[-1]
        assert (result.action, result.selected, result.done, result.skipped) == ("requeue", 7, 7, 0)
        await wait_for(pilot, lambda: app.snapshot.failures_total == 24, what="the refresh after requeue")
        assert all(g.job_class != "ToxicPayloadJob" or g.exception != "RuntimeError"
                   for g in _widgets(app)["failures"].visible_rows())
        assert _widgets(app)["failures"].tagged == set()
        assert any("requeued 7 of 7" in m for m in notifications(app))

    run(app, scenario)
    assert redis_client.llen("resque:failed") == 24
    assert redis_client.llen("resque:queue:toxic") == toxic_before + 7
    remaining = [x for x in redis_client.lrange("resque:failed", 0, -1) if b"ToxicPayloadJob" in x
                 and b"RuntimeError" in x]
    assert remaining == []
    pushed = sorted(json.dumps(json.loads(x), sort_keys=True) for x in redis_client.lrange("resque:queue:toxic", -7, -1))
    assert pushed == expected  # the very payloads, now at the tail of their queue


def test_cancel_and_escape_never_write(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await pilot.press("3", "d")  # the cursor group (panel focused, nothing tagged)
        assert screen_name(app) == "ConfirmScreen"
        await pilot.press("n")
        assert screen_name(app) == "MainScreen"
        await pilot.press("d")
        await pilot.press("enter")  # focus starts on Cancel: Enter alone must not discard
        assert screen_name(app) == "MainScreen"
        await pilot.press("d", "escape")
        assert app.mutations == []

    run(app, scenario)
    assert redis_client.llen("resque:failed") == 31


def test_read_only_target_refuses_requeue_without_a_modal(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url, read_only=True))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        assert "READ-ONLY" in widget_text(_widgets(app)["meters"])
        await pilot.press("3", "space", "r")
        assert screen_name(app) == "MainScreen"
        await pilot.press("d")
        assert screen_name(app) == "MainScreen"
        messages = notifications(app)
        assert any("refusing to requeue failures" in m and "read-only" in m for m in messages)
        assert any("refusing to discard failures" in m for m in messages)
        assert app.mutations == []

    run(app, scenario)
    assert redis_client.llen("resque:failed") == 31


def test_nothing_selected_is_explained_not_guessed(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await pilot.press("r")  # queues panel focused, nothing tagged or filtered in failures
        assert screen_name(app) == "MainScreen"
        assert any("nothing selected" in m for m in notifications(app))

    run(app, scenario)


def test_monitoring_sends_no_write_commands(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))
    redis_client.config_resetstat()

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        for _ in range(3):
            await next_tick(pilot, app)
        await pilot.press("down", "down", "enter")  # low's jobs
        await pilot.pause(0.3)
        await pilot.press("escape", "3", "enter", "enter")  # failures and one failure's detail
        await wait_for(pilot, lambda: screen_name(app) == "DetailScreen", what="failure detail")
        await pilot.press("escape", "escape", "slash", *"low", "enter", "s", "question_mark")
        await pilot.pause(0.2)

    run(app, scenario)
    used = commandstats(redis_client)
    assert used.get("llen", 0) > 0 and used.get("lrange", 0) > 0  # it did read
    assert not (set(used) & WRITE_COMMANDS), sorted(set(used) & WRITE_COMMANDS)


def test_hostile_queue_names_and_broken_entries_render_as_plain_text(redis_client: Any, redis_url: str) -> None:
    evil = "evil\x1b]0;pwned\x07[bold red]x\u202e"
    backend = loaded_resque(redis_client, redis_url)
    redis_client.sadd("resque:queues", evil)
    redis_client.rpush(f"resque:queue:{evil}", b"{not json", b'{"class":"Ok\x1b[2J","args":[1]}')
    redis_client.rpush("resque:failed", b"\xff\xfe garbage, not a failure record")
    app = top_app(backend)

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.job_list import JobList

        await first_tick(pilot, app)
        queues = _widgets(app)["queues"]
        assert evil in table_keys(queues)
        shown = [row[0] for row in cell_texts(queues)]
        assert "evil\\x1b]0;pwned\\x07[bold red]x\\u202e" in shown
        assert not any("\x1b" in s or "\x07" in s for row in cell_texts(queues) for s in row)
        assert app.snapshot.failures_total == 32  # the garbage entry is counted, not fatal
        queues.move_cursor(row=table_keys(queues).index(evil))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "QueueJobsScreen", what="queue screen")
        assert app.screen.queue_name == evil
        jobs = app.screen.query_one(JobList)
        await wait_for(pilot, lambda: jobs.job_at(1) is not None, what="jobs window")
        assert jobs.job_at(0).parse_error
        line0 = app.screen.query_one(JobList).render_line(0).text
        line1 = app.screen.query_one(JobList).render_line(1).text
        assert "bad" in line0 and "\x1b" not in line0
        assert "Ok\\x1b[2J" in line1 and "\x1b" not in line1
        await pilot.press("enter")
        assert screen_name(app) == "DetailScreen"
        await pilot.press("escape", "escape")
        assert screen_name(app) == "MainScreen"

    run(app, scenario)


def test_palette_opens_a_queue_by_name(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: screen_name(app) == "CommandPalette", what="palette")
        await pilot.press(*"open queue mailers")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "QueueJobsScreen", what="queue screen")
        assert app.screen.queue_name == "mailers"

    run(app, scenario)


def test_pause_interval_keys_and_skipping_while_modal(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url), interval=0.5)

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await pilot.press("p")
        assert app.paused and "PAUSED" in widget_text(_widgets(app)["meters"])
        n = app.ticks
        await pilot.pause(1.6)
        assert app.ticks == n and app.skipped >= 1
        await pilot.press("p")
        await wait_for(pilot, lambda: app.ticks > n, what="ticks after resume")
        await pilot.press("question_mark")
        assert screen_name(app) == "HelpScreen"
        skipped, n = app.skipped, app.ticks
        await pilot.pause(1.6)
        assert app.skipped > skipped and app.ticks <= n + 1  # at most the tick already in flight
        await pilot.press("escape")
        await pilot.press("plus")
        assert app.interval == 0.5  # already the fastest step
        await pilot.press("minus", "minus")
        assert app.interval == 2.0 and "every 2s" in widget_text(_widgets(app)["meters"])

    run(app, scenario)
