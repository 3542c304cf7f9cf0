"""Measure one rule's metric through the Backend protocol (read-only calls only).

Every metric uses only `failures` / `count_failures` / `queues` / `workers`, so the same rule
works on Resque and Delayed Job. Nothing here writes to the queue store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from jobctl.alert.rules import DEFAULT_MAX_RUN_TIME
from jobctl.model import Failure, Queue, Worker
from jobctl.safe import visible
from jobctl.timeutil import format_age

if TYPE_CHECKING:
    from jobctl.alert.rules import Rule
    from jobctl.backends.base import Backend

RECORD_NOT_FOUND = "ActiveRecord::RecordNotFound"
# Delayed Job writes only the message into last_error, so the class is recognised from the text:
#   Delayed::DeserializationError: "ActiveRecord::RecordNotFound, class: User, primary key: 9 (…)"
#   ActiveJob::DeserializationError: "Error while trying to deserialize arguments: Couldn't find User …"
#   a RecordNotFound raised in perform: Rails' own message "Couldn't find User with 'id'=9"
# Matching Rails' message text is a heuristic (a guess about other exceptions' wording).
_RNF_TEXT = re.compile(
    r"ActiveRecord::RecordNotFound\b"
    r"|^(?:Error while trying to deserialize arguments: )?Couldn't find (?:all )?[A-Z]\w*(?:::\w+)* with "
)
RECORD_NOT_FOUND_HINT = (
    "RecordNotFound usually means the job was enqueued inside a database transaction and a worker "
    "ran it before the transaction committed (or the record was deleted meanwhile). Fix: enqueue "
    "after commit - an after_commit / after_create_commit callback, or ActiveJob's "
    "enqueue_after_transaction_commit (Rails 7.2+); discard such jobs once the record is really gone."
)


def is_record_not_found(f: Failure) -> bool:
    """True for ActiveRecord::RecordNotFound, also when wrapped in a DeserializationError."""
    if (f.exception or "") == RECORD_NOT_FOUND:
        return True
    text = f.error if f.error is not None else (f.error_full or "")
    first = text.split("\n", 1)[0]
    return bool(_RNF_TEXT.search(first))


@dataclass(slots=True)
class Measurement:
    value: float | None  # None = cannot be measured (e.g. latency of plain Resque payloads)
    count: int | None = None  # raw count behind a rate
    capped: bool = False  # the count stopped at the scan cap: value is a lower bound
    samples: list[Failure] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # extra output lines, already safe to print
    note: str | None = None  # why the value is unknown


def measure(rule: Rule, backend: Backend, now: datetime, *, cap: int, scan_limit: int) -> Measurement:
    """`cap` bounds counts; `scan_limit` bounds scans that must read each failure (record-not-found)."""
    m = rule.metric
    if m in ("failed", "failure-rate"):
        return _failed(rule, backend, now, cap=cap)
    if m == "record-not-found":
        return _record_not_found(rule, backend, now, cap=scan_limit)
    if m in ("size", "latency"):
        return _queue_metric(rule, backend.queues())
    if m == "stuck":
        return _stuck(rule, backend)
    if m == "stale-workers":
        return _stale_workers(rule, backend.workers())
    raise ValueError(f"unknown metric {m!r}")


def _failed(rule: Rule, backend: Backend, now: datetime, *, cap: int) -> Measurement:
    flt = rule.failure_filter(now)
    count, capped = backend.count_failures(flt, cap=cap)
    samples: list[Failure] = []
    if rule.samples and count:
        it = backend.failures(rule.failure_filter(now, limit=rule.samples), newest_first=True)
        try:
            samples = list(islice(it, rule.samples))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
    if rule.metric == "failure-rate":
        window = rule.effective_window()
        assert window is not None
        minutes = window.total_seconds() / 60
        return Measurement(value=count / minutes, count=count, capped=capped, samples=samples)
    return Measurement(value=float(count), count=count, capped=capped, samples=samples)


def _record_not_found(rule: Rule, backend: Backend, now: datetime, *, cap: int) -> Measurement:
    count = seen = 0
    samples: list[Failure] = []
    it = backend.failures(rule.failure_filter(now), newest_first=True, scan_limit=cap)
    try:
        for f in it:
            seen += 1
            if is_record_not_found(f):
                count += 1
                if len(samples) < rule.samples:
                    samples.append(f)
            if seen >= cap:
                break
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    return Measurement(value=float(count), count=count, capped=seen >= cap, samples=samples)


def _selected(rule: Rule, queues: list[Queue]) -> tuple[list[Queue], list[str]]:
    if not rule.queues:
        return queues, []
    by_name = {q.name: q for q in queues}
    missing = [n for n in rule.queues if n not in by_name]
    return [by_name[n] for n in rule.queues if n in by_name], missing


def _queue_metric(rule: Rule, queues: list[Queue]) -> Measurement:
    chosen, missing = _selected(rule, queues)
    details = [f"queue {visible(n)} not found (counted as empty)" for n in missing]
    if rule.metric == "size":
        total = sum(q.size for q in chosen)
        details += [f"{visible(q.name)}: {q.size} waiting" for q in chosen if len(chosen) > 1 and q.size]
        return Measurement(value=float(total), count=total, details=details)
    busy = [q for q in chosen if q.size > 0]
    known = [q for q in busy if q.latency_s is not None]
    unknown = [q for q in busy if q.latency_s is None]
    if unknown:
        details.append("latency unknown for " + ", ".join(visible(q.name) for q in unknown)
                       + " (jobs carry no enqueue time, e.g. plain Resque payloads; never guessed)")
    if busy and not known:
        return Measurement(value=None, details=details, note="the waiting jobs carry no enqueue time")
    worst = max((q.latency_s or 0.0 for q in known), default=0.0)
    details += [f"{visible(q.name)}: oldest waiting {format_age(q.latency_s)}" for q in known if len(known) > 1]
    return Measurement(value=float(worst), details=details)


def _worker_in_scope(rule: Rule, w: Worker) -> bool:
    if not rule.queues:
        return True
    return bool(set(rule.queues) & set(w.queues)) or (w.job_queue in rule.queues) or "*" in w.queues


def _worker_line(w: Worker) -> str:
    parts = [f"worker {visible(w.id)} {w.state}"]
    if w.job_class:
        parts.append(f"job {visible(w.job_class)} from {visible(w.job_queue or '?')}")
    if w.running_for_s is not None:
        parts.append(f"running {format_age(w.running_for_s)}")
    if w.heartbeat_at is not None:
        parts.append(f"heartbeat {w.heartbeat_at.isoformat().replace('+00:00', 'Z')}")
    if w.stuck_jobs:
        parts.append(f"{w.stuck_jobs} stuck job(s)")
    return ", ".join(parts)


def _stuck(rule: Rule, backend: Backend) -> Measurement:
    queues = backend.queues()
    chosen, _missing = _selected(rule, queues)
    if any(q.stuck is not None for q in queues):
        # Delayed Job: the backend counts locks older than the target's max_run_time per queue
        total = sum(q.stuck or 0 for q in chosen)
        details = [f"{visible(q.name)}: {q.stuck} stuck" for q in chosen if q.stuck]
        workers = [w for w in backend.workers() if w.stuck_jobs and _worker_in_scope(rule, w)]
        details += [_worker_line(w) for w in workers[:10]]
        return Measurement(value=float(total), count=total, details=details)
    limit = (rule.max_run_time or DEFAULT_MAX_RUN_TIME).total_seconds()
    stuck = [
        w for w in backend.workers()
        if _worker_in_scope(rule, w) and (w.job_class is not None or w.state == "working")
        and (w.state == "stale" or (w.running_for_s is not None and w.running_for_s > limit))
    ]
    return Measurement(value=float(len(stuck)), count=len(stuck), details=[_worker_line(w) for w in stuck[:10]])


def _stale_workers(rule: Rule, workers: list[Worker]) -> Measurement:
    stale = [w for w in workers if w.state == "stale" and _worker_in_scope(rule, w)]
    return Measurement(value=float(len(stale)), count=len(stale), details=[_worker_line(w) for w in stale[:10]])
