"""The one data model every face of jobctl shares.

Backends return these plain dataclasses; the CLI renders them (table/json/jsonl/csv), the TUI
shows them and alerting evaluates them. Pure data: stdlib only.

Conventions
-----------
* Every datetime is timezone-aware UTC (parse stored forms at the edge, in ``jobctl.parse``).
* Every string that came from a queue is *untrusted*; renderers sanitise it, the model does not.
* ``to_dict()`` gives the stable JSON schema documented in README.md ("Output schema").
  Fields are only ever added, never renamed or removed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

BackendKind = Literal["resque", "delayed_job"]

# Job states (Delayed Job has all of them; a Resque queue entry is always "ready").
JobState = Literal["ready", "scheduled", "running", "stuck", "retrying", "failed", "bad"]
JOB_STATES: tuple[str, ...] = ("ready", "scheduled", "running", "stuck", "retrying", "failed", "bad")

WorkerState = Literal["working", "idle", "stale"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return value


class _Record:
    """Mixin: stable dict form for JSON/CSV output."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclass(slots=True)
class Queue(_Record):
    name: str
    size: int  # jobs waiting (Resque: LLEN; Delayed Job: every unfailed row - ready, scheduled, running, stuck, retrying)
    latency_s: float | None = None  # age of the oldest ready job; None = unknown, never guessed
    failed: int | None = None  # failures attributed to this queue; None = unknown
    failed_capped: bool = False  # True when `failed` is a lower bound (scan hit its cap)
    # Delayed Job breakdown (None on Resque, where a queue entry is always ready).
    ready: int | None = None
    scheduled: int | None = None
    running: int | None = None
    stuck: int | None = None
    retrying: int | None = None
    registered: bool = True  # Resque: listed in <ns>:queues (False = a stray queue:* list)
    capped: bool = False  # Delayed Job: every count is a lower bound (the aggregate hit count_limit)


@dataclass(slots=True)
class Job(_Record):
    """One pending/running job (a Resque queue entry, a Delayed Job row)."""

    id: str  # Resque: "<queue>@<position>"; Delayed Job: the row id as a string
    queue: str | None
    position: int | None  # 0 = next a worker would take
    job_class: str  # the class to filter on (ActiveJob's job_class, "Mailer#method", "User#send_x")
    name: str  # display name (Delayed Job: exactly DJ's own `name`; Resque: class + " (via ActiveJob)")
    args: list[Any] = field(default_factory=list)
    state: str = "ready"
    wrapper: str | None = None  # e.g. "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"
    job_id: str | None = None  # ActiveJob job_id
    enqueued_at: datetime | None = None
    run_at: datetime | None = None
    created_at: datetime | None = None
    attempts: int | None = None  # DJ attempts / ActiveJob executions
    priority: int | None = None
    locked_by: str | None = None
    locked_at: datetime | None = None
    last_error: str | None = None
    size: int = 0  # bytes of the stored payload/handler
    parse_error: str | None = None  # set when the entry could not be parsed ("bad" row)
    raw: str | None = None  # exact stored text (peek --raw / show) or a preview for bad rows
    extra: dict[str, Any] = field(default_factory=dict)  # unknown top-level keys, plugin data


@dataclass(slots=True)
class Failure(_Record):
    """One failed job (a Resque failure entry, a Delayed Job row with failed_at)."""

    id: str  # stable: never shifts when other entries are removed
    failed_at: datetime | None
    queue: str | None
    job_class: str
    name: str
    exception: str | None
    error: str | None  # first line of the message
    args: list[Any] = field(default_factory=list)
    error_full: str | None = None  # whole message (multi-line)
    backtrace: list[str] = field(default_factory=list)
    worker: str | None = None
    retried_at: datetime | None = None
    attempts: int | None = None
    job_id: str | None = None
    location: str | None = None  # Resque: "<key>[<index>]"; Delayed Job: "<table>#<id>"
    size: int = 0
    parse_error: str | None = None
    raw: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Worker(_Record):
    id: str
    host: str | None
    pid: int | None
    queues: list[str] = field(default_factory=list)
    state: str = "idle"  # working | idle | stale
    job_class: str | None = None
    job_queue: str | None = None
    job_started_at: datetime | None = None
    running_for_s: float | None = None
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None
    processed: int | None = None
    failed: int | None = None
    jobs_held: int | None = None  # Delayed Job: rows locked by this worker
    stuck_jobs: int | None = None  # Delayed Job: of those, locked longer than max_run_time


@dataclass(slots=True)
class Stats(_Record):
    backend: str
    pending: int
    queues: int
    workers: int
    working: int
    processed: int | None = None  # lifetime counter (Resque stat:processed); None on Delayed Job
    failed_counter: int | None = None  # Resque stat:failed
    failed_stored: int | None = None  # failures actually stored (differs from the counter!)
    failed_stored_capped: bool = False
    scheduled: int | None = None
    retrying: int | None = None
    stuck: int | None = None
    server: dict[str, Any] = field(default_factory=dict)  # version, memory, clients …
    ready: int | None = None  # Delayed Job: due, never attempted, unlocked
    running: int | None = None  # Delayed Job: locked within max_run_time


