"""Zone-less database datetimes <-> the aware UTC datetimes jobctl uses everywhere.

Delayed Job's columns carry no zone (`timestamp without time zone`, MySQL `datetime`, SQLite
text). ActiveRecord's default (`default_timezone = :utc`) stores UTC, which we assume unless the
target sets `db_timezone` (an IANA zone such as ``"America/New_York"``, or ``"local"`` for this
machine's zone) for apps configured with ``default_timezone = :local``.

SQLite holds datetimes as text exactly as ActiveRecord 6.1 writes them:
``YYYY-MM-DD HH:MM:SS[.ffffff]`` (space separator, no zone, fraction omitted when zero). DJ
compares them as strings, so we bind comparison values in that same form and parse the text we
read tolerantly (a ``T`` separator, a ``Z``/offset suffix or fewer fraction digits are accepted;
anything else becomes ``None`` rather than an error in the middle of a listing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from jobctl.errors import UsageError

_SQLITE_TEXT = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?\s*$"
)


def zone_from_option(value: Any) -> tzinfo:
    """`db_timezone` option -> tzinfo (default UTC)."""
    if value is None or str(value).strip().upper() in ("", "UTC", "Z", "ETC/UTC"):
        return UTC
    name = str(value).strip()
    if name.lower() == "local":
        local = datetime.now().astimezone().tzinfo
        return local or UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"db_timezone {name!r} is not a known time zone (examples: UTC, Europe/Berlin, local)") from None


def format_sqlite(dt: datetime) -> str:
    """A naive (database-zone) datetime in ActiveRecord's SQLite text form."""
    if dt.microsecond:
        return dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def parse_sqlite(text: str) -> tuple[datetime, bool] | None:
    """SQLite text -> (datetime, has_explicit_zone); naive unless the text carried a zone."""
    m = _SQLITE_TEXT.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    try:
        micro = int((frac or "0")[:6].ljust(6, "0"))
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro)
    except ValueError:
        return None
    if zone:
        if zone == "Z":
            return dt.replace(tzinfo=UTC), True
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        from datetime import timedelta, timezone

        off = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return dt.replace(tzinfo=timezone(sign * off)), True
    return dt, False


@dataclass(slots=True)
class TimeCodec:
    """Converts between jobctl's aware UTC datetimes and one database's stored form."""

    zone: tzinfo = UTC
    text_storage: bool = False  # SQLite: datetimes stored as text

    def to_db(self, dt: datetime) -> Any:
        """Aware datetime -> the value to bind when comparing with a datetime column."""
        local = dt.astimezone(self.zone).replace(tzinfo=None)
        return format_sqlite(local) if self.text_storage else local

    def from_db(self, value: Any) -> datetime | None:
        """A stored value (naive datetime, aware datetime, SQLite text, None) -> aware UTC."""
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                return value.astimezone(UTC)
            return value.replace(tzinfo=self.zone).astimezone(UTC)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            parsed = parse_sqlite(value)
            if parsed is None:
                return None
            dt, zoned = parsed
            return dt.astimezone(UTC) if zoned else dt.replace(tzinfo=self.zone).astimezone(UTC)
        return None
