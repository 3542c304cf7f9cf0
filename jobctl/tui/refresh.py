"""One refresh tick of `jobctl top`: backend reads -> an immutable `Snapshot` (no Textual here).

The app runs `Poller.tick()` in a thread worker (backends are synchronous) and arms the next tick
only after this one returned, so polls never overlap. Every backend call goes through
`Poller.lock`, which the drill-down views share, so one connection is never used by two threads.

Per tick, bounded whatever the data size:
* queue sizes and head latency — Resque: `resque_sizes.fast_queue_sizes`, SMEMBERS + one
  pipelined round trip (TIME, LLEN and LINDEX 0 for every queue); the full `backend.queues()`
  (stray lists, failures per queue, which reads up to 100,000 failure records) runs at start,
  every `full_listing_every_s`, after a reconnect or mutation and together with a failure rescan.
  Delayed Job: `backend.queues()` (grouped SQL) every tick;
* `workers()`, `count_failures()` (Resque: LLEN; Delayed Job: one COUNT) and the lifetime
  counters (`counters.read_counters`, one pipelined GET on Resque). `stats()` is not called: it
  would repeat the queue and worker reads. `ping()` runs at start and after a failed tick.
Failures are re-grouped (newest first, at most `failure_scan_limit`) when the stored count changed
(at most every `failure_rescan_min_s`), after a mutation, and every `failure_rescan_every_s`:
that is the expensive read, and re-reading an unchanged list every two seconds buys nothing.

A tick that fails (server gone, timeout, any driver error) does not raise: it returns the last
good data with `error` set, and the next tick simply tries again (redis-py and SQLAlchemy both
reconnect on the next call), so the screen recovers by itself.

Monitoring never writes: only read methods of the Backend protocol are called here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice

from jobctl.backends.base import Backend
from jobctl.errors import TargetUnreachable
from jobctl.model import Queue, Stats, Worker
from jobctl.safe import mask_secrets_in, visible
from jobctl.timeutil import utcnow
from jobctl.tui.counters import read_counters
from jobctl.tui.failgroups import FailureGroup, failures_per_queue, group_with_ids
from jobctl.tui.resque_sizes import fast_queue_sizes, supports_fast_sizes
from jobctl.tui.sampling import History, RateTracker, split_net_rate

HISTORY = 30


@dataclass(slots=True, frozen=True)
class QueueRow:
    """A queue plus what sampling adds: net rates, failures seen, size history."""

    queue: Queue
    enqueue_rate: float | None
    dequeue_rate: float | None
    failed: int | None
    failed_capped: bool
    history: tuple[float | None, ...]


@dataclass(slots=True, frozen=True)
class Snapshot:
    seq: int
    taken_at: datetime
    duration_s: float
    queues: tuple[QueueRow, ...] = ()
    workers: tuple[Worker, ...] = ()
    stats: Stats | None = None
    groups: tuple[FailureGroup, ...] = ()
    failures_scanned: int = 0
    failures_total: int | None = None
    failures_capped: bool = False
    processed_rate: float | None = None
    failed_rate: float | None = None
    processed_history: tuple[float | None, ...] = ()
    failed_history: tuple[float | None, ...] = ()
    server_version: str | None = None
    error: str | None = None  # set when this tick failed; the data is then the last good data
    disconnected: bool = False

    @property
    def pending(self) -> int:
        if self.stats is not None:
            return self.stats.pending
        return sum(r.queue.size for r in self.queues)


def describe_error(exc: BaseException) -> tuple[str, bool]:
    """(one safe line, is-a-connection-problem) for a failed tick."""
    text = visible(mask_secrets_in(str(exc) or type(exc).__name__, []), max_len=200)
    name = type(exc).__name__
    conn = isinstance(exc, (TargetUnreachable, ConnectionError, TimeoutError, OSError)) or any(
        s in name for s in ("Connection", "Timeout", "OperationalError", "Interface", "Busy")
    )
    return f"{name}: {text}" if name not in text else text, conn


@dataclass
class PollerConfig:
    failure_scan_limit: int = 5_000
    failure_rescan_min_s: float = 10.0  # a changed failure count re-groups at most this often
    failure_rescan_every_s: float = 60.0  # and at least this often (same-count replacements)
    full_listing_every_s: float = 30.0  # Resque: full backend.queues() (strays, failed per queue)
    failure_count_cap: int = 1_000_000


@dataclass
class Poller:
    """Holds sampling state between ticks; `tick()` is safe to call from a worker thread."""

    backend: Backend
    config: PollerConfig = field(default_factory=PollerConfig)
    monotonic: Callable[[], float] = time.monotonic
    clock: Callable[[], datetime] = utcnow
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self._seq = 0
        self._rates = RateTracker()
        self._sizes: dict[str, History] = {}
        self._processed_hist = History(HISTORY)
        self._failed_hist = History(HISTORY)
        self._last: Snapshot | None = None
        self._groups: tuple[FailureGroup, ...] = ()
        self._scanned = 0
        self._scan_capped = False
        self._last_failed_total: int | None = None
        self._last_scan_at: float | None = None
        self._force_failures = True
        self._last_full_at: float | None = None
        self._strays: list[str] = []
        self._failed_by_queue: dict[str, tuple[int | None, bool]] = {}
        self._server_version: str | None = None
        self._need_ping = True

    # ------------------------------------------------------------------ public
    @property
    def last(self) -> Snapshot | None:
        return self._last

    def invalidate_failures(self) -> None:
        """Re-scan failures and re-list queues fully on the next tick (after a requeue/discard)."""
        self._force_failures = True
        self._last_full_at = None

    def tick(self) -> Snapshot:
        self._seq += 1
        t0 = self.monotonic()
        try:
            with self.lock:
                snap = self._read(t0)
        except Exception as exc:  # noqa: BLE001 - a failed tick must never take the screen down
            message, conn = describe_error(exc)
            self._need_ping = True
            base = self._last or Snapshot(seq=0, taken_at=self.clock(), duration_s=0.0)
            snap = replace(base, seq=self._seq, duration_s=self.monotonic() - t0, error=message,
                           disconnected=conn)
            self._last = snap
            return snap
        self._last = snap
        return snap

    # ------------------------------------------------------------------ reading
    def _read(self, t0: float) -> Snapshot:
        b = self.backend
        if self._need_ping:
            self._server_version = self.backend.ping().server_version
            self._last_full_at = None  # reconnected: list everything again
        failures_total, total_capped = b.count_failures(None, cap=self.config.failure_count_cap)
        rescan = self._rescan_due(failures_total, t0)
        queues = self._list_queues(t0, full=rescan)
        workers = b.workers()
        counters = read_counters(b)
        at = self.monotonic()
        stats = Stats(backend=b.kind, pending=sum(q.size for q in queues), queues=len(queues),
                      workers=len(workers), working=sum(1 for w in workers if w.state == "working"),
                      processed=counters.processed, failed_counter=counters.failed,
                      failed_stored=failures_total, failed_stored_capped=total_capped)
        if rescan:
            self._rescan(failures_total, t0)
        self._need_ping = False

        per_queue_failed = failures_per_queue(self._groups)
        names = [q.name for q in queues]
        rows = []
        for q in queues:
            hist = self._sizes.get(q.name)
            if hist is None:
                hist = self._sizes[q.name] = History(HISTORY)
            hist.add(float(q.size))
            enq, deq = split_net_rate(self._rates.sample(("size", q.name), float(q.size), at, signed=True))
            if q.failed is not None:
                failed, capped = q.failed, q.failed_capped
            else:
                failed, capped = per_queue_failed.get(q.name, 0), self._scan_capped
            rows.append(QueueRow(queue=q, enqueue_rate=enq, dequeue_rate=deq, failed=failed,
                                 failed_capped=capped, history=hist.values()))
        present = set(names)
        for gone in [n for n in self._sizes if n not in present]:
            del self._sizes[gone]
        self._rates.forget_except([("size", n) for n in names] + ["processed", "failed"])

        processed_rate = self._rates.sample("processed", _num(counters.processed), at)
        failed_source = counters.failed if counters.failed is not None else failures_total
        failed_rate = self._rates.sample("failed", _num(failed_source), at)
        self._processed_hist.add(processed_rate)
        self._failed_hist.add(failed_rate)
        return Snapshot(
            seq=self._seq, taken_at=self.clock(), duration_s=self.monotonic() - t0,
            queues=tuple(rows), workers=tuple(workers), stats=stats, groups=self._groups,
            failures_scanned=self._scanned, failures_total=failures_total,
            failures_capped=self._scan_capped or total_capped,
            processed_rate=processed_rate, failed_rate=failed_rate,
            processed_history=self._processed_hist.values(), failed_history=self._failed_hist.values(),
            server_version=self._server_version,
        )

    def _list_queues(self, now: float, *, full: bool) -> list[Queue]:
        """Full `backend.queues()` when due, else (Resque) sizes in one pipelined round trip."""
        due = (full or self._last_full_at is None or not supports_fast_sizes(self.backend)
               or now - self._last_full_at >= self.config.full_listing_every_s)
        if due:
            queues = self.backend.queues()
            self._strays = [q.name for q in queues if not q.registered]
            self._failed_by_queue = {q.name: (q.failed, q.failed_capped) for q in queues}
            self._last_full_at = now
            return queues
        queues = fast_queue_sizes(self.backend, self._strays)
        for q in queues:
            q.failed, q.failed_capped = self._failed_by_queue.get(q.name, (None, False))
        return queues

    def _rescan_due(self, total: int | None, now: float) -> bool:
        if self._force_failures or self._last_scan_at is None:
            return True
        since = now - self._last_scan_at
        if total != self._last_failed_total and since >= self.config.failure_rescan_min_s:
            return True
        return since >= self.config.failure_rescan_every_s

    def _rescan(self, total: int | None, now: float) -> None:
        limit = self.config.failure_scan_limit
        newest = self.backend.failures(None, newest_first=True, scan_limit=limit)
        try:
            groups, scanned = group_with_ids(islice(newest, limit))
        finally:
            close = getattr(newest, "close", None)
            if close is not None:
                close()
        self._groups = tuple(groups)
        self._scanned = scanned
        self._scan_capped = total is not None and scanned < total
        self._last_failed_total = total
        self._last_scan_at = now
        self._force_failures = False

def _num(v: int | float | None) -> float | None:
    return None if v is None else float(v)

