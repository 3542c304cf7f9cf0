"""List reads over the DJ table: peek, failures, count_failures, show.

Each is SQL prefilter + exact Python filter: what SQL can decide (queue, state, failed_at window,
ids) goes into the WHERE clause of a keyset walk (`scan.iter_rows`); class, exception and error
regex are checked on the parsed rows with the very `FailureFilter.matches` / `JobFilter` the
write side uses, so `failed --class X` and `requeue --class X` select the same rows.

Queue names: a NULL queue (jobs enqueued without one) is shown as ``(none)``; filters accept
``(none)`` or the empty string for it (`normalize_filter`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from jobctl.backends.delayed_job.rows import ERROR_HEAD_FAILURES
from jobctl.backends.delayed_job.scan import failure_phases, iter_rows, reserve_phases
from jobctl.backends.delayed_job.states import DJ_STATES, eligible_clause, states_clause
from jobctl.backends.delayed_job.summary import NULL_QUEUE
from jobctl.errors import NotFound, UsageError
from jobctl.model import Failure, FailureFilter, Job, JobFilter

if TYPE_CHECKING:
    from sqlalchemy.sql.elements import ColumnElement

    from jobctl.backends.delayed_job.backend import DelayedJobBackend
    from jobctl.backends.delayed_job.schema import DJTable


def _is_null_queue(name: str | None) -> bool:
    return name is None or name in ("", NULL_QUEUE)


def queue_clause(t: DJTable, queue: str | None) -> ColumnElement[bool]:
    from sqlalchemy import false, true

    if not t.has_queue:
        return true() if _is_null_queue(queue) else false()
    c = t.table.c
    return c.queue.is_(None) if _is_null_queue(queue) else c.queue == queue


def normalize_filter(f: FailureFilter | None) -> FailureFilter:
    """Copy of `f` with ``(none)`` queue names mapped to ``""`` (what `matches` sees for NULL)."""
    f = f or FailureFilter()
    if any(q == NULL_QUEUE for q in f.queues):
        f = dataclasses.replace(f, queues=tuple("" if q == NULL_QUEUE else q for q in f.queues))
    return f


def _int_ids(ids: tuple[str, ...]) -> list[int]:
    out = []
    for i in ids:
        s = i.rsplit("#", 1)[-1].strip()
        if s.isdigit():
            out.append(int(s))
    return out


def failure_where(b: DelayedJobBackend, t: DJTable, f: FailureFilter) -> ColumnElement[bool]:
    """The SQL part of a FailureFilter (a superset of what `f.matches` accepts)."""
    from sqlalchemy import and_, false, or_

    c = t.table.c
    conds: list[ColumnElement[bool]] = [c.failed_at.is_not(None)]
    if f.queues:
        conds.append(or_(*[queue_clause(t, q) for q in dict.fromkeys(f.queues)]))
    if f.since is not None:
        conds.append(c.failed_at >= b.db_time(f.since))
    if f.until is not None:
        conds.append(c.failed_at <= b.db_time(f.until))
    if f.ids:
        ids = _int_ids(f.ids)
        conds.append(c.id.in_(ids) if ids else false())
    if f.retried is True:  # Delayed Job keeps no "retried" mark on a failed row
        conds.append(false())
    return and_(*conds)


def _python_checks_needed(f: FailureFilter) -> bool:
    return bool(f.classes or f.exceptions or f.error is not None)


def failures(b: DelayedJobBackend, filter: FailureFilter | None, *, newest_first: bool = True,
             scan_limit: int | None = None) -> Iterator[Failure]:
    """Failed rows newest first (failed_at DESC, id DESC), exactly those `filter.matches`."""
    f = normalize_filter(filter)
    # normalize ids to plain row ids so `matches` compares like with like
    if f.ids:
        f = dataclasses.replace(f, ids=tuple(str(i) for i in _int_ids(f.ids)))
    yielded = 0
    with b.read() as conn:
        t = b.table_for(conn)
        reader = b.reader
        cols = b.list_columns(error_head=ERROR_HEAD_FAILURES)
        for row in iter_rows(conn, t, cols, failure_where(b, t, f), failure_phases(t, newest_first),
                             scan_limit=scan_limit):
            error = reader.error_text(conn, row)
            if f.error is not None and not error[1]:  # the regex must see the whole message
                full = reader._fetch_text(conn, "last_error", row.id)
                if full is not None:
                    error = (full, True)
            fail = reader.failure(conn, row, error=error)
            if not f.matches(fail):
                continue
            yield fail
            yielded += 1
            if f.limit is not None and yielded >= f.limit:
                return


def count_failures(b: DelayedJobBackend, filter: FailureFilter | None, *, cap: int | None = None) -> tuple[int, bool]:
    """(count, capped). One capped COUNT when SQL decides the filter alone, else a bounded walk.

    Without `cap` the target's `count_limit` bounds the work (capped=True if it is reached).
    """
    from sqlalchemy import func, select

    f = normalize_filter(filter)
    f = dataclasses.replace(f, limit=None)
    if cap is None:
        cap = b.count_limit
    if not _python_checks_needed(f):
        with b.read() as conn:
            t = b.table_for(conn)
            inner = select(t.table.c.id).where(failure_where(b, t, f))
            if cap is not None:
                inner = inner.limit(cap + 1)
            n = int(conn.execute(select(func.count()).select_from(inner.subquery())).scalar() or 0)
        if cap is not None and n > cap:
            return cap, True
        return n, False
    n = 0
    for _ in failures(b, f, scan_limit=b.count_limit):
        n += 1
        if cap is not None and n > cap:
            return cap, True
    return n, False


def _job_matches(jf: JobFilter, job: Job) -> bool:
    """JobFilter, with the DJ reading of state "bad": the handler could not be parsed."""
    if jf.states:
        states = set(jf.states)
        in_bad = "bad" in states and job.parse_error is not None
        if not (job.state in states or in_bad):
            return False
        jf = dataclasses.replace(jf, states=())
    return jf.matches(job)


def peek(b: DelayedJobBackend, queue: str, *, limit: int = 50, offset: int = 0, filter: JobFilter | None = None,
         scan_limit: int = 100_000) -> list[Job]:
    """Jobs of `queue` in the order a worker takes them (priority, run_at, id).

    No state filter: the rows a worker would reserve now (ready, due retrying, stuck), position 0
    = next. With `filter.states`: rows in those states, same order. Positions count rows in that
    view (before class/grep filters), so they stay meaningful under filters.
    """
    from sqlalchemy import and_, true

    jf = filter or JobFilter()
    for s in jf.states:
        if s not in DJ_STATES and s != "bad":
            raise UsageError(f"unknown state {s!r}; Delayed Job states: {', '.join((*DJ_STATES, 'bad'))}")
    now = b.now()
    stale = b.stale_before(now)
    now_db, stale_db = b.db_time(now), b.db_time(stale)
    out: list[Job] = []
    if limit <= 0:
        return out
    with b.read() as conn:
        t = b.table_for(conn)
        sql_states = [s for s in jf.states if s != "bad"]
        if not jf.states:
            state_sql = eligible_clause(t, now_db, stale_db)
        elif "bad" in jf.states:
            state_sql = true()  # any state can hold an unparseable handler
        else:
            state_sql = states_clause(t, sql_states, now_db, stale_db)
        where = and_(queue_clause(t, queue), state_sql)
        python_filter = bool(jf.classes or jf.grep is not None or "bad" in jf.states)
        phases = reserve_phases(t)
        start = 0
        if offset and not python_filter:
            start = offset  # skip by keys only: no handler bytes read for skipped rows
        first = min(max(limit + 1, 16), 500) if not python_filter else 64
        rows = iter_rows(conn, t, b.list_columns(), where, phases, scan_limit=scan_limit, skip=start,
                         first_batch=first)
        position = start
        matched = start
        for row in rows:
            job = b.reader.job(conn, row, now=now, stale_before=stale, position=position)
            position += 1
            if python_filter and not _job_matches(jf, job):
                continue
            matched += 1
            if matched <= offset:
                continue
            out.append(job)
            if len(out) >= limit:
                break
    return out


def show(b: DelayedJobBackend, id: str) -> Job | Failure:
    """One row in full: whole handler (parsed tree + raw YAML), whole last_error, app columns."""
    from sqlalchemy import column, select

    from jobctl.parse.dj_handler import parse_handler
    from jobctl.parse.ruby_values import to_jsonable

    ids = _int_ids((id,))
    if not ids:
        raise NotFound(f"no Delayed Job row {id!r}: ids are row numbers, e.g. `jobctl show 42`")
    with b.read() as conn:
        t = b.table_for(conn)
        big = max(b.max_handler_bytes, 1)
        cols = b.list_columns(error_head=big, handler_head=big)
        extra_cols: list[Any] = [column(n).label(f"app__{n}") for n in t.extra_columns]
        row = conn.execute(select(*cols, *extra_cols).select_from(t.table).where(t.table.c.id == ids[0])).first()
        if row is None:
            raise NotFound(f"no row with id {ids[0]} in table {t.label()}")
        now = b.now()
        reader = b.reader
        obj: Job | Failure
        if row.failed_at is not None:
            obj = reader.failure(conn, row)
        else:
            obj = reader.job(conn, row, now=now, stale_before=b.stale_before(now))
            err = reader.error_text(conn, row)[0]
            obj.last_error = err
        app = {n: row._mapping[f"app__{n}"] for n in t.extra_columns}
    if obj.raw is not None and not obj.extra.get("handler_truncated"):
        h = parse_handler(obj.raw, max_bytes=b.max_handler_bytes, last_error=obj.last_error
                          if isinstance(obj, Job) else obj.error_full)
        obj.extra["handler"] = to_jsonable(h.tree) if h.tree is not None else None
    if app:
        obj.extra["columns"] = {k: (v if not isinstance(v, bytes) else v.decode("utf-8", "replace"))
                                for k, v in app.items()}
    return obj
