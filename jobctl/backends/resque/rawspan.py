"""Byte-exact surgery on stored Resque failure records: find the payload, stamp retried_at.

A failure record is `{"failed_at":…,"payload":{…},"exception":…,…}` as written by Resque's own
JSON encoder, which may be the json gem or ActiveSupport (they escape `<`, `&`, U+2028 and format
floats differently; see shared/docs/resque-format.md §4). Requeueing must push the job *exactly*
as it was stored, so we never decode and re-encode: we find the byte range of the top-level
"payload" value and push that range. Likewise `--keep` inserts/replaces `"retried_at"` in place
and leaves every other byte of the record alone.

How: the record is decoded as latin-1 (one char per byte, so char offsets are byte offsets and
any bytes, even invalid UTF-8, survive), then the stdlib's C JSON scanner (`scan_once`) skips
over each top-level key and value and reports where it ended. Only the top level is walked.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from orjson import dumps as _orjson_dumps

_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")


class SpanError(ValueError):
    """The record is not a JSON object we can walk (corrupt entry, tombstone)."""


def _walk(s: str, stop_at: str | None) -> tuple[dict[str, tuple[int, int]], int]:
    """Top-level (key -> [start, end)) of the object in `s`; returns early after `stop_at`'s value
    (then the second item is -1), else ends at the closing brace, whose index it returns."""
    spans: dict[str, tuple[int, int]] = {}
    match = _WS.match
    i = match(s, 0).end()  # type: ignore[union-attr]
    if s[i] != "{":
        raise SpanError("not a JSON object")
    i = match(s, i + 1).end()  # type: ignore[union-attr]
    if s[i] == "}":
        return spans, i
    while True:
        if s[i] != '"':
            raise SpanError(f"expected a key at byte {i}")
        key, i = _SCAN(s, i)
        if s[i] != ":":
            i = match(s, i).end()  # type: ignore[union-attr]
            if s[i] != ":":
                raise SpanError(f"expected ':' at byte {i}")
        start = i + 1
        if s[start] in " \t\n\r":
            start = match(s, start).end()  # type: ignore[union-attr]
        _, end = _SCAN(s, start)
        spans[key] = (start, end)
        if key == stop_at:
            return spans, -1
        i = end
        if s[i] not in ",}":
            i = match(s, i).end()  # type: ignore[union-attr]
        if s[i] == ",":
            i = match(s, i + 1).end()  # type: ignore[union-attr]
            continue
        if s[i] == "}":
            if s[i + 1:].strip(" \t\n\r"):
                raise SpanError("trailing bytes after the object")
            return spans, i
        raise SpanError(f"expected ',' or '}}' at byte {i}")


def _spans(raw: bytes, stop_at: str | None) -> tuple[dict[str, tuple[int, int]], int]:
    try:
        return _walk(raw.decode("latin-1"), stop_at)
    except SpanError:
        raise
    except (IndexError, StopIteration, ValueError, RecursionError) as e:  # RecursionError: absurdly deep values
        raise SpanError(f"not a well-formed JSON object ({type(e).__name__})") from None


def top_level_spans(raw: bytes) -> tuple[dict[str, tuple[int, int]], int]:
    """Byte ranges [start, end) of every top-level value, and the index of the closing `}`.

    Raises SpanError for anything that is not a well-formed JSON object at the top level.
    """
    return _spans(raw, None)


def payload_span(raw: bytes) -> tuple[int, int]:
    """[start, end) of the top-level "payload" value, which must be a JSON object.

    Stops reading at the payload (Resque writes it second, after failed_at): the rest of the
    record is not walked, which keeps this at a few microseconds per record.
    """
    spans, _ = _spans(raw, "payload")
    span = spans.get("payload")
    if span is None:
        raise SpanError("no payload in the failure record")
    if raw[span[0]:span[0] + 1] != b"{":
        raise SpanError("payload is not a JSON object")
    return span


def fast_payload_span(raw: bytes, payload: object) -> tuple[int, int] | None:
    """The payload span of a record Resque laid out (`{"failed_at":"…","payload":{…},…`), found
    without walking: `payload` is the already-decoded payload; if re-encoding it compactly gives
    exactly the bytes stored right after `"payload":`, those bytes are the whole value (a JSON
    object's extent is fixed by its own bytes). None when the layout or the bytes differ (e.g.
    ActiveSupport escapes, Ruby float forms): then use `payload_span`, which walks.
    """
    if not raw.startswith(b'{"failed_at":"'):
        return None
    q = raw.find(b'"', 14)
    if q < 0 or not raw.startswith(b'","payload":', q) or raw.find(b"\\", 14, q) >= 0:
        return None
    try:
        enc = _orjson_dumps(payload)
    except TypeError:
        return None
    start = q + 12
    return (start, start + len(enc)) if raw.startswith(enc, start) else None


def resque_stamp(now: datetime, *, with_zone: bool) -> str:
    """`retried_at` exactly as Resque writes it: `%Y/%m/%d %H:%M:%S %Z`, or without the zone.

    Resque ≥ 3.0's Redis backend writes the zone; ≤ 2.7 and the RedisMultiQueue backend (all
    versions) do not (resque-format.md §1.4). Resque uses the requeueing process's local time;
    jobctl works in UTC, so the zone is always "UTC".
    """
    text = now.strftime("%Y/%m/%d %H:%M:%S")
    return f"{text} UTC" if with_zone else text


def with_retried_at(raw: bytes, stamp: str) -> bytes:
    """The record with `"retried_at":"<stamp>"` set: replaced in place, or appended as last key."""
    spans, close = top_level_spans(raw)
    value = json.dumps(stamp).encode("ascii")
    span = spans.get("retried_at")
    if span is not None:
        return raw[:span[0]] + value + raw[span[1]:]
    sep = b"," if spans else b""
    return raw[:close] + sep + b'"retried_at":' + value + raw[close:]
