"""Detail of one job, failure or worker: summary + pretty args, error + backtrace, raw entry.

Everything shown came from the queue, so every value is `visible()` plain Text. Huge payloads
(a 100 kB argument) are cut for display with a note; `jobctl show ID --raw` prints them whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from jobctl.model import Failure, Job, Worker
from jobctl.render.output import json_dumps
from jobctl.safe import visible
from jobctl.tui.failgroups import FailureRow
from jobctl.tui.keymap import DETAIL_KEYS

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp

MAX_SHOWN = 200_000  # characters of args / raw shown before cutting
MAX_LINES = 2_000  # lines shown before cutting: Textual lays out every line (100,000 short args took ~15 s)

Item = Job | Failure | Worker

_FIELDS: dict[type, tuple[str, ...]] = {
    Job: ("id", "queue", "position", "state", "job_class", "name", "wrapper", "job_id", "enqueued_at",
          "run_at", "created_at", "attempts", "priority", "locked_by", "locked_at", "size", "parse_error"),
    Failure: ("id", "failed_at", "queue", "job_class", "name", "exception", "error", "worker", "retried_at",
              "attempts", "job_id", "location", "size", "parse_error"),
    Worker: ("id", "host", "pid", "queues", "state", "job_class", "job_queue", "job_started_at",
             "running_for_s", "started_at", "heartbeat_at", "processed", "failed", "jobs_held", "stuck_jobs"),
}


def _value(v: Any) -> str:
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def summary(item: Item) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    for name in _FIELDS[type(item)]:
        v = getattr(item, name, None)
        if v is None or v == "" or v == []:
            continue
        grid.add_row(Text(name), Text(visible(_value(v), max_len=2000), style="red" if name == "parse_error" else ""))
    extra = getattr(item, "extra", None)
    if extra:
        grid.add_row(Text("extra"), Text(visible(json_dumps(extra), max_len=2000)))
    return grid


def _cut_at(text: str) -> int:
    """Where to cut: MAX_SHOWN characters or MAX_LINES lines, whichever comes first."""
    end = min(len(text), MAX_SHOWN)
    pos = -1
    for _ in range(MAX_LINES):
        pos = text.find("\n", pos + 1, end)
        if pos < 0:
            return end
    return pos


def cut(text: str) -> Text:
    at = _cut_at(text)
    if at < len(text):
        t = Text(visible(text[:at], keep_newlines=True))
        t.append(f"\n… {len(text) - at:,} more characters (jobctl show ID --raw prints all)", style="yellow")
        return t
    return Text(visible(text, keep_newlines=True))


def args_text(item: Item) -> Text:
    args = getattr(item, "args", None)
    if args is None:
        return Text("")
    try:
        return cut(json_dumps(args, pretty=True))
    except Exception as exc:  # noqa: BLE001 - odd values still show
        return Text(f"<args not renderable: {type(exc).__name__}>", style="red")


def error_text(item: Item) -> Text:
    t = Text()
    if isinstance(item, Failure):
        if item.exception:
            t.append(visible(item.exception) + "\n", style="bold red")
        t.append(cut(item.error_full or item.error or ""))
        if item.backtrace:
            t.append("\n\nbacktrace:\n", style="dim")
            t.append(cut("\n".join(item.backtrace)))
        elif not item.error_full and not item.error:
            t.append("(no error message)", style="dim")
    elif isinstance(item, Job):
        t.append(cut(item.last_error) if item.last_error else Text("(no error recorded)", style="dim"))
    else:
        t.append("(workers have no error)", style="dim")
    return t


def raw_text(item: Item) -> Text:
    raw = getattr(item, "raw", None)
    if raw is None:
        return cut(json_dumps(item.to_dict(), pretty=True))
    return cut(raw)


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [*DETAIL_KEYS]

    def __init__(self, item: Item) -> None:
        super().__init__()
        self.item = item

    @property
    def top(self) -> TopApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        kind = type(self.item).__name__.lower()
        head = Text(f" {kind} › ", style="dim", no_wrap=True, end="")
        head.append(visible(getattr(self.item, "name", None) or self.item.id, max_len=120), style="bold")
        yield Static(head, id="crumbs")
        with TabbedContent(initial="summary"):
            with TabPane("Summary", id="summary"), VerticalScroll():
                yield Static(summary(self.item), id="summary-fields")
                if not isinstance(self.item, Worker):
                    yield Static(Text("args", style="bold"))
                    yield Static(args_text(self.item), id="args")
            with TabPane("Error / backtrace", id="error"), VerticalScroll():
                yield Static(error_text(self.item), id="error-text")
            with TabPane("Raw", id="raw"), VerticalScroll():
                yield Static(raw_text(self.item), id="raw-text")
        yield Footer()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_back(self) -> None:
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("requeue", "discard"):
            return isinstance(self.item, Failure)
        return True

    def action_requeue(self) -> None:
        if isinstance(self.item, Failure):
            self.top.request_mutation("requeue", [FailureRow.of(self.item)], "shown")

    def action_discard(self) -> None:
        if isinstance(self.item, Failure):
            self.top.request_mutation("discard", [FailureRow.of(self.item)], "shown")
