"""Resque requeue / discard: act on exactly the failures a FailureFilter selects, atomically.

* **move** (default requeue): push the exact stored payload bytes (the byte range of "payload" in
  the failure record, never re-encoded) to the tail of `<ns>:queue:<q>` (+ SADD `<ns>:queues`) and
  remove the failure record;
* **keep** (`--keep`, Resque's own `Failure.requeue`): push the payload and stamp `retried_at` in
  Resque's format, leaving the record in the list;
* **discard**: remove the record (with `--retried`: Resque's `clear_retried`).

Every batch is one call of requeue.lua, which verifies that each entry still holds the bytes read
at the index read before it acts (walk.py explains the walk and the re-location of moved
entries). A run is bounded to the lists' contents at its snapshot: failures appended meanwhile
are never touched. Interrupted runs leave every entry either still failed or requeued once;
rerunning the same command selects what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jobctl.backends.base import MutationInterrupted, Progress
from jobctl.backends.resque import failures as failures_mod
from jobctl.backends.resque.script import Entry, MoveScript
from jobctl.backends.resque.stall import StallGuard, max_stall_ms
from jobctl.backends.resque.walk import ListSnap, Walker
from jobctl.backends.resque.write_select import (
    SAMPLE,
    limit_across_lists,
    selector,
    since_stop,
    uses_light_path,
)
from jobctl.errors import TargetUnreachable, Unsupported, UsageError
from jobctl.model import FailureFilter, MutationResult
from jobctl.timeutil import utcnow

if TYPE_CHECKING:
    from jobctl.backends.resque.backend import ResqueBackend

RECONNECT_FOR_S = 30.0  # how long a run waits for Redis to come back after a connection loss
MAX_SKIPPED_LISTED = 1000  # skipped entries listed in the result (all are counted)


# ---------------------------------------------------------------------------- snapshot


def take_snapshot(backend: ResqueBackend, flt: FailureFilter) -> list[ListSnap]:
    """Length and newest entry of every failure list the filter can touch, in one MULTI/EXEC."""
    lists = failures_mod.failure_lists(backend)
    if flt.queues:
        lists = [(k, q) for k, q in lists if q is None or q in flt.queues]
    if not lists:
        return []
    pipe = backend.redis.pipeline(transaction=True)
    for key, _ in lists:
        pipe.llen(key)
        pipe.lindex(key, -1)
    res = pipe.execute()
    return [ListSnap(key=key, queue=q, length=int(res[2 * i]), last=res[2 * i + 1])
            for i, (key, q) in enumerate(lists)]


# ---------------------------------------------------------------------------- public API


def requeue(backend: ResqueBackend, filter: FailureFilter, *, to_queue: str | None = None, keep: bool = False,
            clear_error: bool = False, dry_run: bool = False, progress: Progress | None = None,
            snapshot: list[ListSnap] | None = None, max_stall_ms: float | None = None) -> MutationResult:
    if clear_error:
        raise Unsupported("--clear-error applies to Delayed Job only (a Resque failure record is removed "
                          "on requeue, or kept as it is with --keep)")
    if to_queue is not None and not to_queue.strip():
        raise UsageError("--to-queue needs a queue name")
    mode = "keep" if keep else "move"
    return _run(backend, filter, "requeue", mode, to_queue, dry_run, progress, snapshot, max_stall_ms)


def discard(backend: ResqueBackend, filter: FailureFilter, *, dry_run: bool = False,
            progress: Progress | None = None, snapshot: list[ListSnap] | None = None,
            max_stall_ms: float | None = None) -> MutationResult:
    return _run(backend, filter, "discard", "discard", None, dry_run, progress, snapshot, max_stall_ms)


def unlock_stuck(backend: ResqueBackend, **_: Any) -> MutationResult:
    raise Unsupported("unlock is for Delayed Job locks; Resque has no job locks (a dead worker's job is "
                      "turned into a DirtyExit failure by Resque's worker pruning)")


# ---------------------------------------------------------------------------- the run


def _run(backend: ResqueBackend, flt: FailureFilter, action: str, mode: str, to_queue: str | None,
         dry_run: bool, progress: Progress | None, snap: list[ListSnap] | None,
         max_stall: float | None = None) -> MutationResult:
    limit_ms = max_stall_ms(backend.target, max_stall)  # stall.py: removals deep inside long lists
    if not dry_run:
        from jobctl.backends.base import require_writable

        require_writable(backend.target, action)
    snap = take_snapshot(backend, flt) if snap is None else snap
    acc = _Accumulator(action, dry_run, flt.limit)
    total = sum(s.length for s in snap)
    scanned = [0]

    def on_scanned(n: int) -> None:
        scanned[0] += n
        if progress is not None:
            progress(min(scanned[0], total), total)

    wanted = limit_across_lists(backend, flt, snap)
    client = backend.redis if dry_run else _write_client(backend)
    call = _caller(backend)
    script = None if dry_run else MoveScript(client, backend.keys.namespace)
    stamp_now = utcnow()
    try:
        for ls in snap:
            if acc.full():
                break
            chosen = wanted.get(ls.key, set()) if wanted is not None else None
            select = selector(flt, ls, mode, to_queue, stamp_now, acc, backend, chosen)
            Walker(client, ls, select, script, mode, call, acc, stop=acc.full, on_scanned=on_scanned,
                   stop_at=since_stop(flt), ids=not uses_light_path(flt, chosen),
                   guard=StallGuard(limit_ms, ls.length)).run()
    except KeyboardInterrupt:
        raise MutationInterrupted(acc.interrupted_message()) from None
    finally:
        if client is not backend.redis:
            client.close()
    if progress is not None:
        progress(total, total)
    return acc.result()


def _write_client(backend: ResqueBackend) -> Any:
    """A client of our own without redis-py's automatic retry: after a lost reply we must know
    that the call may have run (the script is safe to resend, but the accounting must know)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from jobctl.backends.resque.connection import connect

    client = connect(backend.target)
    client.set_retry(Retry(NoBackoff(), 0))
    return client


