"""The jobs of one queue: a virtual list that fetches only the visible window via peek()."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from jobctl.model import Job, JobFilter
from jobctl.safe import visible
from jobctl.timeutil import format_age
from jobctl.tui.keymap import JOB_SCREEN_KEYS
from jobctl.tui.refresh import QueueRow, Snapshot
from jobctl.tui.widgets.job_list import JobList
from jobctl.tui.widgets.meters import Meters

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp

PENDING_STATES = ("ready", "retrying", "scheduled")  # what Queue.size counts on Delayed Job


class QueueJobsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [*JOB_SCREEN_KEYS]

    def __init__(self, row: QueueRow) -> None:
        super().__init__()
        self.queue_name = row.queue.name
        self.row = row

    @property
    def top(self) -> TopApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Meters(id="meters")
        yield Static(id="crumbs")
        yield JobList(self.queue_name, self.row.queue.size, self._load, clock=self.top.clock, id="jobs")
        yield Footer()

    def _load(self, offset: int, limit: int) -> list[Job]:
        """Runs in a worker thread: exactly one window, through the shared backend lock.

        Delayed Job's plain peek lists only rows a worker would take now; the queue's size also
        counts scheduled and retrying rows, so the list asks for exactly those states.
        """
        states = PENDING_STATES if self.top.backend.kind == "delayed_job" else ()
        flt = JobFilter(states=states) if states else None
        return self.top.read(lambda b: b.peek(self.queue_name, limit=limit, offset=offset, filter=flt))

    def on_mount(self) -> None:
        self.query_one(JobList).focus()
        self._show(self.top.snapshot)

    def show_snapshot(self, snap: Snapshot) -> None:
        for r in snap.queues:
            if r.queue.name == self.queue_name:
                self.row = r
                break
        self.query_one(JobList).set_total(self.row.queue.size)
        self._show(snap)

    def _show(self, snap: Snapshot | None) -> None:
        self.query_one(Meters).show(snap, self.top.meter_context())
        q = self.row.queue
        lst = self.query_one(JobList)
        t = Text(" queues › ", style="dim", no_wrap=True, end="")
        t.append(visible(q.name, max_len=100), style="bold")
        t.append(f"   {q.size:,} job(s)   latency {format_age(q.latency_s) if q.latency_s is not None else '?'}",
                 style="dim")
        if lst.total:
            t.append(f"   at {lst.cursor + 1:,} of {lst.total:,}", style="dim")
        self.query_one("#crumbs", Static).update(t)

    def on_job_list_cursor_moved(self, event: JobList.CursorMoved) -> None:
        self._show(self.top.snapshot)

    # ------------------------------------------------------------------ actions
    def action_back(self) -> None:
        self.dismiss()

    def action_open(self) -> None:
        job = self.query_one(JobList).current_job()
        if job is None:
            self.notify("that job is still loading", timeout=2)
            return
        self.top.open_job(job)
