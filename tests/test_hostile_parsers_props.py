"""Property-based tests (hypothesis) for the parsers the existing suites did not cover yet.

Already covered elsewhere (not repeated here): MONITOR line unescaping and splitting
(test_monitor_parse.py), the Ruby-YAML loader (test_ruby_yaml.py), the threshold range parser
(test_thresholds.py), `safe.visible` / `mask_url` (test_targets_unit.py).

Here: Resque payload and failure-record parsing, every Resque time form, Delayed Job database
datetimes and ActiveJob ISO times, `jobctl.timeutil`, Delayed Job `last_error` splitting, and
the JSON renderer (whatever goes in, strict JSON with no raw control character comes out).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from jobctl.backends.delayed_job.dbtime import TimeCodec, format_sqlite, parse_sqlite, zone_from_option
from jobctl.parse.dj_error import parse_last_error
from jobctl.parse.dj_handler import parse_iso_time
from jobctl.parse.resque_payload import MAX_NESTING, parse_failure, parse_job
from jobctl.parse.resque_time import parse_resque_time
from jobctl.render.output import json_dumps
from jobctl.timeutil import format_age, parse_duration, parse_when

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u2028\u2029\ufeff\ud800-\udfff]")
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# JSON values as Ruby's encoder could write them (no NaN/Infinity: JSON.generate refuses them).
json_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) \
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
class_names = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")


def _encode(obj: Any, ascii_only: bool, spaced: bool) -> bytes:
    seps = (", ", ": ") if spaced else (",", ":")
    return json.dumps(obj, ensure_ascii=ascii_only, separators=seps).encode("utf-8", "surrogatepass")


# ----------------------------------------------------------------------------- Resque payloads


@SETTINGS
@given(st.binary(max_size=400))
def test_parse_job_never_raises_on_any_bytes(raw: bytes) -> None:
    j = parse_job(raw, queue="q", position=0, id="q@0")
    assert (j.parse_error is None) == (j.state == "ready")
    assert isinstance(j.job_class, str) and j.job_class
    assert j.size == len(raw)


@SETTINGS
@given(class_names, st.lists(json_values, max_size=5), st.booleans(), st.booleans())
def test_valid_payloads_keep_class_and_args_exactly(klass: str, args: list[Any], ascii_only: bool, spaced: bool) -> None:
    assume(not any(0xD800 <= ord(c) <= 0xDFFF for c in klass))
    raw = _encode({"class": klass, "args": args}, ascii_only, spaced)
    j = parse_job(raw, queue="q", position=3, id="q@3")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in json.dumps(args, ensure_ascii=False)):
        return  # lone surrogates: valid JSON escapes, no valid UTF-8 form; covered by the never-raises test
    assert j.parse_error is None, j.parse_error
    assert (j.job_class, j.args) == (klass, args)


@SETTINGS
@given(st.integers(min_value=1, max_value=140))
def test_nesting_is_refused_exactly_beyond_ruby_max_nesting(depth: int) -> None:
    raw = b'{"class":"D","args":' + b"[" * depth + b"]" * depth + b"}"
    j = parse_job(raw, queue="q", position=0, id="x")
    assert (j.parse_error is not None) == (depth + 1 > MAX_NESTING), (depth, j.parse_error)


@SETTINGS
@given(st.sampled_from(["NaN", "Infinity", "-Infinity"]), st.booleans())
def test_nan_tokens_are_bad_like_ruby(token: str, with_big_int: bool) -> None:
    big = "123456789012345678901234567890," if with_big_int else ""
    j = parse_job(f'{{"class":"N","args":[{big}{token}]}}'.encode(), queue="q", position=0, id="x")
    assert j.parse_error is not None


resque_times = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda d: d.replace(microsecond=0, tzinfo=UTC))


@SETTINGS
@given(st.binary(max_size=300), st.text(max_size=20), st.text(max_size=40))
def test_parse_failure_never_raises(raw: bytes, key: str, junk: str) -> None:
    for data in (raw, _encode({"failed_at": junk, "payload": junk, "error": junk}, False, False)):
        f = parse_failure(data, key=key or "failed", index=0, id="x")
        assert isinstance(f.job_class, str) and f.location == f"{key or 'failed'}[0]"


@SETTINGS
@given(class_names, st.lists(json_values, max_size=3), resque_times, st.text(max_size=60),
       st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=20))
def test_failure_records_round_trip(klass: str, args: list[Any], when: datetime, error: str, exc: str, queue: str) -> None:
    rec = {"failed_at": when.strftime("%Y/%m/%d %H:%M:%S UTC"), "payload": {"class": klass, "args": args},
           "exception": exc, "error": error, "backtrace": ["/a.rb:1"], "worker": "w:1:q", "queue": queue}
    raw = _encode(rec, False, False)
    assume(b"\xed" not in raw)  # lone surrogates have no UTF-8 form
    f = parse_failure(raw, key="resque:failed", index=7, id="abc")
    assert f.parse_error is None, f.parse_error
    assert (f.failed_at, f.job_class, f.args, f.exception, f.queue) == (when, klass, args, exc, queue)
    assert f.error_full == error and f.error == error.split("\n", 1)[0]


# ----------------------------------------------------------------------------- Resque times

ZONES = {"UTC": 0, "GMT": 0, "CET": 60, "CEST": 120, "PST": -480, "EDT": -240, "JST": 540, "+03": 180,
         "-0530": -330, "+0545": 345, "W. Europe Standard Time": 60}


@SETTINGS
@given(st.text(max_size=60) | st.binary(max_size=60) | st.integers() | st.floats() | st.none())
def test_parse_resque_time_never_raises_and_is_utc(value: Any) -> None:
    t = parse_resque_time(value)
    assert t is None or t.utcoffset() == timedelta(0)


@SETTINGS
@given(resque_times, st.sampled_from(sorted(ZONES)))
def test_every_resque_time_form_round_trips(when: datetime, zone: str) -> None:
    local = when.astimezone(timezone(timedelta(minutes=ZONES[zone])))
    forms = [
        local.strftime("%Y/%m/%d %H:%M:%S ") + zone,  # Failure::Redis failed_at / retried_at (>= 1.18)
        local.strftime("%Y-%m-%dT%H:%M:%S%z"),  # heartbeat, Time#iso8601
        local.strftime("%Y-%m-%d %H:%M:%S %z"),  # Time#to_s (worker started, Resque 1.0 failed_at)
        local.strftime("%a %b %d %H:%M:%S %z %Y"),  # Ruby 1.8 Time#to_s
        when.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),  # ActiveJob enqueued_at, 9 fraction digits
        str(int(when.timestamp())),  # epoch seconds (resque-status, scheduler)
    ]
    for form in forms:
        assert parse_resque_time(form) == when, form
    assert parse_resque_time(int(when.timestamp())) == when


@SETTINGS
@given(resque_times)
def test_zone_less_times_are_read_as_utc(when: datetime) -> None:
    assert parse_resque_time(when.strftime("%Y/%m/%d %H:%M:%S")) == when  # the documented guess


# ----------------------------------------------------------------------------- Delayed Job times


naive = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30))


@SETTINGS
@given(naive)
def test_sqlite_text_round_trips(dt: datetime) -> None:
    assert parse_sqlite(format_sqlite(dt)) == (dt, False)


@SETTINGS
@given(st.text(max_size=40))
def test_sqlite_text_parser_never_raises(text: str) -> None:
    r = parse_sqlite(text)
    assert r is None or isinstance(r[0], datetime)


@SETTINGS
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
       st.booleans())
@example(datetime(2010, 11, 7, 6, 0, tzinfo=UTC), "America/New_York", True)  # the repeated hour (found in CI)
def test_db_time_codec_round_trips(dt: datetime, zone: str, text_storage: bool) -> None:
    codec = TimeCodec(zone=zone_from_option(zone), text_storage=text_storage)
    back = codec.from_db(codec.to_db(dt))
    local = dt.astimezone(codec.zone)
    folded = local.replace(tzinfo=None, fold=0).replace(tzinfo=codec.zone).astimezone(UTC)
    # == dt except in the repeated hour of a DST change: the stored local form is ambiguous there and
    # reads as the first occurrence (fold=0; ActiveSupport's TimeZone#local prefers DST the same way)
    assert back == folded
    assert back is not None and back.utcoffset() == timedelta(0)


@SETTINGS
@given(st.text(max_size=60) | st.integers() | st.none())
def test_activejob_iso_times_never_raise(value: Any) -> None:
    t = parse_iso_time(value)
    assert t is None or t.tzinfo is not None


@SETTINGS
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
       st.integers(0, 9))
def test_activejob_iso_times_round_trip(dt: datetime, digits: int) -> None:
    frac = f"{dt.microsecond:06d}{'000'}"[:digits]
    text = dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if digits else "") + "Z"
    expect = dt.replace(microsecond=int((frac + "000000")[:6]) if digits else 0)
    assert parse_iso_time(text) == expect


@SETTINGS
@given(st.text(max_size=300) | st.binary(max_size=300) | st.none())
def test_last_error_parser_never_raises(text: Any) -> None:
    parsed = parse_last_error(text)
    if parsed is not None:
        assert isinstance(parsed.backtrace, list)


# ----------------------------------------------------------------------------- timeutil

units = st.sampled_from([("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)])


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 10_000), units), min_size=1, max_size=4))
def test_parse_duration_sums_its_parts(parts: list[tuple[int, tuple[str, float]]]) -> None:
    text = "".join(f"{n}{u}" for n, (u, _) in parts)
    expect = sum(n * f for n, (_, f) in parts)
    assert math.isclose(parse_duration(text).total_seconds(), expect, rel_tol=1e-9, abs_tol=1e-6)


@SETTINGS
@example("86400000000000")  # timedelta overflow (found in CI)
@example("64000000000")  # now - that: before year 1
@given(st.text(max_size=30))
def test_parse_duration_and_when_only_raise_value_error(text: str) -> None:
    for fn in (parse_duration, parse_when):
        try:
            fn(text)
        except ValueError as e:
            assert str(e)
        except OverflowError:
            pytest.fail(f"{fn.__name__}({text!r}) raised OverflowError")


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True) | st.none())
def test_format_age_never_raises(seconds: float | None) -> None:
    s = format_age(seconds)
    assert s and not UNSAFE.search(s)


@SETTINGS
@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_parse_when_reads_iso_back(dt: datetime) -> None:
    assert parse_when(dt.isoformat()) == dt
    assert parse_when(dt.replace(tzinfo=None).isoformat()) == dt  # naive = UTC


# ----------------------------------------------------------------------------- JSON output

hostile_text = st.text(alphabet=st.characters(codec=None), max_size=40) | st.sampled_from(
    ["\x1b]0;pwned\x07", "\u202e", "\ud800", "\x9b31m", "[bold]x[/]", "\u2028"])
output_values = st.recursive(st.none() | st.booleans() | st.integers(min_value=-(2**100), max_value=2**100)
                             | st.floats() | hostile_text,
                             lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
                             max_leaves=25)


@SETTINGS
@given(output_values, st.booleans())
def test_json_output_is_strict_json_without_raw_controls(value: Any, pretty: bool) -> None:
    text = json_dumps(value, pretty=pretty)
    assert not UNSAFE.search(text.replace("\n", "")), text
    text.encode("utf-8")  # printable on a UTF-8 stream: no lone surrogates left raw

    def refuse(token: str) -> Any:
        raise AssertionError(f"{token} in output")

    json.loads(text, parse_constant=refuse)


def test_the_atheris_harness_runs_every_target() -> None:
    """bench/fuzz_parsers.py --smoke: every target's contract on its seeds plus random mutations
    (keeps the fuzzing harness working between real atheris sessions; see README "Fuzzing")."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "bench" / "fuzz_parsers.py"
    r = subprocess.run([sys.executable, str(script), "--smoke", "100"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    listed = subprocess.run([sys.executable, str(script), "--list"], capture_output=True, text=True, timeout=60)
    targets = listed.stdout.split()
    assert len(targets) >= 9 and all(f"{t}: " in r.stdout and "inputs ok" in r.stdout for t in targets), r.stdout
