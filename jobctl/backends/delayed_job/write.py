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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobctl.backends.base import MutationInterrupted, Progress, require_writable
from jobctl.errors import Unsupported, UsageError
from jobctl.model import FailureFilter, MutationResult

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row

    from jobctl.backends.delayed_job.backend import DelayedJobBackend

BATCH = 1000
SAMPLE = 5
CLASS_PARSE_BUDGET = 2000  # rows whose handler is parsed just to count classes (≈0.5 ms each)
MAX_SKIPPED_LISTED = 1000


@dataclass(slots=True)
class DJSnapshot:
    """Bounds of one run: rows with a higher id, or failed later, are not part of it."""

    max_id: int
    taken_at: datetime


@dataclass(slots=True)
class Sel:
    id: int
    queue: str | None
    job_class: str | None = None  # known when the handler was parsed


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
    res = _Acc("unlock", dry_run, limit)
    t = b.dj
    c = t.table.c
    where = and_(c.failed_at.is_(None), c.locked_at.is_not(None), c.locked_at < cutoff)
    with b.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(t.table).where(where)).scalar() or 0)
    if limit is not None:
        total = min(total, limit)
    try:
        for batch in _keyset(b, where, None, res):
            res.classify(b, batch)
            if dry_run:
                res.done_batch(batch)
            else:
                with b.connect() as conn, conn.begin():
                    _apply(conn, t, lambda ids: t.table.update().where(c.id.in_(ids), where).values(
                        locked_at=None, locked_by=None), where, batch, res, "lock renewed or released meanwhile")
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
    res = _Acc(action, dry_run, f.limit)
    guard = c.failed_at.is_not(None)
    checks = _python_checks(f)
    if f.limit is not None:  # the newest N, as `jobctl failed --limit N` shows them
        where = and_(where, _newest_n_clause(b, f, where, checks))
    with b.read() as conn:
        total = int(conn.execute(select(func.count()).select_from(t.table).where(where)).scalar() or 0)

    def build(ids: list[int]) -> Any:
        if action == "discard":
            return t.table.delete().where(c.id.in_(ids), guard)
        return t.table.update().where(c.id.in_(ids), guard).values(**(values or {}))

    try:
        for batch in _keyset(b, where, f if checks else None, res):
            res.classify(b, batch)
            if dry_run:
                res.done_batch(batch)
            else:
                with b.connect() as conn, conn.begin():
                    _apply(conn, t, build, guard, batch, res, "no longer failed (requeued or deleted meanwhile)")
            if progress is not None:
                progress(res.scanned, total)
            if res.full():
                break
    except KeyboardInterrupt:
        raise MutationInterrupted(res.interrupted_message()) from None
    if progress is not None:
        progress(total, total)
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


def _min_dt(a: datetime | None, b: datetime) -> datetime:
    return b if a is None or a > b else a


def _apply(conn: Connection, t: Any, build: Any, guard: Any, batch: list[Sel], res: _Acc, why: str) -> None:
    """Run one guarded statement for a batch (already inside its transaction); account per id."""
    from sqlalchemy import select

    c = t.table.c
    ids = [s.id for s in batch]
    if t.dialect in ("postgresql", "sqlite"):
        hit = {int(r[0]) for r in conn.execute(build(ids).returning(c.id))}
    else:  # MySQL/MariaDB: no UPDATE … RETURNING; lock the rows the guard accepts, then act on them
        hit = {int(r[0]) for r in conn.execute(select(c.id).where(c.id.in_(ids), guard).with_for_update())}
        if hit:
            conn.execute(build(sorted(hit)))
    res.done_batch([s for s in batch if s.id in hit])
    for s in batch:
        if s.id not in hit:
            res.skip(s, why)


def _keyset(b: DelayedJobBackend, where: Any, f: FailureFilter | None, res: _Acc) -> Iterator[list[Sel]]:
    """Batches of selected rows in id order; rows are parsed only when `f` needs Python checks."""
    from sqlalchemy import and_, select

    from jobctl.backends.delayed_job.rows import ERROR_HEAD_FAILURES

    t = b.dj
    c = t.table.c
    last = None
    while not res.full():
        cond = where if last is None else and_(where, c.id > last)
        if f is None:
            cols: list[Any] = [c.id.label("id"), t.col("queue").label("queue")]
        else:
            cols = b.list_columns(error_head=ERROR_HEAD_FAILURES)
        with b.read() as conn:
            rows = conn.execute(select(*cols).select_from(t.table).where(cond).order_by(c.id).limit(BATCH)).fetchall()
            if not rows:
                return
            last = rows[-1].id
            res.scanned += len(rows)
            out: list[Sel] = []
            for row in rows:
                sel = _pick(b, conn, row, f, res)
                if sel is not None:
                    out.append(sel)
                    if res.full():
                        break
        if out:
            yield out
        if len(rows) < BATCH:
            return


