"""A virtual list of one queue's jobs that stays smooth on a 1,000,000-job queue.

The widget's virtual height is the queue size, but it only ever holds the pages (100 jobs each)
that were on screen recently: `render_line` asks for a missing page and draws a placeholder; a
thread worker fetches exactly that window with `backend.peek(queue, offset=, limit=)` (LRANGE of
100 entries on Resque, a bounded indexed query on Delayed Job) and the line is redrawn when it
lands. Pages are kept in a small LRU. When a refresh tick reports a different queue size, cached
pages are dropped (positions shifted) and the visible window is fetched again.

With a `/` filter the list shows a fixed set of matches instead (`show_matches`): the screen scans
the queue through the backend's bounded streaming filter in a worker and hands the matching jobs
over; each line keeps the job's real queue position. `clear_matches` returns to virtual paging.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from jobctl.model import Job
from jobctl.safe import visible
from jobctl.timeutil import format_age, utcnow
from jobctl.tui.keymap import JOB_LIST_KEYS
from jobctl.tui.text import age_since, compact_args, state_style

PAGE = 100
MAX_PAGES = 64

Loader = Callable[[int, int], list[Job]]  # (offset, limit) -> jobs; runs in a worker thread


def job_line(pos: int, job: Job, now: datetime) -> Text:
    """One job as a line: position, state, class, age, attempts, args (all `visible()`)."""
    t = Text(no_wrap=True, end="")
    t.append(f"{pos:>9,}  ", style="dim")
    if job.parse_error:
        t.append("bad      ", style="bold red")
        t.append(visible(f"unparseable entry: {job.parse_error}  {job.raw or ''}", max_len=300), style="red")
        return t
    t.append(f"{job.state:<10}", style=state_style(job.state))
    t.append(f"{visible(job.name or job.job_class, max_len=60):<40} ", style="bold")
    if job.state in ("scheduled", "retrying") and job.run_at is not None and job.run_at > now:
        when_text = "in " + format_age((job.run_at - now).total_seconds())
    else:
        when = job.enqueued_at or job.created_at
        when_text = age_since(when, now) + " ago" if when else "-"
    t.append(f"{when_text:>11}  ", style="dim")
    if job.attempts:
        t.append(f"×{job.attempts} ", style="yellow")
    t.append(visible(compact_args(job.args), max_len=400))
    return t


class JobList(ScrollView, can_focus=True):
    """Cursor with j/k/up/down/pgup/pgdn/g/G; Enter (open) and Esc (back) belong to the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [*JOB_LIST_KEYS]

    COMPONENT_CLASSES = {"job-list--cursor", "job-list--placeholder"}
    DEFAULT_CSS = """
    JobList { height: 1fr; }
    JobList > .job-list--cursor { background: $accent 40%; text-style: bold; }
    JobList > .job-list--placeholder { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0)

    class CursorMoved(Message):
        pass

    def __init__(self, queue: str, total: int, loader: Loader, *, clock: Callable[[], datetime] = utcnow,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.queue = queue
        self.total = max(total, 0)
        self.loader = loader
        self.clock = clock
        self._pages: OrderedDict[int, list[Job]] = OrderedDict()
        self._errors: dict[int, str] = {}
        self._inflight: set[int] = set()
        self._generation = 0
        self.fetches = 0  # windows fetched (tests assert only the visible window was read)
        self.matches: list[Job] | None = None  # a filtered scan's result; None = virtual paging
        self._paged_total = self.total

    # ------------------------------------------------------------------ filtered scan
    def show_matches(self, jobs: list[Job]) -> None:
        """Show exactly these jobs (a filtered scan); paging stops until `clear_matches`."""
        if self.matches is None:
            self._paged_total = self.total
        self._generation += 1  # a page still in flight must not resize the filtered view
        self._inflight.clear()
        self.matches = list(jobs)
        self.total = len(self.matches)
        self.cursor = min(self.cursor, max(self.total - 1, 0))
        self._update_virtual_size()
        self.refresh()
        self.post_message(self.CursorMoved())

    def clear_matches(self) -> None:
        """Back to virtual paging of the whole queue (pages are fetched afresh)."""
        if self.matches is None:
            return
        self.matches = None
        self.total = self._paged_total
        self.cursor = min(self.cursor, max(self.total - 1, 0))
        self.invalidate()
        self.post_message(self.CursorMoved())

    # ------------------------------------------------------------------ data
    def set_total(self, total: int) -> None:
        """A tick saw a new size: positions shifted, so drop cached pages and re-fetch what shows."""
        total = max(total, 0)
        if self.matches is not None:
            self._paged_total = total  # used again when the filter is cleared
            return
        if total == self.total:
            return
        self.total = total
        self.invalidate()
        self.cursor = min(self.cursor, max(total - 1, 0))

    def invalidate(self) -> None:
        self._generation += 1
        self._pages.clear()
        self._errors.clear()
        self._inflight.clear()
        self._update_virtual_size()
        self.refresh()

    def job_at(self, pos: int) -> Job | None:
        if self.matches is not None:
            return self.matches[pos] if 0 <= pos < len(self.matches) else None
        page = self._pages.get(pos // PAGE)
        if page is None:
            return None
        idx = pos - (pos // PAGE) * PAGE
        return page[idx] if idx < len(page) else None

    def current_job(self) -> Job | None:
        return self.job_at(self.cursor)

    def loaded_pages(self) -> list[int]:
        return sorted(self._pages)

    def _want(self, page: int) -> None:
        if page in self._inflight or page in self._errors:
            return
        self._inflight.add(page)
        gen = self._generation
        self.run_worker(lambda: self._fetch(page, gen), thread=True, group="job-pages", exit_on_error=False)

    def _fetch(self, page: int, gen: int) -> None:
        try:
            jobs = self.loader(page * PAGE, PAGE)
            error = None
        except Exception as exc:  # noqa: BLE001 - shown in place of the rows; retried on the next tick
            jobs, error = [], f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._loaded, page, gen, jobs, error)

    def _loaded(self, page: int, gen: int, jobs: list[Job], error: str | None) -> None:
        if gen != self._generation:
            return
        self._inflight.discard(page)
        self.fetches += 1
        if error is not None:
            self._errors[page] = error
        else:
            self._pages[page] = jobs
            self._pages.move_to_end(page)
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
            if len(jobs) < PAGE and page * PAGE + len(jobs) < self.total:
                # the list ends earlier than the last size said (consumed meanwhile): show where
                self.total = page * PAGE + len(jobs)
                self.cursor = min(self.cursor, max(self.total - 1, 0))
                self._update_virtual_size()
                self.post_message(self.CursorMoved())
        self.refresh()

    # ------------------------------------------------------------------ movement
    def action_cursor(self, delta: int) -> None:
        self.move(delta)

    def action_page(self, direction: int) -> None:
        self.page(direction)

    def action_top(self) -> None:
        self.to_top()

    def action_bottom(self) -> None:
        self.to_bottom()

    def move(self, delta: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + delta))

    def page(self, direction: int) -> None:
        self.move(direction * max(self.scrollable_content_region.height - 1, 1))

    def to_top(self) -> None:
        self.cursor = 0

    def to_bottom(self) -> None:
        self.cursor = max(self.total - 1, 0)

    def watch_cursor(self, old: int, new: int) -> None:
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False)
        self.refresh()
        self.post_message(self.CursorMoved())

    def on_click(self, event: object) -> None:
        y = getattr(event, "y", None)
        if isinstance(y, int):
            pos = int(self.scroll_y) + y
            if 0 <= pos < self.total:
                self.cursor = pos

    # ------------------------------------------------------------------ rendering
    def on_mount(self) -> None:
        self._update_virtual_size()

    def on_resize(self) -> None:
        self._update_virtual_size()

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(max(self.scrollable_content_region.width, 1), self.total)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        pos = int(self.scroll_y) + y
        base = self.rich_style
        if pos >= self.total:
            return Strip.blank(width, base)
        page = pos // PAGE
        if self.matches is not None:
            job = self.job_at(pos)
            text = self._job_text(job.position if job is not None and job.position is not None else pos, job)
        elif page in self._errors:
            text = Text(f"{pos:>9,}  could not load: {visible(self._errors[page], max_len=200)}",
                        style="red", end="")
        elif page not in self._pages:
            self._want(page)
            text = Text(f"{pos:>9,}  …", end="")
            text.stylize(self.get_component_rich_style("job-list--placeholder"))
        else:
            self._pages.move_to_end(page)
            text = self._job_text(pos, self.job_at(pos))
        if pos == self.cursor:
            text.stylize(self.get_component_rich_style("job-list--cursor"))
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(0, width, None).apply_style(base)

    def _job_text(self, pos: int, job: Job | None) -> Text:
        if job is None:
            return Text(f"{pos:>9,}  (no longer in the queue)", style="dim", end="")
        try:
            return job_line(pos, job, self.clock())
        except Exception as exc:  # noqa: BLE001 - a bad entry never crashes the view
            return Text(f"{pos:>9,}  <unrenderable entry: {type(exc).__name__}>", style="red", end="")
