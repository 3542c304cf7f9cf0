"""Every key of `jobctl top` in one registry: bindings carry ids so users can remap them.

The `[keymap]` table of config.toml maps a binding id to one or more keys (comma-separated), the
approach posting and harlequin use; Textual substitutes the keys of every binding with that id, in
every view:

    [keymap]
    requeue = "R"          # capital R instead of r (everywhere r means requeue)
    discard = "ctrl+d"
    filter  = "slash,f"    # two keys

The help screen (`?`) and the footer are generated from these same lists, so they always show
the keys in effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.binding import Binding

APP_KEYS: list[Binding] = [
    Binding("q", "quit", "Quit", id="quit"),
    Binding("question_mark,f1", "help", "Help", id="help", key_display="?"),
    Binding("ctrl+p", "command_palette", "Commands", id="palette", show=False, priority=True),
    Binding("p", "toggle_pause", "Pause", id="pause"),
    Binding("plus", "faster", "Faster", id="faster", key_display="+", show=False),
    Binding("minus", "slower", "Slower", id="slower", key_display="-", show=False),
    Binding("ctrl+r", "refresh_now", "Refresh now", id="refresh-now", show=False),
]

DASHBOARD_KEYS: list[Binding] = [
    Binding("1", "panel('queues')", "Queues", id="panel-queues"),
    Binding("2", "panel('workers')", "Workers", id="panel-workers"),
    Binding("3", "panel('failures')", "Failures", id="panel-failures"),
    Binding("0", "panel('all')", "All panels", id="panel-all", show=False),
    Binding("slash", "filter", "Filter", id="filter", key_display="/"),
    Binding("s", "sort", "Sort", id="sort"),
    Binding("S", "sort_reverse", "Reverse sort", id="sort-reverse", show=False),
    Binding("space", "tag", "Tag", id="tag", show=False),
    Binding("U", "untag_all", "Untag all", id="untag-all", show=False),
    Binding("r", "requeue", "Requeue", id="requeue"),
    Binding("d", "discard", "Discard", id="discard"),
    Binding("escape", "back", "Clear filter", id="back", show=False),
]

FAILURE_LIST_KEYS: list[Binding] = [
    Binding("escape", "back", "Back", id="back"),
    Binding("slash", "filter", "Filter", id="filter", key_display="/"),
    Binding("s", "sort", "Sort", id="sort"),
    Binding("S", "sort_reverse", "Reverse sort", id="sort-reverse", show=False),
    Binding("space", "tag", "Tag", id="tag", show=False),
    Binding("U", "untag_all", "Untag all", id="untag-all", show=False),
    Binding("r", "requeue", "Requeue", id="requeue"),
    Binding("d", "discard", "Discard", id="discard"),
]

JOB_SCREEN_KEYS: list[Binding] = [
    Binding("escape", "back", "Back", id="back"),
    Binding("enter", "open", "Detail", id="open"),
    Binding("slash", "filter", "Filter", id="filter", key_display="/"),
]

JOB_LIST_KEYS: list[Binding] = [  # on the list widget itself, so they win over scrolling defaults
    Binding("j,down", "cursor(1)", "Down", id="down", show=False),
    Binding("k,up", "cursor(-1)", "Up", id="up", show=False),
    Binding("pagedown", "page(1)", "Page down", id="page-down", show=False),
    Binding("pageup", "page(-1)", "Page up", id="page-up", show=False),
    Binding("g,home", "top", "Top", id="top"),
    Binding("G,end", "bottom", "Bottom", id="bottom"),
]

DETAIL_KEYS: list[Binding] = [
    Binding("escape", "back", "Back", id="back"),
    Binding("1", "show_tab('summary')", "Summary", id="detail-summary"),
    Binding("2", "show_tab('error')", "Error", id="detail-error"),
    Binding("3", "show_tab('raw')", "Raw", id="detail-raw"),
    Binding("r", "requeue", "Requeue", id="requeue"),
    Binding("d", "discard", "Discard", id="discard"),
]

CONFIRM_KEYS: list[Binding] = [
    Binding("y", "confirm", "Yes", id="confirm-yes"),
    Binding("n,escape", "cancel", "No", id="confirm-no"),
]

SCOPES: dict[str, list[Binding]] = {
    "Everywhere": APP_KEYS,
    "Dashboard (queues / workers / failures)": DASHBOARD_KEYS,
    "Failures of one group": FAILURE_LIST_KEYS,
    "Jobs of one queue": JOB_SCREEN_KEYS + JOB_LIST_KEYS,
    "Job / failure detail": DETAIL_KEYS,
    "Confirmation": CONFIRM_KEYS,
}

# Keys that are not bindings of ours but appear in help (handled by Textual widgets).
WIDGET_KEYS: list[tuple[str, str]] = [
    ("enter", "open the row: a queue's jobs, a failure group's failures, a job's or failure's detail"),
    ("up / down / pgup / pgdn", "move in tables"),
    ("tab / shift+tab", "next / previous panel"),
]


# Every binding action, classified for read-only mode; tests/test_read_only.py fails on an action in
# neither set. Mutating actions are refused on read-only targets before the confirmation opens.
MUTATING_ACTIONS = frozenset({"requeue", "discard", "confirm"})  # confirm: only reachable from requeue/discard
READ_ACTIONS = frozenset({
    "quit", "help", "command_palette", "toggle_pause", "faster", "slower", "refresh_now", "panel", "filter", "sort",
    "sort_reverse", "tag", "untag_all", "back", "open", "cursor", "page", "top", "bottom", "show_tab", "cancel",
    "close",
})


def action_name(action: str) -> str:
    """`panel('queues')` -> `panel`."""
    return action.split("(", 1)[0]


def binding_ids() -> set[str]:
    return {b.id for keys in SCOPES.values() for b in keys if b.id}


def parse_keymap(config_raw: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The `[keymap]` table of the config -> ({binding id: keys}, warnings).

    Unknown ids and non-string values are reported (and ignored), never fatal: a typo in the
    keymap must not keep the operator from watching the queues.
    """
    table = config_raw.get("keymap")
    if table is None:
        return {}, []
    if not isinstance(table, Mapping):
        return {}, ["[keymap] must be a table of binding-id = \"key\" entries; ignored"]
    known = binding_ids()
    keymap: dict[str, str] = {}
    warnings: list[str] = []
    for bid, keys in table.items():
        if bid not in known:
            warnings.append(f"[keymap] unknown binding id {bid!r} ignored (known: {', '.join(sorted(known))})")
            continue
        if not isinstance(keys, str) or not keys.strip():
            warnings.append(f"[keymap] {bid} must be a non-empty string such as \"R\" or \"ctrl+r\"; ignored")
            continue
        keymap[bid] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return keymap, warnings


_KEY_NAMES = {"question_mark": "?", "slash": "/", "plus": "+", "minus": "-", "space": "space",
              "escape": "esc", "pagedown": "pgdn", "pageup": "pgup", "exclamation_mark": "!"}


def display_keys(keys: str) -> str:
    """`question_mark,f1` -> `? / f1` (how the help screen shows a binding's keys)."""
    return " / ".join(_KEY_NAMES.get(k.strip(), k.strip()) for k in keys.split(",") if k.strip())


def effective_keys(binding: Binding, keymap: Mapping[str, str]) -> str:
    """The keys a binding answers to once the user keymap is applied, for display."""
    if binding.id and binding.id in keymap:
        return display_keys(keymap[binding.id])
    return display_keys(binding.key)
