"""Failure panels: groups (class x exception, count, newest) and the failures of one group.

Both are taggable (space): `r` / `d` act on the tagged rows' failure ids.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text

from jobctl.tui.failgroups import FailureGroup, FailureRow
from jobctl.tui.text import age_since, count, plain, safe
from jobctl.tui.widgets.panel_table import ColumnSpec, PanelTable


def _newest(g: FailureGroup, now: datetime) -> Text:
    if g.newest is None:
        return plain("-", "dim")
    stamp = f"{g.newest:%H:%M:%S}" if g.newest.date() == now.date() else f"{g.newest:%Y-%m-%d}"
    return plain(f"{stamp} ({age_since(g.newest, now)})")


def _ts(g: FailureGroup | FailureRow) -> float | None:
    when = g.newest if isinstance(g, FailureGroup) else g.failed_at
    return when.timestamp() if when is not None else None


class FailureGroupsTable(PanelTable[FailureGroup]):
    """Enter opens the group's failures; space tags a whole group."""

    TITLE = "Failures by class × exception"
    TAGGABLE = True
    DEFAULT_SORT = None  # already ordered by count, newest
    COLUMNS: ClassVar = (
        ColumnSpec("count", "count", lambda g, n: plain(count(g.count), "bold"), sort_key=lambda g: g.count,
                   descending=True),
        ColumnSpec("class", "class", lambda g, n: safe(g.job_class, max_len=26), sort_key=lambda g: g.job_class),
        ColumnSpec("exception", "exception", lambda g, n: safe(g.exception, style="red", max_len=26),
                   sort_key=lambda g: g.exception),
        ColumnSpec("newest", "newest", _newest, sort_key=_ts, descending=True),
        ColumnSpec("queues", "queues", lambda g, n: safe(",".join(sorted(g.queues)), max_len=24),
                   sort_key=lambda g: ",".join(sorted(g.queues))),
    )

    def key_of(self, row: FailureGroup) -> str:
        return row.key

    def match_text(self, row: FailureGroup) -> str:
        return f"{row.job_class} {row.exception} {' '.join(sorted(row.queues))}"


def _error(r: FailureRow, now: datetime) -> Text:
    if r.parse_error:
        return safe(f"unparseable entry: {r.parse_error}", style="red", max_len=100)
    return safe(r.error, max_len=100)


class FailureRowsTable(PanelTable[FailureRow]):
    """Enter opens a failure's detail (args, backtrace, raw)."""

    TITLE = "Failures"
    TAGGABLE = True
    DEFAULT_SORT = None  # newest first, as scanned
    COLUMNS: ClassVar = (
        ColumnSpec("id", "id", lambda r, n: safe(r.id, style="dim", max_len=40), sort_key=lambda r: r.id),
        ColumnSpec("failed_at", "failed", lambda r, n: plain(f"{age_since(r.failed_at, n)} ago"
                                                             if r.failed_at else "-"),
                   sort_key=_ts, descending=True),
        ColumnSpec("queue", "queue", lambda r, n: safe(r.queue, max_len=40), sort_key=lambda r: r.queue),
        ColumnSpec("error", "error", _error, sort_key=lambda r: r.error),
        ColumnSpec("worker", "worker", lambda r, n: safe(r.worker, style="dim", max_len=50),
                   sort_key=lambda r: r.worker),
        ColumnSpec("retried", "retried", lambda r, n: plain("yes" if r.retried else "", "yellow")),
    )

    def key_of(self, row: FailureRow) -> str:
        return row.id

    def match_text(self, row: FailureRow) -> str:
        return " ".join(x or "" for x in (row.id, row.queue, row.job_class, row.exception, row.error, row.worker))
