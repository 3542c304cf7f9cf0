"""The jobs of one queue: a virtual list that fetches only the visible window via peek().

`/` filters the list: a worker runs one bounded scan, `peek(queue, limit=MATCH_LIMIT, offset=0,
filter=JobFilter(grep=...), scan_limit=SCAN_LIMIT)`, searching each job's raw stored text (Resque:
the JSON payload; Delayed Job: the first 8,192 characters of the handler YAML), case-insensitive.
A leading `!` keeps the jobs that do NOT match, through the same scan (the regex is wrapped in a
negative lookahead). The crumbs line says that a filtered scan is shown and whether the scan limit
was hit; an empty filter or Esc returns to virtual paging.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

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
from jobctl.tui.widgets.filter_bar import FilterBar
from jobctl.tui.widgets.job_list import JobList
from jobctl.tui.widgets.meters import Meters

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp

PENDING_STATES = ("ready", "retrying", "scheduled")  # what Queue.size counts on Delayed Job
MATCH_LIMIT = 1_000  # matches shown by a filtered scan
SCAN_LIMIT = 100_000  # jobs a filtered scan reads at most


def grep_pattern(text: str) -> str | None:
    """The `/` text -> a JobFilter.grep regex (case-insensitive; `!x` keeps what does not match x).

    None for an empty filter; raises re.error for an invalid regex. Negation is a negative
    lookahead anchored at the start, so the backend's plain `search` keeps non-matching jobs.
    """
    negate = text.startswith("!")
    body = text[1:] if negate else text
    if not body:
        return None
    re.compile(body, re.IGNORECASE)  # the user's regex on its own: its error message is clearer
    pattern = rf"\A(?![\s\S]*(?i:{body}))" if negate else f"(?i:{body})"
    re.compile(pattern)
    return pattern


@dataclass(frozen=True)
class ScanResult:
    text: str  # the filter as typed
    jobs: list[Job]
    capped: bool  # the scan stopped at SCAN_LIMIT jobs: later jobs were not searched
    error: str | None = None


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
        yield FilterBar(id="filter")
        yield Footer()

    filter_text = ""  # the filter in effect ("" = virtual paging)
    scan: ScanResult | None = None  # the last filtered scan shown
    scanning = False
    _scan_gen = 0
    _scanned_size: int | None = None

    def _states(self) -> tuple[str, ...]:
        return PENDING_STATES if self.top.backend.kind == "delayed_job" else ()

    def _load(self, offset: int, limit: int) -> list[Job]:
        """Runs in a worker thread: exactly one window, through the shared backend lock.

        Delayed Job's plain peek lists only rows a worker would take now; the queue's size also
        counts scheduled and retrying rows, so the list asks for exactly those states.
        """
        states = self._states()
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
        if self.filter_text and not self.scanning and self.row.queue.size != self._scanned_size:
            self._start_scan()  # the queue changed: scan again (in a worker, one at a time)
        self._show(snap)

    # ------------------------------------------------------------------ filtered scan
    def _start_scan(self) -> None:
        text = self.filter_text
        pattern = grep_pattern(text)
        if pattern is None:
            return
        self._scan_gen += 1
        gen = self._scan_gen
        self.scanning = True
        self._scanned_size = self.row.queue.size
        flt = JobFilter(grep=pattern, states=self._states())
        self.run_worker(lambda: self._scan(gen, text, flt, self._scanned_size or 0), thread=True,
                        group="job-filter", exit_on_error=False)
        self._show(self.top.snapshot)

    def _scan(self, gen: int, text: str, flt: JobFilter, size: int) -> None:
        """Worker thread: one bounded streaming scan through the shared backend lock."""
        def scan(b: Any) -> tuple[list[Job], bool]:
            jobs = b.peek(self.queue_name, limit=MATCH_LIMIT, offset=0, filter=flt, scan_limit=SCAN_LIMIT)
            note = getattr(b, "last_scan", None)  # set by every Resque peek; Delayed Job has none
            if note is not None:  # Resque reports what the scan read
                return jobs, bool(note.capped)
            # Delayed Job does not: the scan can only have stopped early if the pending rows
            # outnumber the limit and it did not stop at MATCH_LIMIT matches first
            return jobs, len(jobs) < MATCH_LIMIT and size > SCAN_LIMIT

        try:
            jobs, capped = self.top.read(scan)
            result = ScanResult(text, jobs, capped)
        except Exception as exc:  # noqa: BLE001 - shown in the status line; the next tick retries
            result = ScanResult(text, [], False, error=f"{type(exc).__name__}: {exc}")
        self.app.call_from_thread(self._scanned, gen, result)

    def _scanned(self, gen: int, result: ScanResult) -> None:
        if gen != self._scan_gen:
            return
        self.scanning = False
        if result.text != self.filter_text:
            return
        if result.error is not None:
            self._scanned_size = None  # try again on the next tick
        self.scan = result
        self.query_one(JobList).show_matches(result.jobs)
        self._show(self.top.snapshot)

    def set_filter(self, text: str) -> str | None:
        """Apply `/` text to the list: start a filtered scan, or ("") return to paging."""
        try:
            pattern = grep_pattern(text)
        except re.error as e:
            return f"invalid regex: {e}"
        lst = self.query_one(JobList)
        if pattern is None:
            self.filter_text = ""
            self.scan = None
            self._scan_gen += 1  # a scan still running is ignored when it lands
            self.scanning = False
            self._scanned_size = None
            lst.clear_matches()
        else:
            self.filter_text = text
            self.scan = None
            self._start_scan()
        self._show(self.top.snapshot)
        return None

    def action_filter(self) -> None:
        self.query_one(FilterBar).open(self.filter_text)

    def on_filter_bar_updated(self, event: FilterBar.Updated) -> None:
        bar = self.query_one(FilterBar)
        if not event.final:  # a scan per keystroke would be wasteful: only check the regex
            try:
                grep_pattern(event.text)
                bar.border_title = None
            except re.error as e:
                bar.border_title = f"invalid regex: {e}"
            return
        before = self.filter_text
        error = self.set_filter(event.text)
        bar.border_title = error or None
        if error:  # Enter on an invalid regex: the filter in effect before stays
            self.filter_text = before
            self.notify(error, severity="error", markup=False)
        self.query_one(JobList).focus()

    def _show(self, snap: Snapshot | None) -> None:
        self.query_one(Meters).show(snap, self.top.meter_context())
        q = self.row.queue
        lst = self.query_one(JobList)
        t = Text(" queues › ", style="dim", no_wrap=True, end="")
        t.append(visible(q.name, max_len=100), style="bold")
        t.append(f"   {q.size:,} job(s)   latency {format_age(q.latency_s) if q.latency_s is not None else '?'}",
                 style="dim")
        if self.filter_text:
            t.append(f"   filtered scan /{visible(self.filter_text, max_len=80)}/: ", style="bold yellow")
            t.append_text(self._scan_status())
        if lst.total:
            t.append(f"   at {lst.cursor + 1:,} of {lst.total:,}", style="dim")
        self.query_one("#crumbs", Static).update(t)

    def _scan_status(self) -> Text:
        scan = self.scan
        if scan is None:
            return Text("scanning…", style="dim")
        if scan.error is not None:
            return Text(f"scan failed: {visible(scan.error, max_len=200)}", style="red")
        n = len(scan.jobs)
        t = Text(f"{n:,} match(es)", style="bold")
        if n >= MATCH_LIMIT:
            t.append(f" (first {MATCH_LIMIT:,} shown)", style="yellow")
        if scan.capped:
            t.append(f", scan limit hit: only the first {SCAN_LIMIT:,} jobs searched", style="bold red")
        elif n < MATCH_LIMIT:
            t.append(", whole queue searched", style="dim")
        if self.scanning:
            t.append(" (rescanning…)", style="dim")
        return t

    def on_job_list_cursor_moved(self, event: JobList.CursorMoved) -> None:
        self._show(self.top.snapshot)

    # ------------------------------------------------------------------ actions
    def action_back(self) -> None:
        """Esc: clear the filter first (back to paging), then leave the screen."""
        if self.filter_text:
            self.set_filter("")
            return
        self.dismiss()

    def action_open(self) -> None:
        job = self.query_one(JobList).current_job()
        if job is None:
            self.notify("that job is still loading", timeout=2)
            return
        self.top.open_job(job)
