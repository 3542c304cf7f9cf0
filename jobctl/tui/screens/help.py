"""`?`: every key of every view, with the user keymap applied, and where the keymap lives."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from jobctl.tui.keymap import SCOPES, WIDGET_KEYS, effective_keys


def help_table(keymap: Mapping[str, str], config_path: str) -> Table:
    t = Table(box=None, padding=(0, 2), show_header=False, expand=False)
    t.add_column(style="bold", no_wrap=True)
    t.add_column()
    t.add_column(style="dim", no_wrap=True)
    for scope, bindings in SCOPES.items():
        t.add_row(Text(scope, style="bold underline"), Text(""), Text(""))
        seen: set[str] = set()
        for b in bindings:
            if b.id in seen:
                continue
            seen.add(b.id or "")
            t.add_row(Text(effective_keys(b, keymap)), Text(b.description), Text(b.id or ""))
        t.add_row(Text(""), Text(""), Text(""))
    t.add_row(Text("Tables", style="bold underline"), Text(""), Text(""))
    for keys, what in WIDGET_KEYS:
        t.add_row(Text(keys), Text(what), Text(""))
    t.add_row(Text(""), Text(""), Text(""))
    t.add_row(Text("Filter", style="bold underline"), Text(""), Text(""))
    t.add_row(Text("/ text"), Text("regex, case-insensitive; !text hides matches; Enter keeps, Esc clears"),
              Text(""))
    t.add_row(Text("r / d"), Text("act on tagged rows, else on all filtered rows, else on the row under the cursor "
                                  "(failures panel); always asks first; refused when read-only"), Text(""))
    t.add_row(Text(""), Text(""), Text(""))
    t.add_row(Text("Remap"), Text(f"[keymap] in {config_path}: <binding id> = \"key\" (ids in the right column)"),
              Text(""))
    return t


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help-close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 140; height: 90%; border: thick $accent;
                                  background: $surface; padding: 0 2; }
    """

    def __init__(self, keymap: Mapping[str, str], config_path: str) -> None:
        super().__init__()
        self.keymap = dict(keymap)
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("jobctl top — keys", style="bold"))
            yield Static(help_table(self.keymap, self.config_path), id="help-keys")

    def action_close(self) -> None:
        self.dismiss()
