"""The workers panel: worker, queues, current job, running for, state (working / idle / stale)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text

from jobctl.model import Worker
from jobctl.safe import visible
from jobctl.timeutil import format_age
from jobctl.tui.text import plain, safe, state_style
from jobctl.tui.widgets.panel_table import ColumnSpec, PanelTable


def running_for(w: Worker, now: datetime) -> float | None:
    """Age of the current job on the tick's clock (so a frozen clock freezes it), else the backend's."""
    if w.job_started_at is not None and w.job_class:
        return max((now - w.job_started_at).total_seconds(), 0.0)
    return w.running_for_s


def _job(w: Worker, now: datetime) -> Text:
    if not w.job_class:
        return plain("-", "dim")
    t = Text(visible(w.job_class, max_len=120), no_wrap=True, end="")
    if w.job_queue:
        t.append(f" @{visible(w.job_queue, max_len=60)}", style="dim")
    return t


def _running(w: Worker, now: datetime) -> Text:
    s = running_for(w, now)
    return plain(format_age(s), "yellow" if s is not None and s > 600 else "")


def _state(w: Worker, now: datetime) -> Text:
    return plain(w.state, state_style(w.state))


class WorkersTable(PanelTable[Worker]):
    TITLE = "Workers"
    DEFAULT_SORT = None
    COLUMNS: ClassVar = (
        ColumnSpec("worker", "worker", lambda w, n: safe(w.id, max_len=80), sort_key=lambda w: w.id),
        ColumnSpec("state", "state", _state, sort_key=lambda w: w.state),
        ColumnSpec("queues", "queues", lambda w, n: safe(",".join(w.queues), max_len=60),
                   sort_key=lambda w: ",".join(w.queues)),
        ColumnSpec("job", "current job", _job, sort_key=lambda w: w.job_class or ""),
        ColumnSpec("running", "running", _running, sort_key=lambda w: w.running_for_s, descending=True),
    )

    def key_of(self, row: Worker) -> str:
        return row.id

    def match_text(self, row: Worker) -> str:
        return " ".join([row.id, ",".join(row.queues), row.job_class or "", row.state])
