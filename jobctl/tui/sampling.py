"""Rates and histories from successive samples (no Textual, no drivers).

Resque keeps lifetime counters (`stat:processed`, `stat:failed`) and queue lengths, not rates.
`jobctl top` derives rates by sampling them once per refresh tick:

* counter rate  = (value_now - value_before) / seconds between the samples; a counter that went
  *down* (server restarted, stats reset) gives no rate for that tick instead of a negative one;
* queue rates   = the LLEN delta split into a net enqueue rate (size grew) and a net dequeue rate
  (size shrank). A queue that receives and loses 10 jobs between two ticks shows 0/0: Resque keeps
  no per-queue counters, so this is the best an outside observer can do (README says so).

Histories are short ring buffers feeding the sparklines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Sequence

SPARK_CHARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Iterable[float | None], width: int = 12) -> str:
    """Values -> a fixed-width block-character sparkline (right-aligned, newest on the right).

    `None` (unknown) samples are drawn as spaces. The scale is 0..max of the shown window, so a
    flat non-zero line draws as full blocks and an all-zero line as the lowest block.
    """
    vals = list(values)[-width:]
    known = [v for v in vals if v is not None]
    top = max(known) if known else 0.0
    out = []
    for v in vals:
        if v is None:
            out.append(" ")
        elif top <= 0:
            out.append(SPARK_CHARS[0])
        else:
            idx = int(round((max(v, 0.0) / top) * (len(SPARK_CHARS) - 1)))
            out.append(SPARK_CHARS[min(idx, len(SPARK_CHARS) - 1)])
    return " " * (width - len(out)) + "".join(out)


class History:
    """A bounded series of samples (newest last)."""

    __slots__ = ("_values",)

    def __init__(self, size: int = 30) -> None:
        self._values: deque[float | None] = deque(maxlen=size)

    def add(self, value: float | None) -> None:
        self._values.append(value)

    def values(self) -> tuple[float | None, ...]:
        return tuple(self._values)

    def __len__(self) -> int:
        return len(self._values)


class RateTracker:
    """Per-key rates from successive samples of a monotonic counter (or of a level, with `signed`)."""

    __slots__ = ("_prev",)

    def __init__(self) -> None:
        self._prev: dict[Hashable, tuple[float, float]] = {}

    def sample(self, key: Hashable, value: float | None, at: float, *, signed: bool = False) -> float | None:
        """Record `value` taken at monotonic time `at`; return the rate since the previous sample.

        Returns None for the first sample, an unknown value, no elapsed time, or (unless `signed`)
        a counter that went backwards.
        """
        if value is None:
            self._prev.pop(key, None)
            return None
        prev = self._prev.get(key)
        self._prev[key] = (at, value)
        if prev is None:
            return None
        dt = at - prev[0]
        if dt <= 0:
            return None
        delta = value - prev[1]
        if delta < 0 and not signed:
            return None
        return delta / dt

    def forget_except(self, keys: Sequence[Hashable] | set[Hashable]) -> None:
        """Drop state for keys no longer present (queues that disappeared)."""
        keep = set(keys)
        for k in [k for k in self._prev if k not in keep]:
            del self._prev[k]


def split_net_rate(rate: float | None) -> tuple[float | None, float | None]:
    """A signed size rate -> (net enqueue/s, net dequeue/s); unknown stays unknown."""
    if rate is None:
        return None, None
    if rate >= 0:
        return rate, 0.0
    return 0.0, -rate
