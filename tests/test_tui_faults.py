"""`jobctl top` under stress: the server going away and coming back, 1,000 queues, a queue of
1,000,000 jobs (the job list must fetch only the windows it shows)."""

from __future__ import annotations

import time
from typing import Any

from resque_data import load_dump
from test_tui_support import (
    commandstats,
    first_tick,
    next_tick,
    resque_backend,
    run,
    screen_name,
    table_keys,
    top_app,
    wait_for,
    widget_text,
)


def test_disconnect_shows_retrying_and_recovers_by_itself(private_redis: Any) -> None:
    client = private_redis.client()
    load_dump(client)
    app = top_app(resque_backend(private_redis.url), interval=0.5)

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.meters import Meters
        from jobctl.tui.widgets.queue_table import QueueTable

        await first_tick(pilot, app)
        queues = app.screen.query_one(QueueTable)
        assert len(table_keys(queues)) == 6
        private_redis.stop()
        await wait_for(pilot, lambda: app.snapshot.error is not None, what="a failed tick")
        assert app.snapshot.disconnected
        header = widget_text(app.screen.query_one(Meters))
        assert "disconnected, retrying…" in header
        assert len(table_keys(queues)) == 6  # the last good data stays on screen
        failed_ticks = app.ticks
        await wait_for(pilot, lambda: app.ticks >= failed_ticks + 2, what="retries while down")
        assert app.snapshot.error is not None
        private_redis.start()  # a fresh, empty server on the same port
        fresh = private_redis.client()
        load_dump(fresh, only={"queues", "queue:low"})
        fresh.close()
        await wait_for(pilot, lambda: app.snapshot.error is None, timeout=30, what="recovery")
        await pilot.pause()
        assert table_keys(queues) == ["critical", "high", "low", "mailers", "reports", "toxic"]
        assert app.snapshot.failures_total == 0
        assert "disconnected" not in widget_text(app.screen.query_one(Meters))

    run(app, scenario)
    client.close()


def test_unreachable_from_the_start_still_opens_and_says_so(redis_server: Any) -> None:
    from servers import free_port

    app = top_app(resque_backend(f"redis://127.0.0.1:{free_port()}/0"), interval=0.5)

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.meters import Meters

        await wait_for(pilot, lambda: app.ticks >= 1, what="the first (failed) tick")
        await pilot.pause()
        assert app.snapshot.disconnected
        assert "disconnected, retrying…" in widget_text(app.screen.query_one(Meters))
        await pilot.press("1", "3", "slash", "x", "enter", "question_mark")  # keys still work
        assert screen_name(app) == "HelpScreen"

    run(app, scenario)


def test_thousand_queues_stay_responsive(redis_client: Any, redis_url: str) -> None:
    pipe = redis_client.pipeline(transaction=False)
    names = [f"q{i:04d}" for i in range(1000)]
    pipe.sadd("resque:queues", *names)
    for i, name in enumerate(names):
        if i % 7:  # every 7th queue is empty: listed in the set, no list key (as Resque leaves it)
            pipe.rpush(f"resque:queue:{name}", *[b'{"class":"Work","args":[%d]}' % j for j in range(i % 7)])
    pipe.execute()
    app = top_app(resque_backend(redis_url))

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.queue_table import QueueTable

        await first_tick(pilot, app)
        queues = app.screen.query_one(QueueTable)
        assert len(table_keys(queues)) == 1000
        redis_client.rpush("resque:queue:q0500", b'{"class":"Work","args":[]}')
        t0 = time.monotonic()
        await next_tick(pilot, app)
        assert time.monotonic() - t0 < 15  # generous bound: one tick + table update
        assert next(r for r in queues.visible_rows() if r.queue.name == "q0500").queue.size == 500 % 7 + 1
        t0 = time.monotonic()
        await pilot.press("s", "s")  # sort by size
        await pilot.press("slash", *"^q00[0-4]", "enter")
        assert time.monotonic() - t0 < 15
        assert len(table_keys(queues)) == 50
        assert app.snapshot.stats.queues == 1000

    run(app, scenario)


def test_million_job_queue_fetches_only_visible_windows(redis_client: Any, redis_url: str) -> None:
    total = 1_000_000
    pipe = redis_client.pipeline(transaction=False)
    for start in range(0, total, 20_000):
        pipe.rpush("resque:queue:huge", *[b'{"class":"Big","args":[%d]}' % i for i in range(start, start + 20_000)])
    pipe.sadd("resque:queues", "huge")
    pipe.execute()
    app = top_app(resque_backend(redis_url))

    async def scenario(pilot: Any) -> None:
        from jobctl.tui.widgets.job_list import PAGE, JobList

        await first_tick(pilot, app)
        redis_client.config_resetstat()
        await pilot.press("enter")
        assert screen_name(app) == "QueueJobsScreen"
        jobs = app.screen.query_one(JobList)
        assert jobs.total == total
        await wait_for(pilot, lambda: jobs.job_at(0) is not None, what="the first window")
        t0 = time.monotonic()
        await pilot.press("G")
        await wait_for(pilot, lambda: jobs.job_at(total - 1) is not None, what="the last window")
        assert time.monotonic() - t0 < 10
        last = jobs.current_job()
        assert jobs.cursor == total - 1 and last.position == total - 1 and last.args == [total - 1]
        for _ in range(5):
            await pilot.press("pageup")
        await wait_for(pilot, lambda: jobs.current_job() is not None, what="the window after paging")
        assert jobs.current_job().args == [jobs.cursor]
        visited = {0} | set(range(jobs.cursor // PAGE, (total - 1) // PAGE + 1))  # pages shown on screen
        assert set(jobs.loaded_pages()) <= visited and len(visited) <= 5
        assert jobs.fetches <= len(visited)  # each shown window fetched once, nothing else
        used = commandstats(redis_client)
        assert used.get("lrange", 0) <= 8  # windows of 100, never the list
        await pilot.press("g")
        assert jobs.cursor == 0 and jobs.current_job().args == [0]

    run(app, scenario)
