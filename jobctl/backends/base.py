"""The protocol both backends implement. The CLI, the TUI and alerting only ever see this.

Read methods never change queue state (a test records MONITOR / statement logs around each).
Write methods check `target.read_only` first (via `require_writable`) and act on exactly the set
`FailureFilter.matches` selects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol, runtime_checkable

from jobctl.errors import JobctlError, ReadOnlyError
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
from jobctl.targets import Target

# progress(done, total) for long mutations; total may be None when unknown
Progress = Callable[[int, int | None], None]


@dataclass(slots=True)
class Capabilities:
    has_workers: bool = True
    has_latency: bool = True
    has_processed_counter: bool = False  # Resque stat:processed; DJ has none
    has_scheduler: bool = False  # resque-scheduler keys present
    has_status: bool = False  # resque-status keys present
    has_live_tail: bool = False  # MONITOR (Resque) vs polling (Delayed Job)
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class Backend(Protocol):
    target: Target
    kind: str  # "resque" | "delayed_job"

    # ---- lifecycle
    def ping(self) -> PingResult: ...
    def capabilities(self) -> Capabilities: ...
    def close(self) -> None: ...

    # ---- read side
    def queues(self) -> list[Queue]: ...
    def peek(self, queue: str, *, limit: int = 50, offset: int = 0, filter: JobFilter | None = None,
             scan_limit: int = 100_000) -> list[Job]: ...
    def failures(self, filter: FailureFilter | None = None, *, newest_first: bool = True,
                 scan_limit: int | None = None) -> Iterator[Failure]: ...
    def count_failures(self, filter: FailureFilter | None = None, *, cap: int | None = None) -> tuple[int, bool]:
        """(count, capped): capped=True when counting stopped at `cap`."""
        ...
    def show(self, id: str) -> Job | Failure: ...
    def workers(self) -> list[Worker]: ...
    def stats(self) -> Stats: ...

    # ---- write side (refused when target.read_only)
    def requeue(self, filter: FailureFilter, *, to_queue: str | None = None, keep: bool = False,
                clear_error: bool = False, dry_run: bool = False,
                progress: Progress | None = None) -> MutationResult: ...
    def discard(self, filter: FailureFilter, *, dry_run: bool = False,
                progress: Progress | None = None) -> MutationResult: ...
    def unlock(self, *, older_than: timedelta | None = None, dry_run: bool = False,
               progress: Progress | None = None) -> MutationResult:
        """Clear stale locks of non-failed jobs (Delayed Job); Resque raises errors.Unsupported."""
        ...

    # ---- tail
    def follow(self, *, interval: float = 1.0, stop: Callable[[], bool] | None = None) -> Iterator[Event]: ...


class MutationInterrupted(JobctlError):
    """Ctrl-C during a requeue/discard/unlock: the message says what was done; exit 130."""

    exit_code = 130


def require_writable(target: Target, action: str) -> None:
    if target.read_only:
        raise ReadOnlyError(
            f"refusing to {action}: target {target.label()} is read-only "
            "(--read-only, JOBCTL_READ_ONLY or read_only = true in the config)"
        )
