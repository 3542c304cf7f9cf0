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

_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_WS = re.compile(r"[ \t\n\r]*")


class SpanError(ValueError):
    """The record is not a JSON object we can walk (corrupt entry, tombstone)."""


def top_level_spans(raw: bytes) -> tuple[dict[str, tuple[int, int]], int]:
    """Byte ranges [start, end) of every top-level value, and the index of the closing `}`.

    Raises SpanError for anything that is not a well-formed JSON object at the top level.
    """
    s = raw.decode("latin-1")
    spans: dict[str, tuple[int, int]] = {}
    try:
        i = _WS.match(s, 0).end()  # type: ignore[union-attr]
        if s[i] != "{":
            raise SpanError("not a JSON object")
        i = _WS.match(s, i + 1).end()  # type: ignore[union-attr]
        if s[i] == "}":
            return spans, i
        while True:
            if s[i] != '"':
                raise SpanError(f"expected a key at byte {i}")
            key, i = _SCAN(s, i)
            i = _WS.match(s, i).end()  # type: ignore[union-attr]
            if s[i] != ":":
                raise SpanError(f"expected ':' at byte {i}")
            start = _WS.match(s, i + 1).end()  # type: ignore[union-attr]
            _, end = _SCAN(s, start)
            spans[key] = (start, end)
            i = _WS.match(s, end).end()  # type: ignore[union-attr]
            if s[i] == ",":
                i = _WS.match(s, i + 1).end()  # type: ignore[union-attr]
                continue
            if s[i] == "}":
                if s[i + 1:].strip(" \t\n\r"):
                    raise SpanError("trailing bytes after the object")
                return spans, i
            raise SpanError(f"expected ',' or '}}' at byte {i}")
    except (IndexError, StopIteration, ValueError) as e:
        if isinstance(e, SpanError):
            raise
        raise SpanError(f"not a well-formed JSON object ({type(e).__name__})") from None


def payload_span(raw: bytes) -> tuple[int, int]:
    """[start, end) of the top-level "payload" value, which must be a JSON object."""
    spans, _ = top_level_spans(raw)
    span = spans.get("payload")
    if span is None:
        raise SpanError("no payload in the failure record")
    if raw[span[0]:span[0] + 1] != b"{":
        raise SpanError("payload is not a JSON object")
    return span


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
