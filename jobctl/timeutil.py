"""Time helpers shared by every layer: durations, user-given times, UTC conversion."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)", re.I)
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `2h`, `1d12h`, `1.5h`, plain seconds `30`."""
    s = text.strip().lower()
    if not s:
        raise ValueError("empty duration")
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return _seconds(float(s), text)
    pos = 0
    total = 0.0
    for m in _DURATION.finditer(s):
        if m.start() != pos and s[pos:m.start()].strip():
            raise ValueError(f"invalid duration {text!r} (examples: 30s, 15m, 2h, 1d)")
        total += float(m.group(1)) * _UNIT[m.group(2).lower()]
        pos = m.end()
    if pos == 0 or s[pos:].strip():
        raise ValueError(f"invalid duration {text!r} (examples: 30s, 15m, 2h, 1d)")
    return _seconds(total, text)


def _seconds(total: float, text: str) -> timedelta:
    try:
        return timedelta(seconds=total)
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long") from None


def as_utc(dt: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """A user-given point in time: a duration ago (`2h`) or an ISO 8601 time (naive = UTC)."""
    now = now or utcnow()
    s = text.strip()
    try:
        ago = parse_duration(s)
    except ValueError:
        pass
    else:
        try:
            return now - ago
        except OverflowError:
            raise ValueError(f"{text!r} ago is before year 1") from None
    try:
        return as_utc(datetime.fromisoformat(s.replace("Z", "+00:00")))
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: use a duration ago (2h, 30m, 1d) or ISO 8601 (2026-11-27T10:00:00Z)"
        ) from None


def format_age(seconds: float | None) -> str:
    """Compact human age: 4s, 3m12s, 5h02m, 2d03h; '-' for unknown."""
    if seconds is None or seconds != seconds or seconds in (float("inf"), float("-inf")):
        return "-"  # unknown, or NaN/infinite (a duration computed from a garbage time)
    if seconds < 0:
        return "-" + format_age(-seconds)
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"
