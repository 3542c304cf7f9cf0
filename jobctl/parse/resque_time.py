"""Every time format Resque (and its plugins) has written, parsed to aware UTC datetimes.

Forms seen in real data (see shared/docs/resque-format.md §1.4, §1.5, §1.6, §1.8):

* failure ``failed_at`` / ``retried_at``: ``"%Y/%m/%d %H:%M:%S %Z"`` (v1.18+), e.g.
  ``2026/11/27 19:42:41 UTC``, local time of the failing process + a zone *abbreviation*
  (``UTC``, ``PST``, ``CEST``, ``+03``, Windows long names such as ``W. Europe Standard Time``);
* the same without a zone (≤ v1.17 ``failed_at``; ``retried_at`` on ≤ v2.7 and on RedisMultiQueue);
* ISO 8601 (``run_at`` of a worker entry, heartbeats, ActiveJob ``enqueued_at`` with up to 9
  fractional digits);
* Ruby ``Time#to_s``: ``2026-11-27 19:51:54 +0000`` (``worker:<id>:started``; Resque 1.0
  ``failed_at``) and Ruby 1.8's ``Fri Nov 27 19:42:41 -0800 2026``;
* epoch seconds (resque-status ``time``, scheduler timestamps).

Guesses (documented in README "Formats"): a time *without* any zone is the writer's local time,
which we cannot know; we read it as UTC. An unknown zone abbreviation is also read as UTC.
Ambiguous abbreviations take their most common meaning (``IST`` = India, ``CST`` = US Central,
``BST`` = British Summer Time).

Parsing is on the hot path of `failed` scans (200k entries/s), so the common shape is parsed by
slicing, and results are memoised per distinct string (timestamps repeat at second precision).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

# Zone abbreviation -> offset in minutes east of UTC.
_ABBREV_MIN: dict[str, int] = {
    "UTC": 0, "GMT": 0, "UT": 0, "Z": 0, "WET": 0, "WEZ": 0,
    "BST": 60, "IST": 330, "CET": 60, "MEZ": 60, "WAT": 60, "WEST": 60, "WESZ": 60,
    "CEST": 120, "MESZ": 120, "EET": 120, "CAT": 120, "SAST": 120, "IDT": 180,
    "EEST": 180, "MSK": 180, "EAT": 180, "AST": -240, "ADT": -180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600,
    "NST": -210, "NDT": -150, "BRT": -180, "ART": -180,
    "PKT": 300, "ICT": 420, "WIB": 420, "SGT": 480, "HKT": 480, "PHT": 480, "AWST": 480,
    "JST": 540, "KST": 540, "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660,
    "NZST": 720, "NZDT": 780,
}
# Windows long zone names (what %Z gives there); only the common ones.
_LONG_MIN: dict[str, int] = {
    "coordinated universal time": 0, "gmt standard time": 0, "gmt daylight time": 60,
    "greenwich standard time": 0, "w. europe standard time": 60, "w. europe daylight time": 120,
    "romance standard time": 60, "romance daylight time": 120,
    "central europe standard time": 60, "central europe daylight time": 120,
    "central european standard time": 60, "central european daylight time": 120,
    "e. europe standard time": 120, "fle standard time": 120, "fle daylight time": 180,
    "russian standard time": 180, "india standard time": 330, "china standard time": 480,
    "tokyo standard time": 540, "aus eastern standard time": 600, "aus eastern daylight time": 660,
    "eastern standard time": -300, "eastern daylight time": -240,
    "central standard time": -360, "central daylight time": -300,
    "mountain standard time": -420, "mountain daylight time": -360,
    "pacific standard time": -480, "pacific daylight time": -420,
}

_TZ_CACHE: dict[int, timezone] = {}
_CACHE: dict[str, datetime | None] = {}
_CACHE_MAX = 50_000

_SLASH = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})(?:\s+(.+?))?\s*$")
_DASH_SPACE = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:\s+(.+?))?\s*$")
_RUBY18 = re.compile(
    r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\S+) (\d{4})\s*$"
)
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_NUM_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})?$")


def _tz(minutes: int) -> timezone:
    tz = _TZ_CACHE.get(minutes)
    if tz is None:
        tz = _TZ_CACHE[minutes] = UTC if minutes == 0 else timezone(timedelta(minutes=minutes))
    return tz


def zone_offset(token: str | None) -> int | None:
    """Minutes east of UTC for a zone token (`UTC`, `CEST`, `+03`, `-0530`, long Windows names).

    None = no token (caller decides); unknown names also give None.
    """
    if token is None:
        return None
    t = token.strip()
    if not t:
        return None
    m = _NUM_OFFSET.fullmatch(t)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return sign * (int(m.group(2)) * 60 + int(m.group(3) or 0))
    up = t.upper()
    if up in _ABBREV_MIN:
        return _ABBREV_MIN[up]
    return _LONG_MIN.get(t.lower())


def _build(y: int, mo: int, d: int, h: int, mi: int, s: int, us: int, zone: str | None) -> datetime | None:
    off = zone_offset(zone)
    try:
        dt = datetime(y, mo, d, h, mi, s, us, tzinfo=_tz(off or 0))
    except ValueError:
        return None
    return dt if off in (0, None) else dt.astimezone(UTC)


def _parse_uncached(s: str) -> datetime | None:
    m = _SLASH.match(s)
    if m:
        y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
        return _build(y, mo, d, h, mi, sec, 0, m.group(7))
    m = _DASH_SPACE.match(s)
    if m:
        y, mo, d, h, mi, sec = (int(x) for x in m.groups()[:6])
        frac = m.group(7)
        us = int((frac + "000000")[:6]) if frac else 0
        return _build(y, mo, d, h, mi, sec, us, m.group(8))
    if "T" in s:
        try:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
        except ValueError:
            dt = None
        if dt is not None:
            return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    m = _RUBY18.match(s)
    if m:
        mon = _MONTHS.get(m.group(1))
        if mon is None:
            return None
        return _build(int(m.group(7)), mon, int(m.group(2)), int(m.group(3)), int(m.group(4)),
                      int(m.group(5)), 0, m.group(6))
    if s.isdigit() or (s[:1] == "-" and s[1:].isdigit()):
        return parse_epoch(int(s))
    return None


def _fast_slash_utc(s: str) -> datetime | None:
    """The form Resque writes today, `2026/11/27 19:42:41 UTC`, by slicing (hot path of failed scans)."""
    if len(s) == 23 and s[4] == "/" and s[7] == "/" and s[13] == ":" and s[16] == ":" and s.endswith(" UTC"):
        try:
            return datetime(int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19]),
                            tzinfo=UTC)
        except ValueError:
            return None
    return None


def parse_resque_time(value: object) -> datetime | None:
    """Any stored Resque time (string, bytes or epoch number) -> aware UTC datetime, None if unreadable.

    Never raises.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return parse_epoch(value)
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str):
        return None
    hit = _CACHE.get(value)
    if hit is not None or value in _CACHE:
        return hit
    try:
        result = _fast_slash_utc(value) or _parse_uncached(value.strip())
    except (ValueError, OverflowError):
        result = None
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[value] = result
    return result


def parse_epoch(value: float) -> datetime | None:
    """Unix seconds -> aware UTC datetime (None when out of range)."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def has_zone(value: str) -> bool:
    """True when a stored time string names its zone (False = read as UTC, a guess)."""
    s = value.strip()
    if "T" in s and (s.endswith("Z") or _NUM_OFFSET.search(s)):
        return True
    for rx, group in ((_SLASH, 7), (_DASH_SPACE, 8)):
        m = rx.match(s)
        if m:
            return zone_offset(m.group(group)) is not None
    m = _RUBY18.match(s)
    return bool(m and zone_offset(m.group(6)) is not None)
