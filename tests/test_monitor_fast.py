"""jobctl.parse._monitor_fast (C) against the Python reference parser, on every kind of input.

The C module parses the common, provably well-formed MONITOR line and hands every other line to
the Python parser; so for ANY input both must return the same value. Checked here on arbitrary
bytes, on Redis-escaped lines of arbitrary arguments, on mutations and truncations of the real
Resque capture, and on hand-picked header/body edge cases. The extension must be built in CI
(scripts/test installs with a C compiler): its absence is a failure, not a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_monitor_parse import CAPTURE, MALFORMED, REAL, monitor_line

from jobctl.parse import monitor
from jobctl.parse.monitor import MonitorLine, parse_line, parse_line_py

ROOT = Path(__file__).resolve().parent.parent


def same(line: bytes) -> MonitorLine | None:
    fast, ref = parse_line(line), parse_line_py(line)
    assert fast == ref, line
    assert type(fast) is type(ref)
    if fast is not None:
        assert [type(a) for a in fast.args] == [bytes] * len(fast.args)
        assert type(fast.ts_us) is int and type(fast.db) is int and type(fast.client) is str
    return fast


def test_the_c_parser_is_built_and_in_use() -> None:
    assert monitor.FAST, "jobctl/parse/_monitor_fast.c was not built (pip install -e . needs a C compiler)"
    assert parse_line is not parse_line_py and type(parse_line).__name__ == "builtin_function_or_method"


def test_pure_python_mode_switches_it_off() -> None:
    code = "from jobctl.parse import monitor; print(monitor.FAST)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "JOBCTL_PURE_PYTHON": "1"}).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("line", [x for x, _ in REAL] + MALFORMED)
def test_known_lines(line: bytes) -> None:
    same(line)


EDGES = [
    b'1.000000 [0 a:1] ""', b'1.000000 [0 a:1] "" ""', b'1.000000 [0 a:1] "', b'1.000000 [0 a:1] "x" "',
    b'1.000000 [0 ] "x"', b'1.000000 [0] "x"', b'1.000000 [ a] "x"', b'1.000000 [00 a] "x"',
    b'1.000000 [1234567890 a] "x"', b'1.000000 [12345678901234567890 a] "x"',
    b'1234567890123.000000 [0 a:1] "x"', b'12345678901234567890123.000000 [0 a:1] "x"',
    b'.000000 [0 a:1] "x"', b'1.0000000 [0 a:1] "x"', b'1.00000 [0 a:1] "x"', b'1..000000 [0 a:1] "x"',
    b'1.000000  [0 a:1] "x"', b'1.000000 [0 a:1]  "x"', b'1.000000 [0 a] "b] "x"', b'1.000000 [0 \xff\xfe] "x"',
    b'1.000000 [0 [::1]:5] "x" "] \\"y"', b'1.000000 [0 unix:/tmp/a b.sock] "x"', b'1.5 [0 a] "x"',
    b'1.000000 [0 a:1] "x\\"', b'1.000000 [0 a:1] "x\\\\"', b'1.000000 [0 a:1] "x\\x4"', b'1.000000 [0 a:1] "x\\x4g"',
    b'1.000000 [0 a:1] "\\xFf\\xfF"', b'1.000000 [0 a:1] "a" b "c"', b'1.000000 [0 a:1] "a"  "c"',
    b'1.000000 [0 a:1] "a" "b" ', b'1.000000 [0 a:1] "a\\" " "b"', b'1.000000 [0 a:1] "a\x00b" "\xff"',
    b'1339518083.107412 "keys" "*"', b'1339518083.107412 (db 3) "keys" "*"', b"+OK", b"\r", b'"',
]


@pytest.mark.parametrize("line", EDGES)
def test_edge_cases(line: bytes) -> None:
    same(line)


def test_non_bytes_input_takes_the_python_route() -> None:
    line = bytearray(REAL[0][0])  # not the contract (bytes); the C code hands it over unread
    for fn in (parse_line, parse_line_py):
        with pytest.raises(TypeError):
            fn(line)  # type: ignore[arg-type]


@given(st.binary(max_size=200))
@settings(max_examples=3000)
def test_arbitrary_bytes(data: bytes) -> None:
    same(data)
    same(b'1795808425.678272 [0 127.0.0.1:1] "' + data + b'"')
    same(b'1795808425.678272 [' + data)


addr = st.sampled_from(["127.0.0.1:6379", "[::1]:5", "unix:/tmp/r.sock", "lua", "", "?:0", "10.1.2.3:65535", "h\u00e9:1"])
frag = st.sampled_from([b"\\", b'"', b'" "', b"\\\\", b'\\"', b"x", b" ", b"\n", b"\xff", b"]", b"] \"", b"\x00"])
arg = st.one_of(st.binary(max_size=64), st.lists(frag, max_size=16).map(b"".join))


@given(st.lists(arg, min_size=1, max_size=8), st.integers(0, 2**62), st.integers(0, 10**12), addr)
@settings(max_examples=2000)
def test_redis_escaped_lines_decode_exactly(args: list[bytes], ts: int, db: int, client: str) -> None:
    line = monitor_line(ts, db, client, args)
    m = same(line)
    assert m == MonitorLine(ts, db, client, args)


@given(st.lists(arg, min_size=1, max_size=4), st.data())
@settings(max_examples=2000)
def test_mutated_and_truncated_lines(args: list[bytes], data: st.DataObject) -> None:
    line = bytearray(monitor_line(1_795_808_425_678_272, 0, "127.0.0.1:49352", [b"RPUSH", *args]))
    for _ in range(data.draw(st.integers(0, 3))):
        i = data.draw(st.integers(0, len(line) - 1))
        op = data.draw(st.sampled_from(["flip", "del", "ins"]))
        if op == "flip":
            line[i] = data.draw(st.sampled_from(b'\\" ]x\xff.0['))
        elif op == "del":
            del line[i]
        else:
            line.insert(i, data.draw(st.sampled_from(b'\\" ]')))
    cut = data.draw(st.integers(0, len(line)))
    same(bytes(line))
    same(bytes(line[:cut]))


def test_the_whole_capture_and_its_truncations() -> None:
    lines = [x.rstrip(b"\n") for x in CAPTURE.read_bytes().splitlines(keepends=True)]
    for raw in lines:
        same(raw)
        for cut in (1, 2, 7, len(raw) // 2, len(raw) - 1, len(raw) - 2):
            same(raw[:cut])
        same(raw + b' "')
        same(raw[:-1] + b'\\"')


def test_no_memory_is_kept_on_any_route() -> None:
    # Every path through the C code (parsed, delegated after building part of the argument list,
    # rejected) must release what it made: parse a mix many times and compare traced memory.
    corpus = [x for x, _ in REAL] + MALFORMED + EDGES + [b'1.000000 [0 a:1] "a" "b' + b"\\q" * 50 + b'"']
    for line in corpus:
        parse_line(line)
    tracemalloc.start()
    try:
        for _ in range(3):
            for line in corpus:
                parse_line(line)
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            for line in corpus:
                parse_line(line)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"{grown} bytes kept after {2000 * len(corpus)} parses"