@dataclass(slots=True)
class PingResult(_Record):
    url: str  # masked
    backend: str
    server_version: str | None
    latency_ms: float
    format_detected: bool
    detail: str


@dataclass(slots=True)
class Event(_Record):
    """One decoded `tail` event (MONITOR line or Delayed Job poll difference)."""

    ts: datetime
    kind: str  # enqueue reserve start done fail requeue remove worker-start worker-stop heartbeat
    #            scheduled queue-removed retry lock other
    client: str | None = None
    db: int | None = None
    queue: str | None = None
    job_class: str | None = None
    args: list[Any] | None = None
    key: str | None = None
    command: str | None = None
    detail: str | None = None  # e.g. exception + error for `fail`
    worker: str | None = None
    raw: str | None = None


@dataclass(slots=True)
class MutationResult(_Record):
    """What a requeue/discard/unlock did (or would do, for --dry-run)."""

    action: str
    dry_run: bool
    selected: int = 0
    done: int = 0
    skipped: int = 0
    by_queue: dict[str, int] = field(default_factory=dict)
    by_class: dict[str, int] = field(default_factory=dict)
    skipped_entries: list[dict[str, Any]] = field(default_factory=list)  # {"id","reason"}
    sample: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "stopped early: rerun to finish"
    complete: bool = True  # False when the run stopped before examining everything (rerun to finish)


# --------------------------------------------------------------------------- filters


@dataclass(slots=True)
class FailureFilter:
    """One filter object shared by `failed`, `requeue`, `discard`, `alert` and the TUI.

    Because every path selects with `matches()`, `failed --class X` and `requeue --class X` select
    the same set by construction. Backends may pre-filter (SQL WHERE, cheap byte checks) but must
    apply `matches()` before acting.
    """

    queues: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # exact match on job_class or name, or a glob with * / ?
    exceptions: tuple[str, ...] = ()
    error: str | None = None  # regex searched in the full error message
    since: datetime | None = None
    until: datetime | None = None
    retried: bool | None = None  # True = only retried, False = only not retried
    ids: tuple[str, ...] = ()
    limit: int | None = None

    def is_empty(self) -> bool:
        return not (
            self.queues or self.classes or self.exceptions or self.error or self.since or self.until
            or self.retried is not None or self.ids
        )

    def matches(self, f: Failure) -> bool:
        if self.ids and f.id not in self.ids:
            return False
        if self.queues and (f.queue or "") not in self.queues:
            return False
        if self.classes and not _match_any(self.classes, (f.job_class, f.name)):
            return False
        if self.exceptions and not _match_any(self.exceptions, (f.exception or "",)):
            return False
        if self.error is not None:
            text = f.error_full if f.error_full is not None else (f.error or "")
            if not _regex(self.error).search(text):
                return False
        if self.since is not None and (f.failed_at is None or f.failed_at < self.since):
            return False
        if self.until is not None and (f.failed_at is None or f.failed_at > self.until):
            return False
        if self.retried is not None and (f.retried_at is not None) != self.retried:
            return False
        return True


@dataclass(slots=True)
class JobFilter:
    classes: tuple[str, ...] = ()
    grep: str | None = None  # regex searched in the raw stored text
    states: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.classes or self.grep or self.states)

    def matches(self, j: Job) -> bool:
        if self.classes and not _match_any(self.classes, (j.job_class, j.name, j.wrapper or "")):
            return False
        if self.states and j.state not in self.states:
            return False
        if self.grep is not None and not _regex(self.grep).search(j.raw or ""):
            return False
        return True


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    rx = _REGEX_CACHE.get(pattern)
    if rx is None:
        rx = _REGEX_CACHE[pattern] = re.compile(pattern)
    return rx


def _match_any(patterns: Iterable[str], values: Iterable[str]) -> bool:
    vals = [v for v in values if v]
    for p in patterns:
        if any(ch in p for ch in "*?["):
            from fnmatch import fnmatchcase

            if any(fnmatchcase(v, p) for v in vals):
                return True
        elif p in vals:
            return True
    return False


def group_failures(failures: Iterable[Failure], by: str) -> list[dict[str, Any]]:
    """Counts for triage: `failed --group-by class|exception|queue|class,exception`."""
    keys = [k.strip() for k in by.split(",") if k.strip()]
    attr = {"class": "job_class", "exception": "exception", "queue": "queue", "error": "error",
            "worker": "worker"}
    for k in keys:
        if k not in attr:
            raise ValueError(f"cannot group by {k!r}; use one of: {', '.join(attr)}")
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for f in failures:
        key = tuple(getattr(f, attr[k]) for k in keys)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {**{k: v for k, v in zip(keys, key, strict=True)}, "count": 0,
                               "newest": None, "oldest": None}
        g["count"] += 1
        if f.failed_at is not None:
            if g["newest"] is None or f.failed_at > g["newest"]:
                g["newest"] = f.failed_at
            if g["oldest"] is None or f.failed_at < g["oldest"]:
                g["oldest"] = f.failed_at
    rows = sorted(groups.values(), key=lambda g: (-g["count"], [str(g[k]) for k in keys]))
    return [{k: _jsonable(v) for k, v in row.items()} for row in rows]
