"""Monitoring-plugin states and threshold ranges (the Nagios / Icinga / Sensu range syntax).

A range says when a value *alerts*:

    ========  ==============================
    ``10``    value < 0 or value > 10
    ``10:``   value < 10
    ``~:10``  value > 10   (``~`` = minus infinity)
    ``10:20`` value < 10 or value > 20
    ``@10:20`` 10 <= value <= 20 (``@`` inverts)
    ========  ==============================

This follows monitoring-plugins' ``parse_range_string`` (``:10`` is ``0:10``; an empty end is
plus infinity), but is strict where C's ``strtod`` is lax: ``5x`` is an error, not ``5``.
For time metrics (latency) a bound may carry a unit (``90s``, ``15m``, ``2h``, ``1d``); it is
normalised to seconds, so perfdata always shows plain numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum


class State(IntEnum):
    """Plugin states; the int value is the process exit code."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def rank(self) -> int:
        """Severity order for "worst of": OK < WARNING < UNKNOWN < CRITICAL (Icinga's order)."""
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> State:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"{text!r} is not one of ok, warning, critical, unknown") from None


_RANK = {State.OK: 0, State.WARNING: 1, State.UNKNOWN: 2, State.CRITICAL: 3}


def worst(states: Iterable[State]) -> State:
    """The most severe state (OK for an empty iterable)."""
    result = State.OK
    for s in states:
        if s.rank > result.rank:
            result = s
    return result


_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_BOUND = re.compile(rf"({_NUMBER})(ms|s|m|h|d|w)?")


def format_number(x: float) -> str:
    """Shortest faithful text: 5 not 5.0, 0.25, 1e+20; used in perfdata and messages."""
    if x == math.inf:
        return "inf"
    if x == -math.inf:
        return "-inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def format_duration(seconds: float) -> str:
    """Compact exact duration for configured values: 90s -> 1m30s, 900 -> 15m, 3600 -> 1h, 0.5 -> 0.5s."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds != int(seconds) or seconds < 60:
        return f"{format_number(seconds)}s"
    rest = int(seconds)
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out


def _bound(text: str, *, durations: bool, whole: str) -> float:
    m = _BOUND.fullmatch(text.strip())
    if m is None or (m.group(2) and not durations):
        hint = " (a number, optionally with s/m/h/d)" if durations else " (a number)"
        raise ValueError(f"invalid threshold range {whole!r}: bad bound {text!r}{hint}")
    value = float(m.group(1)) * _UNIT_SECONDS[m.group(2) or "s"]
    if not math.isfinite(value):
        raise ValueError(f"invalid threshold range {whole!r}: bound {text!r} is not finite")
    return value


@dataclass(frozen=True, slots=True)
class Range:
    """One parsed range; `alerts(value)` says whether `value` triggers it."""

    start: float = 0.0
    end: float = math.inf
    inside: bool = False  # '@': alert when start <= value <= end

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within

    @property
    def text(self) -> str:
        """Canonical range text (perfdata warn/crit field); parse(text) gives the same Range."""
        end = "" if self.end == math.inf else format_number(self.end)
        if self.start == -math.inf:
            body = f"~:{end}"
        elif self.start == 0 and self.end != math.inf:
            body = end
        else:
            body = f"{format_number(self.start)}:{end}"
        return ("@" if self.inside else "") + body

    def describe(self, *, unit: str = "", as_age: bool = False) -> str:
        """Human text for messages: '>5', '<10', 'outside 10..20', 'inside 10..20'."""

        def n(x: float) -> str:
            return format_duration(x) if as_age else format_number(x) + unit

        lo_open = self.start == -math.inf
        hi_open = self.end == math.inf
        if self.inside:
            if lo_open and hi_open:
                return "always"
            if lo_open:
                return f"<={n(self.end)}"
            if hi_open:
                return f">={n(self.start)}"
            return f"inside {n(self.start)}..{n(self.end)}"
        if lo_open and hi_open:
            return "never"
        if hi_open:
            return f"<{n(self.start)}"
        if lo_open or self.start == 0:
            # "0:10" also alerts below 0, but every metric jobctl measures is >= 0
            return f">{n(self.end)}"
        return f"outside {n(self.start)}..{n(self.end)}"


def parse_range(text: str | int | float, *, durations: bool = False) -> Range:
    """Parse monitoring-plugin range syntax; raises ValueError with the offending text."""
    usage = "expected a range like 10, 10:, ~:10, 10:20, @10:20"
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ValueError(f"invalid threshold range {text!r}: {usage}")
    whole = str(text).strip()
    s = whole[1:] if whole.startswith("@") else whole
    inside = whole.startswith("@")
    if not s.strip():
        raise ValueError(f"invalid threshold range {whole!r}: {usage}")
    if ":" in s:
        lo_text, hi_text = s.split(":", 1)
        if lo_text.strip() == "~":
            start = -math.inf
        elif lo_text.strip() == "":
            start = 0.0
        else:
            start = _bound(lo_text, durations=durations, whole=whole)
    else:
        start, hi_text = 0.0, s
    end = math.inf if hi_text.strip() == "" else _bound(hi_text, durations=durations, whole=whole)
    if start > end:
        raise ValueError(f"invalid threshold range {whole!r}: start {format_number(start)} is above "
                         f"end {format_number(end)}")
    return Range(start=start, end=end, inside=inside)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A warning and a critical range; critical wins when both alert."""

    warning: Range | None = None
    critical: Range | None = None

    def state(self, value: float) -> State:
        if self.critical is not None and self.critical.alerts(value):
            return State.CRITICAL
        if self.warning is not None and self.warning.alerts(value):
            return State.WARNING
        return State.OK

    def crossed(self, state: State) -> Range | None:
        """The range that produced `state` (for the '(crit >5)' part of a message)."""
        if state == State.CRITICAL:
            return self.critical
        if state == State.WARNING:
            return self.warning
        return None

    def perfdata_fields(self) -> tuple[str, str]:
        return (self.warning.text if self.warning else "", self.critical.text if self.critical else "")