def _caller(backend: ResqueBackend) -> Callable[[Callable[[], Any], bool], tuple[Any, bool]]:
    """Run one round trip; on a connection loss wait for Redis (up to RECONNECT_FOR_S) and resend.

    Returns (result, resent). Resending is safe for every call here: reads are reads, and the
    script verifies each entry before acting, so a resent batch never acts twice.
    """
    import time

    from jobctl.backends.resque.connection import is_connection_error, unreachable_message

    def call(fn: Callable[[], Any], is_write: bool) -> tuple[Any, bool]:
        resent = False
        deadline: float | None = None
        delay = 0.05
        while True:
            try:
                return fn(), resent
            except Exception as e:
                if not is_connection_error(e):
                    raise
                now = time.monotonic()
                deadline = deadline if deadline is not None else now + RECONNECT_FOR_S
                if now >= deadline:
                    raise TargetUnreachable(
                        unreachable_message(backend.target, e) + " — every entry is either still failed or "
                        "requeued once; rerun the same command when Redis is back") from None
                resent = resent or is_write
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    return call


# ---------------------------------------------------------------------------- result


class _Accumulator:
    """Counts and samples with bounded memory, whatever the number of entries."""

    def __init__(self, action: str, dry_run: bool, limit: int | None) -> None:
        self.res = MutationResult(action=action, dry_run=dry_run)
        self.limit = limit
        self.n_selected = 0
        self.notes: list[str] = []
        self.n_uncertain = 0

    def full(self) -> bool:
        return self.limit is not None and self.n_selected >= self.limit

    def wants_sample(self) -> bool:
        return len(self.res.sample) < SAMPLE

    def selected(self, e: Entry, reason: str | None) -> None:
        self.n_selected += 1
        if e.sample is not None and len(self.res.sample) < SAMPLE:
            self.res.sample.append(e.sample)
        if reason is not None:
            self.skipped(e, reason)

    def skipped(self, e: Entry, reason: str) -> None:
        self.res.skipped += 1
        if len(self.res.skipped_entries) < MAX_SKIPPED_LISTED:
            self.res.skipped_entries.append({"id": e.id, "reason": reason, "queue": e.queue, "class": e.job_class})

    def done(self, entries: list[Entry]) -> None:
        counts: dict[tuple[str | None, str], int] = {}
        for e in entries:
            counts[e.queue, e.job_class] = counts.get((e.queue, e.job_class), 0) + 1
        self.done_counts(counts, len(entries))

    def done_counts(self, counts: dict[tuple[str | None, str], int], n: int) -> None:
        """A whole batch done whose per-(queue, class) counts the selector already made."""
        r = self.res
        r.done += n
        by_queue, by_class = r.by_queue, r.by_class
        for (q, klass), c in counts.items():
            q = q or "(none)"
            by_queue[q] = by_queue.get(q, 0) + c
            by_class[klass] = by_class.get(klass, 0) + c

    def note(self, text: str) -> None:
        self.notes.append(text)

    def incomplete(self, text: str) -> None:
        self.notes.append(text)
        self.res.complete = False

    def uncertain(self) -> None:
        self.n_uncertain += 1

    def result(self) -> MutationResult:
        r = self.res
        r.selected = self.n_selected
        if r.dry_run:  # nothing was done; the counts per queue/class say what would be
            r.done = 0
        if self.n_uncertain:
            self.notes.append(f"{self.n_uncertain} entries were counted as done after a lost connection: the "
                              "reply was lost but the entries are gone, which only the atomic script does")
        r.notes = self.notes
        return r

    def interrupted_message(self) -> str:
        return (f"interrupted after {self.res.action} of {self.res.done} entries (of {self.n_selected} selected "
                "so far); every entry is either still failed or done exactly once — rerun the same command "
                "to finish")
