"""Helpers shared by the `jobctl top` tests (imported by test_tui_*.py; holds no tests itself).

Pilot tests are plain sync tests that drive `asyncio.run(...)` (no pytest-asyncio needed).
Everything runs against real servers: a private redis-server loaded with the real Resque
fixture, or a copy of the real Delayed Job SQLite fixture.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from resque_data import load_dump

from jobctl.backends import open_backend
from jobctl.backends.base import Backend
from jobctl.targets import Target

FROZEN = datetime(2026, 11, 27, 20, 0, 0, tzinfo=UTC)  # the fixtures were written that evening


def frozen_clock() -> datetime:
    return FROZEN


def resque_backend(url: str, *, read_only: bool = False, name: str | None = None) -> Backend:
    return open_backend(Target(url=url, name=name, read_only=read_only))


def loaded_resque(redis_client: Any, url: str, **kw: Any) -> Backend:
    load_dump(redis_client)
    return resque_backend(url, **kw)


def dj_backend(url: str, *, read_only: bool = False, name: str | None = None,
               clock: Callable[[], datetime] | None = None) -> Backend:
    from jobctl.backends.delayed_job.backend import DelayedJobBackend

    return DelayedJobBackend(Target(url=url, name=name, read_only=read_only), clock=clock)


def top_app(backend: Backend, **kw: Any) -> Any:
    from jobctl.tui.app import TopApp

    kw.setdefault("interval", 60.0)  # ticks on demand in tests (first tick at mount)
    return TopApp(backend, **kw)


async def wait_for(pilot: Any, cond: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Let the app run until `cond()` holds (fails the test after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await pilot.pause(0.05)


async def first_tick(pilot: Any, app: Any, timeout: float = 30.0) -> None:
    await wait_for(pilot, lambda: app.ticks >= 1 and type(app.screen).__name__ == "MainScreen",
                   timeout, "the first refresh tick")
    await pilot.pause()


async def next_tick(pilot: Any, app: Any, timeout: float = 30.0) -> None:
    n = app.ticks
    app.action_refresh_now()
    await wait_for(pilot, lambda: app.ticks > n, timeout, "a refresh tick")
    await pilot.pause()


def run(app: Any, scenario: Callable[[Any], Awaitable[None]], size: tuple[int, int] = (160, 48)) -> None:
    """Run `scenario(pilot)` inside `app.run_test()`."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await scenario(pilot)

    asyncio.run(main())


def screen_name(app: Any) -> str:
    return type(app.screen).__name__


def table_keys(table: Any) -> list[str]:
    return [table.key_of(r) for r in table.visible_rows()]


def cell_texts(table: Any) -> list[list[str]]:
    """The plain text of every visible cell (what the user reads), row by row."""
    out = []
    for row_index in range(table.row_count):
        out.append([getattr(c, "plain", str(c)) for c in table.get_row_at(row_index)])
    return out


def notifications(app: Any) -> list[str]:
    return [n.message for n in app._notifications]


def commandstats(client: Any) -> dict[str, int]:
    """Calls per command since the last CONFIG RESETSTAT (INFO commandstats)."""
    info = client.info("commandstats")
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()}


WRITE_COMMANDS = {"set", "del", "unlink", "lpush", "rpush", "lpop", "rpop", "lset", "lrem", "ltrim", "linsert",
                  "sadd", "srem", "hset", "hdel", "hmset", "zadd", "zrem", "incr", "incrby", "expire", "rename",
                  "evalsha", "eval", "flushdb", "flushall", "rpoplpush", "lmove", "setex", "getset", "publish"}


def widget_text(widget: Any) -> str:
    """What a widget currently shows on screen, as plain text lines."""
    from textual.geometry import Region

    lines = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "\n".join(strip.text for strip in lines)
