"""Aggregates over the DJ table: per-queue state counts (queues, stats) and workers from locks.

Counting is one ``GROUP BY queue, state`` statement. On very large tables it can be capped by
the target option ``count_limit`` (rows examined, default 5,000,000): the aggregate then runs
over the first `count_limit` rows only and every count is reported as a lower bound
(``Queue.capped`` / ``Stats.server["counts_capped"]``).

Workers: Delayed Job has no worker registry. A worker is visible only through ``locked_by`` on
the rows it holds (``"host:vm pid:12345"``, optionally prefixed by ``bin/delayed_job``'s process
name, e.g. ``"delayed_job.0 host:web1 pid:77"``). Failed rows keep their lock (DJ does not clear
it), so only locks on *unfailed* rows count; idle workers cannot be seen at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobctl.backends.delayed_job.states import DJ_STATES, state_case

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from jobctl.backends.delayed_job.dbtime import TimeCodec
    from jobctl.backends.delayed_job.schema import DJTable

DEFAULT_COUNT_LIMIT = 5_000_000
MAX_LOCKED_ROWS = 5000
NULL_QUEUE = "(none)"  # how a NULL queue (DJ's default when no queue is given) is shown

_HOST_PID = re.compile(r"(?:^|\s)host:(?P<host>\S+)\s+pid:(?P<pid>\d+)\s*$")
_PID_ONLY = re.compile(r"(?:^|\s)pid:(?P<pid>\d+)\s*$")


def parse_locked_by(value: str) -> tuple[str | None, int | None]:
    """``"delayed_job.0 host:web1 pid:77"`` -> ("web1", 77); ``"pid:9"`` -> (None, 9); else (None, None)."""
    m = _HOST_PID.search(value)
    if m:
        return m.group("host"), int(m.group("pid"))
    m = _PID_ONLY.search(value)
    return (None, int(m.group("pid"))) if m else (None, None)


@dataclass(slots=True)
class QueueCounts:
    name: str | None  # the stored queue value (None = NULL)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DJ_STATES, 0))
    oldest_ready: datetime | None = None


def count_by_queue(conn: Connection, t: DJTable, codec: TimeCodec, now_db: Any, stale_db: Any,
                   cap: int | None) -> tuple[dict[str | None, QueueCounts], bool]:
    """({queue: counts}, capped) in one statement."""
    from sqlalchemy import func, select

    c = t.table.c
    src = select(t.col("queue").label("queue"), state_case(t, now_db, stale_db).label("state"),
                 c.run_at.label("run_at")).select_from(t.table)
    if cap:
        src = src.limit(cap + 1)
    sub = src.subquery("dj")
    q = select(sub.c.queue, sub.c.state, func.count().label("n"), func.min(sub.c.run_at).label("oldest")) \
        .group_by(sub.c.queue, sub.c.state)
    out: dict[str | None, QueueCounts] = {}
    total = 0
    for row in conn.execute(q):
        qc = out.setdefault(row.queue, QueueCounts(row.queue))
        qc.counts[row.state] = qc.counts.get(row.state, 0) + int(row.n)
        total += int(row.n)
        if row.state == "ready":
            qc.oldest_ready = codec.from_db(row.oldest)
    return out, bool(cap) and total > (cap or 0)


@dataclass(slots=True)
class LockInfo:
    locked_by: str
    host: str | None
    pid: int | None
    held: int = 0
    stuck: int = 0
    queues: list[str | None] = field(default_factory=list)
    newest_id: Any = None
    newest_locked_at: datetime | None = None
    newest_queue: str | None = None
    newest_fresh: bool = False


def locks(conn: Connection, t: DJTable, codec: TimeCodec, stale_before: datetime) -> tuple[list[LockInfo], bool]:
    """Workers seen in ``locked_by`` of unfailed rows; (infos, truncated at MAX_LOCKED_ROWS)."""
    from sqlalchemy import and_, select

    if not t.has("locked_by"):
        return [], False
    c = t.table.c
    q = select(c.id, c.locked_by, c.locked_at, t.col("queue").label("queue")).where(
        and_(c.failed_at.is_(None), c.locked_at.is_not(None), c.locked_by.is_not(None))
    ).order_by(c.locked_at.desc(), c.id.desc()).limit(MAX_LOCKED_ROWS + 1)
    rows = conn.execute(q).fetchall()
    truncated = len(rows) > MAX_LOCKED_ROWS
    infos: dict[str, LockInfo] = {}
    for row in rows[:MAX_LOCKED_ROWS]:
        name = str(row.locked_by)
        info = infos.get(name)
        if info is None:
            host, pid = parse_locked_by(name)
            info = infos[name] = LockInfo(locked_by=name, host=host, pid=pid)
        locked_at = codec.from_db(row.locked_at)
        fresh = locked_at is not None and locked_at >= stale_before
        info.held += 1
        info.stuck += 0 if fresh else 1
        if row.queue not in info.queues:
            info.queues.append(row.queue)
        if info.newest_id is None or (fresh and not info.newest_fresh):
            info.newest_id, info.newest_locked_at, info.newest_queue = row.id, locked_at, row.queue
            info.newest_fresh = fresh
    return list(infos.values()), truncated
