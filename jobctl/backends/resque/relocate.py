"""Finding a failure entry again by its exact bytes after the list moved under a requeue walk.

Someone else (resque-web, another tool) may remove entries while jobctl walks a failed list, which
shifts every index below the removal. The walk then looks for the entry it read — the nearest
copy to where it was, else the last copy anywhere — and acts on it there, or reports it as gone.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

Call = Callable[[Callable[[], Any], bool], tuple[Any, bool]]  # (fn, is_write) -> (result, retried)


def relocate(r: Any, call: Call, key: str, raw: bytes, near: int, span: int) -> int | None:
    """Index of an entry with exactly these bytes: the nearest to `near` within `span`, else the
    last one anywhere (LPOS RANK -1; Redis < 6.0.6 has no LPOS: the list is then read from the
    tail in windows, bounded memory)."""
    lo = max(0, near - span)
    rows, _ = call(lambda: r.lrange(key, lo, near + span), False)
    best: int | None = None
    for i, v in enumerate(rows):
        if v == raw and (best is None or abs(lo + i - near) < abs(best - near)):
            best = lo + i
    if best is not None:
        return best
    from redis.exceptions import ResponseError

    try:
        pos, _ = call(lambda: r.lpos(key, raw, rank=-1), False)
    except ResponseError as e:
        if "unknown command" not in str(e).lower():
            raise
        return _last_by_reading(r, call, key, raw)
    return int(pos) if pos is not None else None


def _last_by_reading(r: Any, call: Call, key: str, raw: bytes, window: int = 1000) -> int | None:
    length, _ = call(lambda: r.llen(key), False)
    hi = int(length) - 1
    while hi >= 0:
        lo = max(0, hi - window + 1)
        rows, _ = call(partial(r.lrange, key, lo, hi), False)
        for i in range(len(rows) - 1, -1, -1):
            if rows[i] == raw:
                return lo + i
        hi = lo - 1
    return None
