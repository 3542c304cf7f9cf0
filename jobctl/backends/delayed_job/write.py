"""Delayed Job requeue / discard / unlock: keyset batches, one transaction per batch.

* requeue: ``UPDATE … SET failed_at = NULL, attempts = 0, run_at = <now>, locked_at = NULL,
  locked_by = NULL [, last_error = NULL] [, queue = <to>] WHERE id IN (<batch>) AND failed_at IS
  NOT NULL`` — what delayed_job_web's "Reload" does, minus the evidence loss unless
  `--clear-error`. The guard means a row someone else requeued (or a row a worker holds, which
  always has failed_at NULL) is never touched; such rows are reported as skipped.
* discard: ``DELETE … WHERE id IN (<batch>) AND failed_at IS NOT NULL``.
* unlock: stale locks of unfailed rows (locked longer than max_run_time, or `--older-than`):
  ``UPDATE … SET locked_at = NULL, locked_by = NULL WHERE id IN (…) AND failed_at IS NULL AND
  locked_at < <cutoff>`` — a row whose lock a worker renewed meanwhile is left alone.

Selection: the read side's SQL prefilter (`failure_where`: queue, failed_at window, ids), walked
by id (primary key) in keyset batches with bounded memory; class / exception / error filters are
checked exactly in Python on the parsed row (the same `FailureFilter.matches` as `jobctl failed`),
and the update is then applied by id. A run is bounded by its snapshot (highest id, start time):
rows added or failed after it are never touched. `--limit N` takes the newest N failures, the
ones `jobctl failed --limit N` lists.

Times are written the way the column stores them (`backend.db_time`): SQLite text
`YYYY-MM-DD HH:MM:SS[.ffffff]`, PostgreSQL `timestamp` in UTC, MySQL/MariaDB `datetime` truncated
to whole seconds when the column has no fractional precision (as DJ itself does there).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobctl.backends.base import MutationInterrupted, Progress, require_writable
from jobctl.backends.delayed_job.write_batches import BATCH, apply_ids, parsed_batches, range_batches
from jobctl.backends.delayed_job.write_result import Acc
from jobctl.errors import Unsupported, UsageError
from jobctl.model import FailureFilter, MutationResult

if TYPE_CHECKING:
    from jobctl.backends.delayed_job.backend import DelayedJobBackend

__all__ = ["BATCH", "DJSnapshot", "discard", "requeue", "take_snapshot", "unlock", "unlock_stuck"]


@dataclass(slots=True)
class DJSnapshot:
    """Bounds of one run: rows with a higher id, or failed later, are not part of it."""

    max_id: int
    taken_at: datetime


# ---------------------------------------------------------------------------- public API


def take_snapshot(b: DelayedJobBackend, flt: FailureFilter | None = None) -> DJSnapshot:
    from sqlalchemy import func, select

    with b.read() as conn:
        t = b.table_for(conn)
        max_id = conn.execute(select(func.max(t.table.c.id))).scalar()
    return DJSnapshot(max_id=int(max_id or 0), taken_at=b.now())


def requeue(b: DelayedJobBackend, filter: FailureFilter, *, to_queue: str | None = None, keep: bool = False,
            clear_error: bool = False, dry_run: bool = False, progress: Progress | None = None,
            snapshot: DJSnapshot | None = None) -> MutationResult:
    if keep:
        raise Unsupported("--keep is Resque's requeue-and-keep; a Delayed Job requeue resets the failed row "
                          "itself (the row is the job)")
    if to_queue is not None and not to_queue.strip():
        raise UsageError("--to-queue needs a queue name")
    if to_queue is not None and not b.dj.has_queue:
        raise Unsupported(f"table {b.dj.label()} has no queue column (Delayed Job 2.x schema): --to-queue "
                          "cannot be applied")
    now = b.now()
    values: dict[str, Any] = {"failed_at": None, "attempts": 0, "run_at": _db_now(b, "run_at", now),
                              "locked_at": None, "locked_by": None}
    if clear_error:
        values["last_error"] = None
    if to_queue is not None:
        values["queue"] = to_queue
    values = {k: v for k, v in values.items() if b.dj.has(k)}
    return _run(b, filter, "requeue", values, dry_run, progress, snapshot)


def discard(b: DelayedJobBackend, filter: FailureFilter, *, dry_run: bool = False,
            progress: Progress | None = None, snapshot: DJSnapshot | None = None) -> MutationResult:
    return _run(b, filter, "discard", None, dry_run, progress, snapshot)


def unlock(b: DelayedJobBackend, *, older_than: timedelta | None = None, dry_run: bool = False,
           progress: Progress | None = None, limit: int | None = None) -> MutationResult:
    """Clear locks older than `older_than` (default: the target's max_run_time, 4h) on unfailed rows."""
    from sqlalchemy import and_, func, select

    if not dry_run:
        require_writable(b.target, "unlock")
    age = older_than if older_than is not None else b.max_run_time
    if age <= timedelta(0):
        raise UsageError("--older-than must be a positive duration")
    cutoff = b.db_time(b.now() - age)
    res = Acc("unlock", dry_run, limit)
    t = b.dj
    c = t.table.c
    where = and_(c.failed_at.is_(None), c.locked_at.is_not(None), c.locked_at < cutoff)
    with b.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(t.table).where(where)).scalar() or 0)
    if limit is not None:
        total = min(total, limit)
    try:
        for batch in parsed_batches(b, where, None, res):
            res.classify(b, batch)
            if dry_run:
                res.done_batch(batch)
            else:
                with b.connect() as conn, conn.begin():
                    apply_ids(conn, b, lambda cond: t.table.update().where(cond).values(locked_at=None, locked_by=None),
                              where, batch, res, "lock renewed or released meanwhile")
            if progress is not None:
                progress(res.n_selected, total)
            if res.full():
                break
    except KeyboardInterrupt:
        raise MutationInterrupted(res.interrupted_message()) from None
    res.finish_notes()
    return res.result()


