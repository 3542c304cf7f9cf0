"""Cell text for the TUI: every queue-derived string becomes a plain `rich.text.Text` of
`safe.visible()` output (markup is never parsed: Textual's DataTable would treat a `str` cell as
markup, so this module never hands it one), plus compact number/age/rate formatters.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from jobctl.safe import visible
from jobctl.timeutil import format_age


def safe(value: object, *, style: str = "", max_len: int | None = 300) -> Text:
    """Untrusted value -> plain Text with control/bidi/zero-width characters shown escaped."""
    if value is None or value == "":
        return Text("-", style="dim")
    return Text(visible(value, max_len=max_len), style=style, no_wrap=True, end="")


def plain(text: str, style: str = "") -> Text:
    """Text we wrote ourselves (labels, numbers): still never markup."""
    return Text(text, style=style, no_wrap=True, end="")


def count(n: int | None, *, capped: bool = False) -> str:
    if n is None:
        return "-"
    return f"{n:,}+" if capped else f"{n:,}"


def rate(r: float | None) -> str:
    """Per-second rate: '-' unknown, '0' idle, 3 significant-ish digits otherwise."""
    if r is None:
        return "-"
    if r == 0:
        return "0"
    if r >= 100:
        return f"{r:,.0f}"
    if r >= 10:
        return f"{r:.1f}"
    return f"{r:.2f}"


def age_since(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    return format_age((now - when).total_seconds())


def guarded(render: Callable[[], Text]) -> Text:
    """Render one cell; a bad entry shows a marker instead of taking the whole view down."""
    try:
        return render()
    except Exception as exc:  # noqa: BLE001 - one unrenderable value must not crash the table
        return Text(f"<bad value: {type(exc).__name__}>", style="red", no_wrap=True, end="")


def state_style(state: str | None) -> str:
    """Semantic colour: green OK, yellow warn, red crit, dim idle (NO_COLOR turns it monochrome)."""
    return {
        "working": "green", "ready": "", "idle": "dim", "stale": "red", "running": "green",
        "stuck": "red", "failed": "red", "bad": "red", "retrying": "yellow", "scheduled": "cyan",
    }.get(state or "", "")


def latency_style(seconds: float | None) -> str:
    if seconds is None:
        return "dim"
    if seconds >= 3600:
        return "red"
    if seconds >= 300:
        return "yellow"
    return ""


def compact_args(args: object, max_len: int = 400) -> str:
    """Job args as one line of JSON (the list view); `visible()` is applied by the caller."""
    from jobctl.render.output import json_dumps

    try:
        s = json_dumps(args)
    except Exception:  # noqa: BLE001 - odd values still show something
        s = repr(args)
    return s if len(s) <= max_len else s[:max_len] + "…"
