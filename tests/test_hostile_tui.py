"""`jobctl top` (Textual, driven by Pilot) on the hostile corpus: Resque in a private Redis and
Delayed Job in SQLite. Every widget's rendered text is checked for raw control / bidi characters
after each step, markup shows literally, the detail of every kind of entry (10 MB payload, 10 MB
error, 100,000-frame backtrace, alias bomb) opens within a bound, and monitoring writes nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from dj_data import file_digest, sqlite_path
from hostile.checks import unsafe_chars
from hostile.loaders import HOSTILE_QUEUE, load_dj, load_resque
from test_tui_support import (
    WRITE_COMMANDS,
    commandstats,
    dj_backend,
    first_tick,
    resque_backend,
    run,
    screen_name,
    table_keys,
    top_app,
    wait_for,
    widget_text,
)

BOUND_S = 60.0  # whole scenario, generous: 10 MB entries on a shared CI machine


def screen_text(app: Any) -> str:
    """What every widget of the current screen renders now, as plain text."""
    parts = []
    for w in app.screen.query("*"):
        if w.size.width and w.size.height:
            try:
                parts.append(widget_text(w))
            except Exception as e:  # noqa: BLE001 - a widget that cannot render is reported, not hidden
                parts.append(f"<render failed: {type(e).__name__}>")
    return "\n".join(parts)


def assert_screen_safe(app: Any, where: str) -> str:
    text = screen_text(app)
    assert "<render failed" not in text, where
    assert not unsafe_chars(text), (where, unsafe_chars(text))
    return text


async def check_detail(pilot: Any, app: Any, where: str) -> None:
    """On a DetailScreen: visit every tab, check what it renders, go back."""
    await wait_for(pilot, lambda: screen_name(app) == "DetailScreen", timeout=BOUND_S, what=f"{where} detail")
    await pilot.pause()
    for tab in ("1", "2", "3"):
        await pilot.press(tab)
        await pilot.pause()
        assert_screen_safe(app, f"{where} tab {tab}")
    await pilot.press("escape")
    await wait_for(pilot, lambda: screen_name(app) != "DetailScreen", what="back")


async def open_hostile_queue(pilot: Any, app: Any) -> Any:
    """From the dashboard, open the queue with the hostile name; its job list once a window is in."""
    from jobctl.tui.widgets.job_list import JobList
    from jobctl.tui.widgets.queue_table import QueueTable

    queues = app.screen.query_one(QueueTable)
    queues.focus()
    queues.move_cursor(row=table_keys(queues).index(HOSTILE_QUEUE))
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen_name(app) == "QueueJobsScreen", what="queue screen")
    jobs = app.screen.query_one(JobList)
    await wait_for(pilot, lambda: jobs.job_at(0) is not None, timeout=BOUND_S, what="jobs window")
    return jobs


async def open_jobs(pilot: Any, app: Any, jobs: Any, positions: list[int], ids: list[str] | None = None) -> None:
    """On a queue's job list: open the detail of each position (ascending) in turn."""
    at = 0
    for n, pos in enumerate(positions):
        await pilot.press(*["down"] * (pos - at))
        at = pos
        await wait_for(pilot, lambda p=pos: jobs.job_at(p) is not None, timeout=BOUND_S, what=f"job {pos}")
        if ids is not None:
            assert jobs.job_at(pos).id == ids[n]
        await pilot.press("enter")
        await check_detail(pilot, app, f"job {pos}")


# The entries whose detail is opened: every bad kind, the big ones, escapes and markup.
RESQUE_PICKS = ("invalid_json_unclosed", "tombstone", "non_utf8_latin1", "binary_bytes", "big_10mb_valid",
                "big_10mb_unterminated", "deep_list_100k", "lone_surrogates", "escape_arg_pwned", "escape_in_class",
                "c1_and_bidi_class", "markup_class", "activejob_hostile", "many_args_100k", "long_key_1mb")
FAILURE_PICKS = ("fail_hostile_everything", "fail_binary", "fail_tombstone", "fail_big_10mb_error",
                 "fail_backtrace_100k_frames", "fail_markup_exception", "fail_garbage_failed_at_text")
DJ_PICKS = ("yaml_alias_bomb", "yaml_merge_key_bomb", "python_apply_os_system", "yaml_deep_flow_100k", "over_cap_2mb",
            "huge_10mb", "escape_method_pwned", "markup_args", "yaml_non_utf8", "activejob_hostile")


def test_top_on_the_resque_corpus(redis_client: Any, redis_url: str) -> None:
    corpus = load_resque(redis_client)
    backend = resque_backend(redis_url)
    failure_ids = {int(f.location.rsplit("[", 1)[1].rstrip("]")): f.id for f in backend.failures()}
    app = top_app(backend)
    redis_client.config_resetstat()
    t0 = time.monotonic()

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app, timeout=BOUND_S)
        text = assert_screen_safe(app, "dashboard")
        assert "[bold red]q[/]" in text and "ctl\\x1b[2J\\x07q" in text  # markup literal, controls escaped
        jobs = await open_hostile_queue(pilot, app)
        assert_screen_safe(app, "jobs")
        for i in range(len(corpus.jobs)):
            line = jobs.render_line(i).text if i < jobs.size.height else ""
            assert not unsafe_chars(line), (i, line)
        jobs.focus()
        await open_jobs(pilot, app, jobs, sorted(corpus.job_position(n) for n in RESQUE_PICKS))
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "MainScreen", what="dashboard")
        for name in FAILURE_PICKS:
            app.open_failure(failure_ids[corpus.failure_index(name)])
            await check_detail(pilot, app, name)

    run(app, scenario)
    assert time.monotonic() - t0 < BOUND_S * 3
    used = set(commandstats(redis_client))
    assert not used & WRITE_COMMANDS, sorted(used & WRITE_COMMANDS)
    assert redis_client.llen("resque:failed") == len(corpus.failures)


def test_top_on_the_delayed_job_corpus(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    url = f"sqlite:///{tmp_path / 'hostile.sqlite3'}"
    corpus = load_dj(url, canary)
    digest = file_digest(sqlite_path(url))
    app = top_app(dj_backend(url))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app, timeout=BOUND_S)
        text = assert_screen_safe(app, "dashboard")
        assert "[bold red]q[/]" in text
        jobs = await open_hostile_queue(pilot, app)
        assert_screen_safe(app, "jobs")
        jobs.focus()
        picks = sorted(corpus.id_of(n) for n in DJ_PICKS if any(e.name == n for e in corpus.handlers.values()))
        await open_jobs(pilot, app, jobs, [i - 1 for i in picks], [str(i) for i in picks])
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(app) == "MainScreen", what="dashboard")
        for i in sorted(corpus.failed) + corpus.garbage_times[:2]:
            app.open_failure(str(i))
            await check_detail(pilot, app, f"failed row {i}")

    run(app, scenario)
    assert file_digest(sqlite_path(url)) == digest  # monitoring wrote nothing
    assert not list(canary.iterdir())
