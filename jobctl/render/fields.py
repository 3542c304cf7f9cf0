"""Display formatting shared by the CLI tables, the TUI and `tail`: short args, times, ages, sizes.

Pure functions returning plain strings (no Rich, no markup). They do NOT make text safe for a
terminal: callers pass the result through `jobctl.render.output` (which applies
`safe.visible()`) or call `visible()` themselves.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from jobctl.timeutil import format_age, utcnow

ARG_STR_MAX = 40  # longest string argument shown whole in a short rendering
ARGS_MAX = 80  # whole short rendering


def _short_value(v: Any, depth: int = 0) -> str:
    if isinstance(v, str):
        if len(v) > ARG_STR_MAX:
            return json.dumps(v[:ARG_STR_MAX], ensure_ascii=False) + f"…({len(v)} chars)"
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        if depth >= 2:
            return f"[…{len(v)}]"
        return "[" + ", ".join(_short_value(x, depth + 1) for x in v[:8]) + (", …" if len(v) > 8 else "") + "]"
    if isinstance(v, dict):
        if depth >= 2:
            return f"{{…{len(v)}}}"
        items = list(v.items())
        body = ", ".join(f"{k}: {_short_value(x, depth + 1)}" for k, x in items[:6])
        return "{" + body + (", …" if len(items) > 6 else "") + "}"
    return str(v)


def short_args(args: Any, max_len: int = ARGS_MAX) -> str:
    """`[44, "masterbrew", {"a": 1}]` -> `44, "masterbrew", {a: 1}` cut to `max_len` characters."""
    if args is None:
        return ""
    items = args if isinstance(args, list) else [args]
    text = ", ".join(_short_value(a) for a in items)
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return text


def pretty_json(value: Any) -> str:
    """Indented JSON for `show` (non-ASCII kept, big ints kept, control characters escaped by json)."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def format_time(dt: datetime | None) -> str:
    """Aware datetime -> `2026-11-27 19:51:50Z` (UTC, second precision); '-' when unknown."""
    if dt is None:
        return "-"
    return dt.strftime("%Y-%m-%d %H:%M:%SZ")


def format_ago(dt: datetime | None, now: datetime | None = None) -> str:
    """`38m12s ago` / `in 5m00s`; '-' when unknown."""
    if dt is None:
        return "-"
    delta = ((now or utcnow()) - dt).total_seconds()
    return f"{format_age(delta)} ago" if delta >= 0 else f"in {format_age(-delta)}"


def format_when(dt: datetime | None, now: datetime | None = None) -> str:
    """`2026-11-27 19:51:50Z (38m12s ago)`."""
    if dt is None:
        return "-"
    return f"{format_time(dt)} ({format_ago(dt, now)})"


def format_iso_when(value: Any, now: datetime | None = None) -> str:
    """Like format_when for values already turned into ISO strings by `to_dict()`."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_when(value, now)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return format_when(dt, now)


def format_duration(seconds: float | None) -> str:
    return format_age(seconds)


def format_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def first_line(text: str | None, max_len: int = 120) -> str:
    if not text:
        return ""
    line = text.split("\n", 1)[0]
    return line if len(line) <= max_len else line[: max_len - 1] + "…"


def job_label(name: str | None, parse_error: str | None = None) -> str:
    """Class column: the display name, or a visible BAD marker for unparseable entries."""
    if parse_error:
        return f"BAD ({name})" if name and name != "?" else "BAD"
    return name or "?"


def display_class(backend_kind: str, name: str | None, job_class: str | None) -> str | None:
    """The CLASS column: Resque's display name ("X (via ActiveJob)"); on Delayed Job the job class
    (DJ's own `name` for ActiveJob rows is a long "… from DelayedJob(q) with arguments: …" sentence,
    kept whole in `-o json` and `show`)."""
    if backend_kind == "delayed_job" and job_class:
        return job_class
    return name
