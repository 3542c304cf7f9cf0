"""The failures panel's data: failures grouped by job class x exception, keeping their ids.

`model.group_failures` gives JSON-ready counts for the CLI; the TUI additionally needs each group's
failure ids (to requeue/discard exactly the tagged groups through `FailureFilter(ids=...)`) and a
light row per failure for the drill-down list. Rows drop args/backtrace/raw so that holding the
newest few thousand failures stays cheap; the detail view fetches the full entry with `show(id)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from jobctl.model import Failure


@dataclass(slots=True, frozen=True)
class FailureRow:
    """One failure, as listed (no payload): enough to show, filter, tag and address it."""

    id: str
    failed_at: datetime | None
    queue: str | None
    job_class: str
    exception: str | None
    error: str | None
    worker: str | None
    retried: bool
    parse_error: str | None

    @classmethod
    def of(cls, f: Failure) -> FailureRow:
        return cls(id=f.id, failed_at=f.failed_at, queue=f.queue, job_class=f.job_class or f.name or "?",
                   exception=f.exception, error=f.error, worker=f.worker,
                   retried=f.retried_at is not None, parse_error=f.parse_error)


@dataclass(slots=True)
class FailureGroup:
    job_class: str
    exception: str
    count: int = 0
    newest: datetime | None = None
    oldest: datetime | None = None
    queues: set[str] = field(default_factory=set)
    rows: list[FailureRow] = field(default_factory=list)  # newest first (scan order)

    @property
    def key(self) -> str:
        return f"{self.job_class}\x00{self.exception}"

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rows]


def group_with_ids(failures: Iterable[Failure]) -> tuple[list[FailureGroup], int]:
    """Group (newest-first) failures by (job class, exception); returns (groups, scanned).

    Groups are ordered by count (descending), then newest failure (most recent first), then name,
    so the panel shows the biggest fire first and the order is stable between ticks.
    """
    groups: dict[tuple[str, str], FailureGroup] = {}
    scanned = 0
    for f in failures:
        scanned += 1
        row = FailureRow.of(f)
        key = (row.job_class, f.exception or "(unknown)")
        g = groups.get(key)
        if g is None:
            g = groups[key] = FailureGroup(job_class=key[0], exception=key[1])
        g.count += 1
        g.rows.append(row)
        if f.queue:
            g.queues.add(f.queue)
        if f.failed_at is not None:
            if g.newest is None or f.failed_at > g.newest:
                g.newest = f.failed_at
            if g.oldest is None or f.failed_at < g.oldest:
                g.oldest = f.failed_at
    ordered = sorted(groups.values(),
                     key=lambda g: (-g.count, -(g.newest.timestamp() if g.newest else 0.0), g.job_class,
                                    g.exception))
    return ordered, scanned


def failures_per_queue(groups: Iterable[FailureGroup]) -> dict[str, int]:
    """Failures seen in the scan, per queue (a lower bound when the scan was capped)."""
    out: dict[str, int] = {}
    for g in groups:
        for r in g.rows:
            if r.queue:
                out[r.queue] = out.get(r.queue, 0) + 1
    return out
