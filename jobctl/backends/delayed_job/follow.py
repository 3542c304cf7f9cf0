"""`jobctl tail` on Delayed Job: poll the table every `interval` and turn row changes into events.

Delayed Job has no command stream to watch, so this is polling (documented as such): a job that
is enqueued, run and deleted between two polls shows as enqueue + done only, and one that
existed before the tail and finished between two polls is not seen at all.

Each poll runs bounded queries (LIMIT pages, keyset on the primary key, at most `max_pages`
pages per poll; what does not fit is read on the next poll with the same marks):

1. new rows: `id > last id` -> `enqueue` (with `start` too if already locked);
2. changed rows: `locked_at`, `updated_at`, `failed_at` after the previous poll (minus a margin
   for clock skew and late commits), or `run_at` that came due since then -> compared with what
   we saw before: `start` (locked), `fail` (failed_at set), `retry` (attempts went up and the row
   was unlocked: DJ rescheduled it), `requeue` (failed_at cleared; or, for a row not seen before,
   due now with attempts 0 and a last_error: a reset by jobctl/an operator), `unlock`;
3. watched rows (every row seen since the tail started, capped at `watch_cap`) re-read by id:
   a row that is gone is `done` (DJ deletes finished jobs; also failures when
   destroy_failed_jobs is on, which polling cannot tell apart) or `remove` when it was failed.

DJ's own lock (`update_all`) does not touch updated_at, hence the separate locked_at test. Without
indexes on locked_at/updated_at/failed_at these are scans: use a longer --interval on big tables.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobctl.model import Event
from jobctl.timeutil import utcnow

if TYPE_CHECKING:
    from jobctl.backends.delayed_job.backend import DelayedJobBackend

DJ_KINDS = ("enqueue", "start", "retry", "fail", "done", "requeue", "unlock", "remove")
MARGIN = timedelta(seconds=2)
PAGE = 500
WATCH_CAP = 10_000


@dataclass(slots=True)
class RowState:
    attempts: int
    locked_at: Any
    locked_by: str | None
    failed_at: Any
    run_at: Any
    queue: str | None = None
    job_class: str | None = None
    args: list[Any] | None = None


class DJPoller:
    """One follower's state: marks, the watched rows, and the per-poll queries."""

    def __init__(self, b: DelayedJobBackend, *, max_pages: int = 20, watch_cap: int = WATCH_CAP,
                 notice: Callable[[str], None] | None = None) -> None:
        self.b = b
        self.notice = notice or (lambda m: print(f"jobctl: {m}", file=sys.stderr, flush=True))
        self.t = b.dj
        self.max_pages = max_pages
        self.watch_cap = watch_cap
        self.watch: dict[int, RowState] = {}
        self.capped_note = False
        self.max_id = 0
        self.since: datetime = utcnow()
        self._change_after = 0  # id paging inside one (unfinished) changed-rows scan

    # ------------------------------------------------------------------ queries
    def _cols(self) -> list[Any]:
        cols = list(self.b.list_columns())
        if self.t.has("updated_at"):
            cols.append(self.t.table.c.updated_at.label("updated_at"))
        return cols

    def start(self) -> None:
        """Marks at 'now'; watch the rows locked right now (so their end shows as done)."""
        from sqlalchemy import and_, func, select

        c = self.t.table.c
        self.since = self.b.now()
        with self.b.read() as conn:
            self.max_id = int(conn.execute(select(func.max(c.id))).scalar() or 0)
            rows = conn.execute(select(*self._cols()).where(and_(c.locked_at.is_not(None), c.failed_at.is_(None)))
                                .order_by(c.id.desc()).limit(self.watch_cap)).all()
            for r in rows:
                self._remember(conn, r)

    def poll(self) -> list[Event]:
        from sqlalchemy import and_, or_, select

        b, c = self.b, self.t.table.c
        now = b.now()
        lo = b.db_time(self.since - MARGIN)
        out: list[Event] = []
        with b.read() as conn:
            for _ in range(self.max_pages):  # 1. new rows
                rows = conn.execute(select(*self._cols()).where(c.id > self.max_id).order_by(c.id).limit(PAGE)).all()
                for r in rows:
                    self.max_id = max(self.max_id, int(r.id))
                    job = self._remember(conn, r)
                    out.append(self._event("enqueue", r.created_at or r.run_at, r, job,
                                           self._scheduled_note(r)))
                    if r.locked_at is not None and r.failed_at is None:
                        out.append(self._event("start", r.locked_at, r, job, f"attempt {(r.attempts or 0) + 1}"))
                if len(rows) < PAGE:
                    break
            changed = [c.locked_at > lo, c.failed_at > lo, and_(c.run_at > lo, c.run_at <= b.db_time(now))]
            if self.t.has("updated_at"):
                changed.append(c.updated_at > lo)
            finished = False
            for _ in range(self.max_pages):  # 2. changed rows (old ones; new ones were read above)
                q = select(*self._cols()).where(or_(*changed), c.id <= self.max_id, c.id > self._change_after)
                rows = conn.execute(q.order_by(c.id).limit(PAGE)).all()
                for r in rows:
                    self._change_after = int(r.id)
                    self._compare(conn, r, out, first_sight_ok=True)
                if len(rows) < PAGE:
                    finished = True
                    break
            self._reread(conn, out)  # 3. watched rows
        if finished:
            self._change_after = 0
            self.since = now
        return out

    def _reread(self, conn: Any, out: list[Event]) -> None:
        from sqlalchemy import select

        c = self.t.table.c
        ids = list(self.watch)
        light = [c.id.label("id"), self.t.int_col("attempts").label("attempts"), c.locked_at.label("locked_at"),
                 self.t.col("locked_by").label("locked_by"), c.failed_at.label("failed_at"),
                 c.run_at.label("run_at")]
        if self.t.has("last_error"):
            from sqlalchemy import func

            light.append(func.substr(c.last_error, 1, 300).label("error_head"))
        for i in range(0, len(ids), PAGE):
            chunk = ids[i:i + PAGE]
            seen = {int(r.id): r for r in conn.execute(select(*light).where(c.id.in_(chunk))).all()}
            for rid in chunk:
                r = seen.get(rid)
                if r is None:
                    st = self.watch.pop(rid)
                    kind = "remove" if st.failed_at is not None else "done"
                    detail = "failed row deleted" if kind == "remove" else self._done_note(st)
                    out.append(Event(ts=utcnow(), kind=kind, queue=st.queue, job_class=st.job_class, args=st.args,
                                     key=f"{self.t.label()}#{rid}", detail=detail, worker=st.locked_by))
                else:
                    self._compare(conn, r, out, first_sight_ok=False)

    # ------------------------------------------------------------------ state changes
    def _remember(self, conn: Any, r: Any) -> Any:
        job = self.b.reader.job(conn, r, now=self.b.now(), stale_before=self.b.stale_before())
        if len(self.watch) >= self.watch_cap:
            self.watch.pop(next(iter(self.watch)))
            if not self.capped_note:
                self.capped_note = True
                self.notice(f"note: watching at most {self.watch_cap} rows; older ones are no longer "
                            "followed to their end")
        self.watch[int(r.id)] = RowState(int(r.attempts or 0), r.locked_at, r.locked_by, r.failed_at, r.run_at,
                                         job.queue, job.job_class, job.args)
        return job

    def _compare(self, conn: Any, r: Any, out: list[Event], *, first_sight_ok: bool) -> None:
        rid = int(r.id)
        st = self.watch.get(rid)
        if st is None:
            if not first_sight_ok:
                return
            job = self._remember(conn, r)
            st = RowState(-1, None, None, None, None, job.queue, job.job_class, job.args)
            prev_known = False
        else:
            prev_known = True
        attempts = int(r.attempts or 0)
        err = _first_line(getattr(r, "error_head", None))
        ev: list[tuple[str, Any, str | None]] = []
        if r.failed_at is not None and r.failed_at != st.failed_at:
            ev.append(("fail", r.failed_at, f"after {attempts} attempts: {err}" if err else f"after {attempts} attempts"))
        elif r.failed_at is None and st.failed_at is not None:
            ev.append(("requeue", None, "failed_at cleared"))
        elif not prev_known and r.failed_at is None and r.locked_at is None and attempts == 0 and err:
            ev.append(("requeue", r.run_at, "due again with attempts reset (requeued)"))
        if r.failed_at is None:
            if r.locked_at is not None and r.locked_at != st.locked_at:
                ev.append(("start", r.locked_at, f"attempt {attempts + 1}"))
            elif prev_known and attempts > st.attempts >= 0 and r.locked_at is None:
                ev.append(("retry", None, f"attempt {attempts} failed: {err or '?'}; next run {self._fmt(r.run_at)}"))
            elif prev_known and r.locked_at is None and st.locked_at is not None and attempts == st.attempts:
                ev.append(("unlock", None, "lock cleared"))
            elif not prev_known and attempts > 0 and r.locked_at is None and err:
                ev.append(("retry", None, f"attempt {attempts} failed: {err}; next run {self._fmt(r.run_at)}"))
        locker = st.locked_by
        st.attempts, st.locked_at, st.locked_by, st.failed_at, st.run_at = (
            attempts, r.locked_at, r.locked_by, r.failed_at, r.run_at)
        for kind, ts, detail in ev:
            out.append(Event(ts=(self.b.codec.from_db(ts) if ts is not None else None) or utcnow(), kind=kind, queue=st.queue,
                             job_class=st.job_class, args=st.args, key=f"{self.t.label()}#{rid}", detail=detail,
                             worker=r.locked_by or locker))

    # ------------------------------------------------------------------ helpers
    def _event(self, kind: str, ts: Any, r: Any, job: Any, detail: str | None) -> Event:
        return Event(ts=self.b.codec.from_db(ts) or utcnow(), kind=kind, queue=job.queue, job_class=job.job_class,
                     args=job.args, key=f"{self.t.label()}#{r.id}", detail=detail, worker=r.locked_by)

    def _fmt(self, raw: Any) -> str:
        dt = self.b.codec.from_db(raw)
        return dt.isoformat().replace("+00:00", "Z") if dt else "?"

    def _scheduled_note(self, r: Any) -> str | None:
        run_at = self.b.codec.from_db(r.run_at)
        if run_at is not None and run_at > self.b.now() + timedelta(seconds=1):
            return f"scheduled for {self._fmt(r.run_at)}"
        return None

    def _done_note(self, st: RowState) -> str:
        started = self.b.codec.from_db(st.locked_at)
        if started is None:
            return "row deleted (finished between polls)"
        return f"row deleted after {(utcnow() - started).total_seconds():.1f} s (finished; or destroyed after a last failure)"


def _first_line(text: Any) -> str | None:
    if not text:
        return None
    s = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return s.split("\n", 1)[0][:200] or None


def follow(backend: DelayedJobBackend, **kwargs: Any) -> Iterator[Event]:
    """Events from polling (the Backend protocol's `follow`). Keywords: `interval` (s, default 1),
    `stop` (callable; end when it returns True), `max_pages`, `watch_cap`, `notice` (one-line notes)."""
    interval = float(kwargs.get("interval") or 1.0)
    stop: Callable[[], bool] | None = kwargs.get("stop")
    poller = DJPoller(backend, max_pages=int(kwargs.get("max_pages") or 20),
                      watch_cap=int(kwargs.get("watch_cap") or WATCH_CAP), notice=kwargs.get("notice"))
    poller.start()
    poller.notice(f"following {backend.target.label()} by polling every {interval:g} s "
                  f"(Delayed Job has no event stream; watching {len(poller.watch)} running jobs)")
    while True:
        t0 = time.monotonic()
        yield from poller.poll()
        while time.monotonic() - t0 < interval:
            if stop is not None and stop():
                return
            time.sleep(min(0.1, max(0.0, interval - (time.monotonic() - t0))))
        if stop is not None and stop():
            return
