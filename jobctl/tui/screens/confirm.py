"""The confirmation modal for r / d: what, how many, on which target, and a sample of rows."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from jobctl.safe import visible
from jobctl.tui.failgroups import FailureRow
from jobctl.tui.keymap import CONFIRM_KEYS

SAMPLE = 5

VERBS = {
    "requeue": "Requeue {n} failure(s): push each job back onto its queue and remove the failure entry",
    "discard": "Discard {n} failure(s): delete the failure entries for good",
}


def sample_table(rows: list[FailureRow]) -> Table:
    t = Table(box=None, padding=(0, 1), show_header=True, header_style="dim")
    for col in ("id", "queue", "class", "exception", "error"):
        t.add_column(col, no_wrap=True, max_width=40 if col != "error" else 50)
    for r in rows[:SAMPLE]:
        t.add_row(*(Text(visible(v or "-", max_len=60)) for v in (r.id, r.queue, r.job_class, r.exception, r.error)))
    return t


class ConfirmScreen(ModalScreen[bool]):
    """Returns True only on an explicit yes (y / the Yes button); Esc, n or No cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [*CONFIRM_KEYS]
    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical { width: 90%; max-width: 130; height: auto; border: thick $error;
                               background: $surface; padding: 1 2; }
    ConfirmScreen #buttons { height: auto; align-horizontal: right; margin-top: 1; }
    ConfirmScreen Button { margin-left: 2; }
    """

    def __init__(self, action: str, rows: list[FailureRow], how: str, target: str) -> None:
        super().__init__()
        self.action_name = action
        self.rows = rows
        self.how = how
        self.target = target

    def compose(self) -> ComposeResult:
        n = len(self.rows)
        head = Text(VERBS[self.action_name].format(n=f"{n:,}"), style="bold")
        head.append(f"\nselected: {self.how}   target: {visible(self.target, max_len=100)}", style="dim")
        if n > SAMPLE:
            head.append(f"\nsample (first {SAMPLE} of {n:,}):", style="dim")
        with Vertical():
            yield Static(head, id="confirm-head")
            yield Static(sample_table(self.rows), id="confirm-sample")
            with Horizontal(id="buttons"):
                yield Button(f"{self.action_name.capitalize()} {n:,} (y)", variant="error", id="yes")
                yield Button("Cancel (n / esc)", variant="primary", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # Enter alone must not mutate

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
