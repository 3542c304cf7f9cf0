"""Monitoring-plugin range syntax: unit tests and hypothesis properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobctl.alert.thresholds import (
    Range,
    State,
    Thresholds,
    format_duration,
    format_number,
    parse_range,
    worst,
)

# ----------------------------------------------------------------------------- the table of forms


@pytest.mark.parametrize(
    ("text", "alerting", "quiet"),
    [
        ("10", [-1, 10.5, 11, 1e9], [0, 5, 10]),
        ("10:", [9.99, 0, -5], [10, 11, 1e9]),
        ("~:10", [10.01, 11], [-1e9, 0, 10]),
        ("10:20", [9, 21, 0], [10, 15, 20]),
        ("@10:20", [10, 15, 20], [9.99, 20.01, 0]),
        (":10", [-1, 11], [0, 10]),  # monitoring-plugins: an empty start is 0
        ("0", [0.5, 1], [0]),
        ("@0", [0], [1]),
        ("~:", [], [-1e9, 0, 1e9]),
        ("-5:5", [-6, 6], [-5, 0, 5]),
        ("1.5:2.5", [1.4, 2.6], [1.5, 2, 2.5]),
        ("1e3", [1001], [1000]),
    ],
)
def test_range_forms(text: str, alerting: list[float], quiet: list[float]) -> None:
    r = parse_range(text)
    for v in alerting:
        assert r.alerts(v), f"{text} should alert on {v}"
    for v in quiet:
        assert not r.alerts(v), f"{text} should not alert on {v}"


@pytest.mark.parametrize("bad", ["", "@", "5x", "abc", "10:5", "~", "1:2:3", "--5", "nan", "inf", "5m", "10 :20z"])
def test_invalid_ranges_name_the_text(bad: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_range(bad)
    assert "invalid threshold range" in str(e.value)
    assert repr(bad.strip()) in str(e.value)


def test_bool_and_non_numbers_are_rejected() -> None:
    with pytest.raises(ValueError):
        parse_range(True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        parse_range([1])  # type: ignore[arg-type]


def test_ints_and_floats_from_toml() -> None:
    assert parse_range(5) == Range(0, 5)
    assert parse_range(2.5) == Range(0, 2.5)


def test_duration_bounds_for_time_metrics() -> None:
    r = parse_range("5m:1h", durations=True)
    assert (r.start, r.end) == (300, 3600)
    assert parse_range("90s", durations=True).end == 90
    assert parse_range("~:2d", durations=True).end == 172800
    assert parse_range("300", durations=True).end == 300  # a bare number is seconds
    with pytest.raises(ValueError, match="bad bound"):
        parse_range("5q", durations=True)


def test_canonical_text() -> None:
    assert parse_range("10").text == "10"
    assert parse_range("0:10").text == "10"
    assert parse_range("10:").text == "10:"
    assert parse_range("~:10").text == "~:10"
    assert parse_range("@10:20").text == "@10:20"
    assert parse_range("5m", durations=True).text == "300"
    assert parse_range("0:").text == "0:"


def test_describe() -> None:
    assert parse_range("5").describe() == ">5"
    assert parse_range("10:").describe() == "<10"
    assert parse_range("~:10").describe() == ">10"
    assert parse_range("10:20").describe() == "outside 10..20"
    assert parse_range("@10:20").describe() == "inside 10..20"
    assert parse_range("1h", durations=True).describe(as_age=True) == ">1h"
    assert parse_range("90s", durations=True).describe(as_age=True) == ">1m30s"


def test_thresholds_critical_wins_and_defaults_ok() -> None:
    t = Thresholds(warning=parse_range("1"), critical=parse_range("5"))
    assert t.state(0) == State.OK
    assert t.state(1) == State.OK
    assert t.state(2) == State.WARNING
    assert t.state(6) == State.CRITICAL
    assert t.crossed(State.CRITICAL) == parse_range("5")
    assert t.perfdata_fields() == ("1", "5")
    assert Thresholds().state(1e9) == State.OK
    assert Thresholds(critical=parse_range("0")).perfdata_fields() == ("", "0")


def test_worst_order_is_icinga_severity() -> None:
    assert worst([]) == State.OK
    assert worst([State.OK, State.WARNING]) == State.WARNING
    assert worst([State.WARNING, State.UNKNOWN]) == State.UNKNOWN
    assert worst([State.UNKNOWN, State.CRITICAL, State.OK]) == State.CRITICAL
    assert State.parse("critical") == State.CRITICAL
    with pytest.raises(ValueError):
        State.parse("bad")


def test_format_helpers() -> None:
    assert format_number(5.0) == "5"
    assert format_number(0.25) == "0.25"
    assert format_number(math.inf) == "inf"
    assert format_duration(900) == "15m"
    assert format_duration(5400) == "1h30m"
    assert format_duration(90061) == "1d1h1m1s"
    assert format_duration(30) == "30s"
    assert format_duration(0.5) == "0.5s"


# ----------------------------------------------------------------------------- properties

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
nonneg = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)


def _t(x: float) -> str:
    return repr(x)


@given(a=finite, b=finite, v=finite)
def test_prop_start_end(a: float, b: float, v: float) -> None:
    lo, hi = min(a, b), max(a, b)
    r = parse_range(f"{_t(lo)}:{_t(hi)}")
    assert r.alerts(v) == (not (lo <= v <= hi))
    inside = parse_range(f"@{_t(lo)}:{_t(hi)}")
    assert inside.alerts(v) == (not r.alerts(v))


@given(x=nonneg, v=finite)
def test_prop_plain_is_zero_to_x(x: float, v: float) -> None:
    assert parse_range(_t(x)).alerts(v) == (v < 0 or v > x)
    assert parse_range(_t(x)) == parse_range(f"0:{_t(x)}")


@given(x=finite, v=finite)
def test_prop_open_ends(x: float, v: float) -> None:
    assert parse_range(f"{_t(x)}:").alerts(v) == (v < x)
    assert parse_range(f"~:{_t(x)}").alerts(v) == (v > x)


@given(a=finite, b=finite, inside=st.booleans())
def test_prop_canonical_text_round_trips(a: float, b: float, inside: bool) -> None:
    lo, hi = min(a, b), max(a, b)
    r = parse_range(("@" if inside else "") + f"{_t(lo)}:{_t(hi)}")
    assert parse_range(r.text) == r


@given(warn=nonneg, crit=nonneg, v=nonneg)
def test_prop_state_is_monotone_in_severity(warn: float, crit: float, v: float) -> None:
    t = Thresholds(warning=parse_range(_t(warn)), critical=parse_range(_t(crit)))
    s = t.state(v)
    if v > crit:
        assert s == State.CRITICAL
    elif v > warn:
        assert s == State.WARNING
    else:
        assert s == State.OK


@given(st.text(max_size=12))
def test_prop_garbage_never_crashes(text: str) -> None:
    try:
        r = parse_range(text)
    except ValueError:
        return
    assert isinstance(r, Range)
    assert r.start <= r.end
