"""ResqueBackend: the Backend protocol over a Resque Redis (read side; writes and tail delegate).

For the other Resque modules (write, follow, TUI helpers):

* ``backend.redis``: the lazily connected ``redis.Redis`` (RESP2, ``decode_responses=False``,
  every command traced under ``--trace``); connection errors raise ``TargetUnreachable``
  when they happen inside backend methods (use ``connection.redis_errors(target)`` elsewhere).
* ``backend.keys``: ``ResqueKeys`` for the namespace (``keys.queue("low")``, ``keys.failed`` …).
* ``failures.iter_entries(backend, filter, newest_first=…, scan_limit=…)`` yields
  ``Entry(key, index, raw, failure)``: the exact bytes to verify before acting.
* ``backend.last_scan``: what the last bounded peek scan did (``ScanNote``), for "capped" notes.

Reads never write: a test records MONITOR around every read command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from jobctl.backends.base import Capabilities, Progress
from jobctl.backends.resque import failures as failures_mod
from jobctl.backends.resque import info as info_mod
from jobctl.backends.resque import jobs as jobs_mod
from jobctl.backends.resque import plugins as plugins_mod
from jobctl.backends.resque import workers as workers_mod
from jobctl.backends.resque.connection import connect, redis_errors
from jobctl.backends.resque.ids import looks_like_id
from jobctl.backends.resque.keys import ResqueKeys
from jobctl.errors import NotFound, Unsupported, UsageError
from jobctl.model import (
    Event,
    Failure,
    FailureFilter,
    Job,
    JobFilter,
    MutationResult,
    PingResult,
    Queue,
    Stats,
    Worker,
)
from jobctl.parse.resque_payload import parse_failure, parse_job
from jobctl.targets import Target

_LOCATION = re.compile(r"^(?P<key>.+)\[(?P<index>-?\d+)\]$")


class ResqueBackend:
    kind = "resque"

    def __init__(self, target: Target) -> None:
        self.target = target
        self.keys = ResqueKeys(target.namespace)
        self._redis: Any = None
        self.last_scan: jobs_mod.ScanNote | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def redis(self) -> Any:
        """The redis.Redis client (created on first use; the socket opens on the first command)."""
        if self._redis is None:
            with redis_errors(self.target):
                self._redis = connect(self.target)
        return self._redis

    def close(self) -> None:
        if self._redis is not None:
            try:
                self._redis.close()
            finally:
                self._redis = None

    def ping(self) -> PingResult:
        with redis_errors(self.target):
            return info_mod.ping(self)

    def capabilities(self) -> Capabilities:
        with redis_errors(self.target):
            return info_mod.capabilities(self)

    # ------------------------------------------------------------------ read side
    def queues(self) -> list[Queue]:
        with redis_errors(self.target):
            return jobs_mod.list_queues(self)

    def peek(self, queue: str, *, limit: int = 50, offset: int = 0, filter: JobFilter | None = None,
             scan_limit: int = 100_000) -> list[Job]:
        with redis_errors(self.target):
            return jobs_mod.peek(self, queue, limit=limit, offset=offset, flt=filter, scan_limit=scan_limit)

    def failures(self, filter: FailureFilter | None = None, *, newest_first: bool = True,
                 scan_limit: int | None = None, stats: failures_mod.ScanStats | None = None) -> Iterator[Failure]:
        st = stats if stats is not None else failures_mod.ScanStats()
        self.last_scan = None
        try:
            with redis_errors(self.target):
                for e in failures_mod.iter_entries(self, filter, newest_first=newest_first, scan_limit=scan_limit,
                                                   stats=st):
                    yield e.failure
        finally:
            self.last_scan = jobs_mod.ScanNote(scanned=st.scanned, capped=st.capped, what="failures")

    def failure_groups(self, filter: FailureFilter | None, by: str, *, newest_first: bool = True,
                       scan_limit: int | None = None) -> list[dict[str, Any]]:
        """`failed --group-by`: model.group_failures rows; queue/time-only filters skip building Failures."""
        from jobctl.model import group_failures

        flt = filter or FailureFilter()
        if not failures_mod.light_groupable(flt):
            return group_failures(self.failures(flt, newest_first=newest_first, scan_limit=scan_limit), by)
        st = failures_mod.ScanStats()
        self.last_scan = None
        try:
            with redis_errors(self.target):
                return group_failures(failures_mod.group_records(self, flt, newest_first=newest_first,
                                                                 scan_limit=scan_limit, stats=st), by)
        finally:
            self.last_scan = jobs_mod.ScanNote(scanned=st.scanned, capped=st.capped, what="failures")

    def count_failures(self, filter: FailureFilter | None = None, *, cap: int | None = None,
                       scan_limit: int | None = None) -> tuple[int, bool]:
        with redis_errors(self.target):
            return failures_mod.count(self, filter, cap=cap, scan_limit=scan_limit)

    def show(self, id: str) -> Job | Failure:
        """A failure by stable id, a job by `<queue>@<position>`, or any list entry by `<key>[<index>]`."""
        with redis_errors(self.target):
            return self._show(id.strip())

    def _show(self, ident: str) -> Job | Failure:
        m = _LOCATION.match(ident)
        if m:
            return self._show_location(m.group("key"), int(m.group("index")))
        if "@" in ident:
            queue, _, pos = ident.rpartition("@")
            if pos.lstrip("-").isdigit() and queue:
                return jobs_mod.job_at(self, queue, int(pos))
        if looks_like_id(ident):
            entry = failures_mod.find(self, ident)
            if entry is None:
                raise NotFound(f"no failure with id {ident} (it may have been requeued and removed, or "
                               "discarded); list current ids with `jobctl failed`")
            f = entry.failure
            f.raw = entry.raw.decode("utf-8", "backslashreplace")
            return f
        raise UsageError(f"cannot read {ident!r} as an id: use a failure id from `jobctl failed` (12 hex digits, "
                         "maybe with -N), QUEUE@POSITION from `jobctl peek`, or KEY[INDEX]")

    def _show_location(self, key: str, index: int) -> Job | Failure:
        full = key if key.startswith(self.keys.prefix) else self.keys.key(key)
        raw = self.redis.lindex(full, index)
        if raw is None:
            raise NotFound(f"{full}[{index}] is empty (no such list or index)")
        name = self.keys.strip(full) or full
        queue = self.keys.queue_name(full)
        if queue is not None:
            return jobs_mod.job_at(self, queue, index if index >= 0 else int(self.redis.llen(full)) + index)
        if name == "failed" or name.endswith("_failed") or name.startswith("failure-"):
            idx = index if index >= 0 else int(self.redis.llen(full)) + index
            entry = failures_mod.find_at(self, full, idx, raw)
            f = entry.failure if entry is not None else parse_failure(raw, key=full, index=idx, id="?")
            f.raw = raw.decode("utf-8", "backslashreplace")
            return f
        job = parse_job(raw, queue=None, position=index, id=f"{full}[{index}]")
        job.extra["key"] = full
        return job

    def workers(self) -> list[Worker]:
        with redis_errors(self.target):
            return workers_mod.list_workers(self)

    def stats(self) -> Stats:
        with redis_errors(self.target):
            return info_mod.stats(self)

    # ------------------------------------------------------------------ plugins (Resque only)
    def scheduled_slots(self, *, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        with redis_errors(self.target):
            return plugins_mod.scheduled_slots(self, limit=limit, offset=offset)

    def scheduled_jobs(self, *, limit: int = 50, offset: int = 0) -> list[Job]:
        with redis_errors(self.target):
            return plugins_mod.scheduled_jobs(self, limit=limit, offset=offset)

    def statuses(self, *, limit: int = 50, states: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], int]:
        with redis_errors(self.target):
            return plugins_mod.statuses(self, limit=limit, states=states)

    def status(self, uuid: str) -> dict[str, Any]:
        with redis_errors(self.target):
            return plugins_mod.status(self, uuid)

    # ------------------------------------------------------------------ write side (write.py)
    def requeue(self, filter: FailureFilter, *, to_queue: str | None = None, keep: bool = False,
                clear_error: bool = False, dry_run: bool = False,
                progress: Progress | None = None) -> MutationResult:
        from jobctl.backends.resque.write import requeue

        with redis_errors(self.target):
            return requeue(self, filter, to_queue=to_queue, keep=keep, clear_error=clear_error, dry_run=dry_run,
                           progress=progress)

    def discard(self, filter: FailureFilter, *, dry_run: bool = False,
                progress: Progress | None = None) -> MutationResult:
        from jobctl.backends.resque.write import discard

        with redis_errors(self.target):
            return discard(self, filter, dry_run=dry_run, progress=progress)

    def unlock(self, *, older_than: timedelta | None = None, dry_run: bool = False,
               progress: Progress | None = None) -> MutationResult:
        raise Unsupported(
            "unlock is a Delayed Job operation (stale row locks); Resque has no locks — dead workers' "
            "entries are shown by `jobctl workers` as stale"
        )

    # ------------------------------------------------------------------ tail (follow.py)
    def follow(self, *, interval: float = 1.0, stop: Callable[[], bool] | None = None) -> Iterator[Event]:
        from jobctl.backends.resque.follow import follow

        return follow(self, interval=interval, stop=stop)  # type: ignore[no-any-return]
