"""The `/` filter prompt: a one-line input docked at the bottom of a screen.

Typing filters the target panel live (regex, case-insensitive; a leading `!` negates). Enter keeps
the filter and returns to the panel; Esc clears it. An invalid regex is reported in the prompt and
the previous filter stays.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class FilterBar(Input):
    DEFAULT_CSS = """
    FilterBar { dock: bottom; display: none; height: 3; }
    FilterBar.-open { display: block; }
    """
    BINDINGS = [Binding("escape", "cancel", "Clear filter", show=False)]

    class Updated(Message):
        """The filter text changed (`final` when the user pressed Enter or Esc)."""

        def __init__(self, text: str, final: bool) -> None:
            super().__init__()
            self.text = text
            self.final = final

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="regex filter (prefix ! to negate) — Enter keeps, Esc clears", id=id)

    def open(self, current: str) -> None:
        self.value = current
        self.add_class("-open")
        self.focus()
        self.cursor_position = len(current)

    def close(self) -> None:
        self.remove_class("-open")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Updated(event.value, final=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close()
        self.post_message(self.Updated(event.value, final=True))

    def action_cancel(self) -> None:
        self.value = ""
        self.close()
        self.post_message(self.Updated("", final=True))
