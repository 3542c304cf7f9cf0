"""The state of a Delayed Job row, as SQL (for counting and selecting) and in Python (per row).

One ordered rule set, first match wins (README "On Delayed Job" repeats it):

1. **failed**    ``failed_at IS NOT NULL`` - DJ gave up; the row keeps its lock columns.
2. **running**   locked (``locked_at`` set) and the lock is younger than ``max_run_time``
   (DJ's ``Delayed::Worker.max_run_time``, default 4 h; target option ``max_run_time``).
3. **stuck**     locked longer than ``max_run_time``: the worker died (kill -9, OOM) or hangs;
   DJ treats the row as free again, but nobody is running it.
4. **retrying**  unlocked with ``attempts > 0``: it failed before and DJ will run it again.
   A retrying row whose back-off ``run_at`` is still in the future is *retrying*, not
   *scheduled*: that it failed is the operationally important fact (the fixture's 2 retrying
   rows are exactly these). Retrying rows are never counted with failed ones.
5. **scheduled** unlocked, ``attempts = 0`` and ``run_at`` in the future (or NULL, which DJ never
   writes and never runs).
6. **ready**     everything else: unlocked, never attempted, due now.

"Eligible" (what `peek` shows by default) is DJ's own reserve condition minus the per-worker
clause: ``failed_at IS NULL AND run_at <= now AND (locked_at IS NULL OR locked_at < now -
max_run_time)`` - i.e. ready rows, due retrying rows and stuck rows, in the order a worker takes
them (``priority ASC, run_at ASC``).

`now` and the stale cut-off are always bound as parameters computed in Python (as DJ does), in
the database's zone and storage form (``dbtime.TimeCodec``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobctl.model import JOB_STATES

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from jobctl.backends.delayed_job.schema import DJTable

DJ_STATES: tuple[str, ...] = ("ready", "scheduled", "running", "stuck", "retrying", "failed")
DEFAULT_MAX_RUN_TIME = timedelta(hours=4)
assert set(DJ_STATES) <= set(JOB_STATES)


def state_of(*, failed_at: datetime | None, locked_at: datetime | None, attempts: int | None,
             run_at: datetime | None, now: datetime, stale_before: datetime) -> str:
    """Python twin of `state_case` for one row (aware UTC datetimes)."""
    if failed_at is not None:
        return "failed"
    if locked_at is not None:
        return "running" if locked_at >= stale_before else "stuck"
    if (attempts or 0) > 0:
        return "retrying"
    if run_at is None or run_at > now:
        return "scheduled"
    return "ready"


def state_clause(t: DJTable, state: str, now: Any, stale: Any) -> ColumnElement[bool]:
    """WHERE condition selecting the rows in `state` (now/stale already in database form)."""
    from sqlalchemy import and_, or_

    c = t.table.c
    unlocked = and_(c.failed_at.is_(None), c.locked_at.is_(None))
    attempts = t.int_col("attempts")
    if state == "failed":
        return c.failed_at.is_not(None)
    if state == "running":
        return and_(c.failed_at.is_(None), c.locked_at.is_not(None), c.locked_at >= stale)
    if state == "stuck":
        return and_(c.failed_at.is_(None), c.locked_at < stale)
    if state == "retrying":
        return and_(unlocked, attempts > 0)
    if state == "scheduled":
        return and_(unlocked, attempts <= 0, or_(c.run_at > now, c.run_at.is_(None)))
    if state == "ready":
        return and_(unlocked, attempts <= 0, c.run_at <= now)
    raise ValueError(f"unknown Delayed Job state {state!r}; use one of: {', '.join(DJ_STATES)}")


def states_clause(t: DJTable, states: tuple[str, ...] | list[str], now: Any, stale: Any) -> ColumnElement[bool]:
    from sqlalchemy import false, or_

    parts = [state_clause(t, s, now, stale) for s in dict.fromkeys(states) if s != "bad"]
    return or_(*parts) if parts else false()


def eligible_clause(t: DJTable, now: Any, stale: Any) -> ColumnElement[bool]:
    """DJ's `ready_to_run` without the `locked_by = <this worker>` branch."""
    from sqlalchemy import and_, or_

    c = t.table.c
    return and_(c.failed_at.is_(None), c.run_at <= now, or_(c.locked_at.is_(None), c.locked_at < stale))


def state_case(t: DJTable, now: Any, stale: Any) -> ColumnElement[str]:
    """CASE expression naming each row's state (same precedence as `state_of`)."""
    from sqlalchemy import case

    return case(*[(state_clause(t, s, now, stale), s) for s in ("failed", "running", "stuck", "retrying",
                                                               "scheduled")], else_="ready")
