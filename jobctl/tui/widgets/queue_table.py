"""The queues panel: name, size, latency, net enqueue/dequeue rates, failed, size sparkline."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text

from jobctl.safe import visible
from jobctl.timeutil import format_age
from jobctl.tui.refresh import QueueRow
from jobctl.tui.sampling import sparkline
from jobctl.tui.text import count, latency_style, plain, rate
from jobctl.tui.widgets.panel_table import ColumnSpec, PanelTable

SPARK_WIDTH = 12


def _name(r: QueueRow, now: datetime) -> Text:
    t = Text(visible(r.queue.name, max_len=120), no_wrap=True, end="")
    if not r.queue.registered:
        t.append(" (unregistered)", style="dim")
    return t


def _size(r: QueueRow, now: datetime) -> Text:
    return plain(count(r.queue.size), "bold" if r.queue.size else "dim")


def _latency(r: QueueRow, now: datetime) -> Text:
    lat = r.queue.latency_s
    return plain(format_age(lat) if lat is not None else "?", latency_style(lat))


def _failed(r: QueueRow, now: datetime) -> Text:
    return plain(count(r.failed, capped=r.failed_capped), "red" if r.failed else "dim")


def _trend(r: QueueRow, now: datetime) -> Text:
    return plain(sparkline(r.history, SPARK_WIDTH), "cyan")


class QueueTable(PanelTable[QueueRow]):
    """Enter opens the queue's jobs (a virtual list that fetches only the visible window)."""

    TITLE = "Queues"
    DEFAULT_SORT = None  # backend order (by name) until the user sorts
    COLUMNS: ClassVar = (
        ColumnSpec("name", "queue", _name, sort_key=lambda r: r.queue.name),
        ColumnSpec("size", "size", _size, sort_key=lambda r: r.queue.size, descending=True),
        ColumnSpec("latency", "latency", _latency, sort_key=lambda r: r.queue.latency_s, descending=True),
        ColumnSpec("enq", "enq/s", lambda r, n: plain(rate(r.enqueue_rate)),
                   sort_key=lambda r: r.enqueue_rate, descending=True),
        ColumnSpec("deq", "deq/s", lambda r, n: plain(rate(r.dequeue_rate)),
                   sort_key=lambda r: r.dequeue_rate, descending=True),
        ColumnSpec("failed", "failed", _failed, sort_key=lambda r: r.failed, descending=True),
        ColumnSpec("trend", "size trend", _trend, width=SPARK_WIDTH),
    )

    def key_of(self, row: QueueRow) -> str:
        return row.queue.name

    def match_text(self, row: QueueRow) -> str:
        return row.queue.name

    def render_key(self, row: QueueRow) -> tuple[object, ...]:
        q = row.queue
        return (q.size, q.latency_s, q.registered, row.enqueue_rate, row.dequeue_rate, row.failed,
                row.failed_capped, row.history[-SPARK_WIDTH:])