unlock_stuck = unlock  # the name the task brief uses


# ---------------------------------------------------------------------------- the run


def _db_now(b: DelayedJobBackend, column: str, now: datetime) -> Any:
    """`now` as the column stores it: MySQL/MariaDB datetime without fraction -> whole seconds."""
    if b.dialect == "mysql":
        info = b.dj.columns.get(column) or {}
        if not getattr(info.get("type"), "fsp", None):
            now = now.replace(microsecond=0)
    return b.db_time(now)


def _python_checks(f: FailureFilter) -> bool:
    return bool(f.classes or f.exceptions or f.error is not None)


def _normalized(b: DelayedJobBackend, flt: FailureFilter) -> FailureFilter:
    from jobctl.backends.delayed_job.reads import _int_ids

    f = b.normalize_filter(flt)
    if f.ids:
        f = dataclasses.replace(f, ids=tuple(str(i) for i in _int_ids(f.ids)))
    return f


def _run(b: DelayedJobBackend, flt: FailureFilter, action: str, values: dict[str, Any] | None,
         dry_run: bool, progress: Progress | None, snap: DJSnapshot | None) -> MutationResult:
    from sqlalchemy import and_, func, select

    if not dry_run:
        require_writable(b.target, action)
    f = _normalized(b, flt)
    snap = snap or take_snapshot(b, f)
    t = b.dj
    c = t.table.c
    bounds = and_(c.id <= snap.max_id, c.failed_at <= b.db_time(snap.taken_at))
    where = and_(b.failure_where(dataclasses.replace(f, limit=None)), bounds)
    res = Acc(action, dry_run, f.limit)
    guard = c.failed_at.is_not(None)
    checks = _python_checks(f)
    if f.limit is not None:  # the newest N, as `jobctl failed --limit N` shows them
        where = and_(where, _newest_n_clause(b, f, where, checks))
    with b.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(t.table).where(where)).scalar() or 0)

    def build(cond: Any) -> Any:
        if action == "discard":
            return t.table.delete().where(cond)
        return t.table.update().where(cond).values(**(values or {}))

    def report(n: int) -> None:
        if progress is not None:
            progress(n, total)

    try:
        if not dry_run and not checks and f.limit is None:
            range_batches(b, where, build, res, report)  # SQL decides alone: act on id ranges
        else:
            for batch in parsed_batches(b, where, f if checks else None, res):
                res.classify(b, batch)
                if dry_run:
                    res.done_batch(batch)
                else:
                    with b.connect() as conn, conn.begin():
                        apply_ids(conn, b, build, guard, batch, res, "no longer failed (requeued or deleted meanwhile)")
                report(res.scanned)
                if res.full():
                    break
    except KeyboardInterrupt:
        raise MutationInterrupted(res.interrupted_message()) from None
    report(total)
    res.finish_notes()
    return res.result()


def _newest_n_clause(b: DelayedJobBackend, f: FailureFilter, where: Any, checks: bool) -> Any:
    """Rows at or after the N-th newest match in (failed_at DESC, id DESC) order."""
    from sqlalchemy import and_, false, or_, select

    assert f.limit is not None
    c = b.dj.table.c
    cutoff: int | None = None
    if f.limit <= 0:
        return false()
    if checks:
        for fail in b.failures(dataclasses.replace(f, limit=f.limit)):
            cutoff = int(fail.id)  # ends as the N-th newest match (or the oldest, when fewer)
    else:
        with b.read() as conn:
            cutoff = conn.execute(select(c.id).where(where).order_by(c.failed_at.desc(), c.id.desc())
                                  .offset(f.limit - 1).limit(1)).scalar()
            if cutoff is None:  # fewer than N rows: all of them
                return where
    if cutoff is None:
        return false()
    with b.read() as conn:
        fa = conn.execute(select(c.failed_at).where(c.id == cutoff)).scalar()
    return or_(c.failed_at > fa, and_(c.failed_at == fa, c.id >= cutoff))