def _pick(b: DelayedJobBackend, conn: Connection, row: Row[Any], f: FailureFilter | None, res: _Acc) -> Sel | None:
    if f is None:
        sel = Sel(id=int(row.id), queue=row.queue)
        res.selected(sel, None)
        return sel
    reader = b.reader
    error = reader.error_text(conn, row)
    if f.error is not None and not error[1]:
        full = reader._fetch_text(conn, "last_error", row.id)
        if full is not None:
            error = (full, True)
    failure = reader.failure(conn, row, error=error)
    if not f.matches(failure):
        return None
    sel = Sel(id=int(row.id), queue=row.queue, job_class=failure.job_class)
    res.selected(sel, _sample(failure))
    return sel


def _sample(failure: Any) -> dict[str, Any]:
    return {"id": failure.id, "queue": failure.queue, "class": failure.job_class, "name": failure.name,
            "failed_at": failure.failed_at, "attempts": failure.attempts, "error": failure.error}


# ---------------------------------------------------------------------------- result


class _Acc:
    """Counts with bounded memory. Classes need the handler parsed (≈0.5 ms a row): rows the
    filter already parsed carry theirs; others are parsed before acting, up to a budget."""

    def __init__(self, action: str, dry_run: bool, limit: int | None) -> None:
        self.res = MutationResult(action=action, dry_run=dry_run)
        self.limit = limit
        self.n_selected = 0
        self.scanned = 0
        self.budget = CLASS_PARSE_BUDGET if dry_run else CLASS_PARSE_BUDGET // 10
        self.parsed = 0
        self.unclassified = 0

    def full(self) -> bool:
        return self.limit is not None and self.n_selected >= self.limit

    def selected(self, s: Sel, sample: dict[str, Any] | None) -> None:
        self.n_selected += 1
        if sample is not None and len(self.res.sample) < SAMPLE:
            self.res.sample.append(sample)

    def classify(self, b: DelayedJobBackend, batch: list[Sel]) -> None:
        """Parse rows of this batch that have no class yet (within budget); fill the sample."""
        todo = [s for s in batch if s.job_class is None][: max(0, self.budget - self.parsed)]
        if not todo:
            return
        from sqlalchemy import select

        by_id = {s.id: s for s in todo}
        with b.read() as conn:
            t = b.table_for(conn)
            rows = conn.execute(select(*b.list_columns()).select_from(t.table).where(t.table.c.id.in_(list(by_id))))
            for row in rows:
                if row.failed_at is not None:
                    obj: Any = b.reader.failure(conn, row)
                    sample = _sample(obj)
                else:
                    obj = b.reader.job(conn, row, now=b.now(), stale_before=b.stale_before())
                    sample = {"id": obj.id, "queue": obj.queue, "class": obj.job_class, "name": obj.name,
                              "locked_by": obj.locked_by, "locked_at": obj.locked_at, "attempts": obj.attempts}
                by_id[int(row.id)].job_class = obj.job_class
                if len(self.res.sample) < SAMPLE:
                    self.res.sample.append(sample)
        self.parsed += len(todo)

    def done_batch(self, batch: list[Sel]) -> None:
        r = self.res
        for s in batch:
            r.done += 1
            q = s.queue if s.queue is not None else "(none)"
            r.by_queue[q] = r.by_queue.get(q, 0) + 1
            if s.job_class is not None:
                r.by_class[s.job_class] = r.by_class.get(s.job_class, 0) + 1
            else:
                self.unclassified += 1

    def skip(self, s: Sel, reason: str) -> None:
        self.res.skipped += 1
        if len(self.res.skipped_entries) < MAX_SKIPPED_LISTED:
            self.res.skipped_entries.append({"id": str(s.id), "reason": reason, "queue": s.queue})

    def finish_notes(self) -> None:
        if self.unclassified:
            counted = self.res.done - self.unclassified
            self.res.notes.append(
                f"per-class counts cover {counted} of {self.res.done} rows: classes need each handler parsed "
                f"(≈0.5 ms a row), so only the first {self.budget} rows without a class filter are parsed")

    def result(self) -> MutationResult:
        r = self.res
        r.selected = self.n_selected
        if r.dry_run:  # nothing was done; by_queue / by_class say what would be
            r.done = 0
        return r

    def interrupted_message(self) -> str:
        return (f"interrupted after {self.res.action} of {self.res.done} rows; every batch was one transaction, "
                "so each row is either done or untouched — rerun the same command to finish")
