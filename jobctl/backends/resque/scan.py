"""Streaming over Redis lists in LRANGE windows: bounded memory, O(window) per round trip.

Indexes are absolute (from the head) and fixed from the LLEN taken when the scan starts, so
entries appended during a scan (new failures, new jobs) never shift what is being read and are
not read twice. Removals during a scan can shift entries; callers that act on an entry re-verify
its bytes first (see ids.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

WINDOW = 1000


def iter_newest_first(r: Any, key: str, *, length: int | None = None, start: int | None = None,
                      window: int = WINDOW) -> Iterator[tuple[int, bytes]]:
    """(index, raw) from the tail towards the head. `start`: highest index to read (default: last)."""
    if length is None:
        length = int(r.llen(key))
    hi = length - 1 if start is None else min(start, length - 1)
    while hi >= 0:
        lo = max(0, hi - window + 1)
        chunk = r.lrange(key, lo, hi)
        if not chunk:
            return
        # the list may have shrunk since LLEN; index what we got from lo upwards
        for i in range(len(chunk) - 1, -1, -1):
            yield lo + i, chunk[i]
        hi = lo - 1


def iter_oldest_first(r: Any, key: str, *, start: int = 0, stop: int | None = None,
                      window: int = WINDOW) -> Iterator[tuple[int, bytes]]:
    """(index, raw) from `start` towards the tail, until `stop` (exclusive) or the end of the list."""
    lo = start
    while stop is None or lo < stop:
        hi = lo + window - 1 if stop is None else min(lo + window, stop) - 1
        chunk = r.lrange(key, lo, hi)
        if not chunk:
            return
        for i, raw in enumerate(chunk):
            yield lo + i, raw
        if len(chunk) < hi - lo + 1:
            return
        lo = hi + 1
