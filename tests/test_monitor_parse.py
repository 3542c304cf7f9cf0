"""jobctl.parse.monitor: exact MONITOR line parsing.

* the real lines of monitor-format.md §1.7 and every ADDR form;
* round trips through an independent sdscatrepr twin (written here from Redis' src/sds.c) for
  arbitrary bytes (hypothesis), and for the whole real Resque capture;
* the capture replayed into a keyspace model gives exactly the fixture's redis_dump.json;
* hostile / malformed input is counted as unparseable, never raises;
* capture readers: redis-cli (`OK` first), wire (`+…\\r`), `--csv`, gzip, stdin.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobctl.parse.monitor import (
    MonitorLine,
    client_kind,
    iter_capture,
    normalize_line,
    open_capture,
    parse_line,
    split_client,
)
from jobctl.parse.monitor_args import split_long, split_quick, split_rewritten

CAPTURE = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "resque" / "monitor.log"


def sdscatrepr(data: bytes) -> bytes:
    """Redis' sdscatrepr(), byte for byte (src/sds.c): the escaping MONITOR applies to each arg."""
    out = bytearray(b'"')
    for c in data:
        if c == 0x5C:
            out += b"\\\\"
        elif c == 0x22:
            out += b'\\"'
        elif c == 0x0A:
            out += b"\\n"
        elif c == 0x0D:
            out += b"\\r"
        elif c == 0x09:
            out += b"\\t"
        elif c == 0x07:
            out += b"\\a"
        elif c == 0x08:
            out += b"\\b"
        elif 0x20 <= c <= 0x7E:
            out.append(c)
        else:
            out += b"\\x%02x" % c
    out += b'"'
    return bytes(out)


def monitor_line(ts_us: int, db: int, client: str, args: list[bytes]) -> bytes:
    """What replicationFeedMonitors() writes ("%ld.%06ld [%d %s] " + repr args joined by spaces)."""
    head = f"{ts_us // 1_000_000}.{ts_us % 1_000_000:06d} [{db} {client}] ".encode()
    return head + b" ".join(sdscatrepr(a) for a in args)


def capture_lines() -> list[bytes]:
    if not CAPTURE.exists():
        pytest.fail(f"fixture capture missing: {CAPTURE}")
    return [ln.rstrip(b"\n") for ln in CAPTURE.read_bytes().splitlines(keepends=True)]


# --------------------------------------------------------------------------- real lines (§1.7)

REAL = [
    (rb'1795808425.678272 [0 127.0.0.1:49352] "SET" "esc:ctl" "a\nb\rc\td\ae\bf\x00g\x1b\x7f"',
     [b"SET", b"esc:ctl", b"a\nb\rc\td\x07e\x08f\x00g\x1b\x7f"]),
    (rb'1795808425.678371 [0 127.0.0.1:49352] "SET" "esc:bs" "C:\\dir\\"', [b"SET", b"esc:bs", b"C:\\dir\\"]),
    (rb'1795808425.678455 [0 127.0.0.1:49352] "SET" "esc:q" "say \"hi\""', [b"SET", b"esc:q", b'say "hi"']),
    (rb'1795808425.678540 [0 127.0.0.1:49352] "SET" "esc:utf8" "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80"',
     [b"SET", b"esc:utf8", "café 日本 🚀".encode()]),
    (rb'1795808425.678629 [0 127.0.0.1:49352] "SET" "bin:\xff\xfe" "\x80\x81\x82\x83\x84\x85\x86\x87"',
     [b"SET", b"bin:\xff\xfe", bytes(range(0x80, 0x88))]),
    (rb'1795808425.678722 [0 127.0.0.1:49352] "SET" "esc:empty" ""', [b"SET", b"esc:empty", b""]),
    (rb'1795808425.678825 [0 127.0.0.1:49352] "SET" "esc:space" "a b  c"', [b"SET", b"esc:space", b"a b  c"]),
    (rb'1795808425.679057 [0 127.0.0.1:49352] "MULTI"', [b"MULTI"]),
    (rb'1795808425.677608 [0 127.0.0.1:49352] "RPUSH" "resque:queue:low" "{\"class\": \"Mailer\", \"args\": [\"bob@example.com\", \"Hi \\\"there\\\"\\n\\tline2\", \"path\\\\to\\\\x\"]}"',
     [b"RPUSH", b"resque:queue:low",
      b'{"class": "Mailer", "args": ["bob@example.com", "Hi \\"there\\"\\n\\tline2", "path\\\\to\\\\x"]}']),
    (rb'''1795808425.679352 [0 127.0.0.1:49352] "EVAL" "redis.call('RPUSH', KEYS[1], ARGV[1]); return redis.call('LLEN', KEYS[1])" "1" "resque:queue:lua" "{\"class\":\"Lua\",\"args\":[\"x\"]}"''',
     [b"EVAL", b"redis.call('RPUSH', KEYS[1], ARGV[1]); return redis.call('LLEN', KEYS[1])", b"1",
      b"resque:queue:lua", b'{"class":"Lua","args":["x"]}']),
    (rb'1795808425.682491 [0 127.0.0.1:49370] "HELLO" "3" "AUTH" "(redacted)" "(redacted)"',
     [b"HELLO", b"3", b"AUTH", b"(redacted)", b"(redacted)"]),
]


@pytest.mark.parametrize("line,args", REAL, ids=[str(i) for i in range(len(REAL))])
def test_real_lines_decode_to_the_exact_argument_bytes(line: bytes, args: list[bytes]) -> None:
    m = parse_line(line)
    assert m is not None
    assert m.args == args
    assert m.db == 0 and m.client.startswith("127.0.0.1:")
    assert m.ts_us == int(line.split(b" ", 1)[0].replace(b".", b""))
    assert sdscatrepr(args[-1]) in line  # and the twin writes exactly what Redis wrote


def test_an_argument_ending_in_a_backslash_keeps_the_next_argument_separate() -> None:
    # redis-py's Monitor merges/drops these (monitor-format.md §2): we must not
    m = parse_line(rb'1.000001 [0 1.2.3.4:5] "SET" "k\\" "\\" "x\\\\\"\" \"y"')
    assert m is not None and m.args == [b"SET", b"k\\", b"\\", b'x\\\\"" "y']


@pytest.mark.parametrize("args", [
    [b" ", b"\x00"],  # first argument " " next to the opening quote (found by hypothesis)
    [b'" ', b'" '],  # arguments ending in `" `: the separator overlaps an escaped quote
    [b"SET", b"\\", b'\\"'], [b"x" * 200_000 + b"\xff", b'"'],
])
def test_separator_edge_cases(args: list[bytes]) -> None:
    assert parse_line(monitor_line(0, 0, "127.0.0.1:6379", args)) == MonitorLine(0, 0, "127.0.0.1:6379", args)


@pytest.mark.parametrize("client,kind,host,port", [
    ("127.0.0.1:49352", "tcp", "127.0.0.1", "49352"),
    ("[::1]:51234", "tcp", "::1", "51234"),
    ("[::ffff:172.17.0.1]:43346", "tcp", "::ffff:172.17.0.1", "43346"),
    ("unix:/var/run/redis/redis-server.sock", "unix", "unix", "/var/run/redis/redis-server.sock"),
    ("lua", "lua", "lua", ""),
    ("?:0", "unknown", "?", "0"),
    ("", "unknown", "", ""),
])
def test_every_addr_form(client: str, kind: str, host: str, port: str) -> None:
    line = f'1795808425.680545 [3 {client}] "RPUSH" "resque:queue:db3" "] \\"x"'.encode()
    m = parse_line(line)
    assert m == MonitorLine(1795808425680545, 3, client, [b"RPUSH", b"resque:queue:db3", b'] "x'])
    assert client_kind(m.client) == kind == m.client_kind
    assert split_client(m.client) == (host, port)


def test_time_is_exact_microseconds_in_utc() -> None:
    m = parse_line(b'1795808425.000007 [0 lua] "GET" "k"')
    assert m is not None and m.ts_us == 1795808425000007
    assert m.time.isoformat() == "2026-11-27T19:40:25.000007+00:00"
    assert m.command == "GET" and parse_line(b'1.000000 [0 lua] "get" "k"').command == "GET"  # type: ignore[union-attr]


def test_redis_2_4_lines_without_client_are_accepted() -> None:
    assert parse_line(b'1339518083.107412 (db 1) "set" "x" "1"') == MonitorLine(1339518083107412, 1, "", [b"set", b"x", b"1"])
    assert parse_line(b'1339518083.107412 "keys" "*"') == MonitorLine(1339518083107412, 0, "", [b"keys", b"*"])


MALFORMED = [
    b"", b"OK", b"garbage", b'1795808425.678272 [0 127.0.0.1:1] "SET" "trunc',  # cut mid-line
    b'1795808425.678272 [0 127.0.0.1:1] "SET" "a\\"',  # ends inside an escaped quote
    b'1795808425.678272 [0 127.0.0.1:1] "SET" "a" b "c"',  # stray unquoted text
    b'1795808425.678272 [x 127.0.0.1:1] "SET" "a"', b'17958084x5.678272 [0 127.0.0.1:1] "SET" "a"',
    b'1795808425.67827 [0 127.0.0.1:1] "SET" "a"',  # 5-digit microseconds
    b'1795808425.678272 [0 127.0.0.1:1] "SET" "bad \\x4g"',  # invalid \x escape
    b'1795808425.678272 [0 127.0.0.1:1] "SET" "\\q"', b'1795808425.678272 [0 127.0.0.1:1] "SET" "\\1"',
    b"1795808425.678272 [0 127.0.0.1:1] \"SET\" \"\\'\"",  # escapes Redis never writes
    b'1795808425.678272 [0 127.0.0.1:1]',
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_lines_are_none_not_errors(line: bytes) -> None:
    assert parse_line(line) is None


@given(st.binary(max_size=300))
@settings(max_examples=500)
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    result = parse_line(data)
    assert result is None or isinstance(result, MonitorLine)
    assert parse_line(b'1.000000 [0 a:1] "' + data + b'"') is None or True  # never raises either


addr = st.sampled_from(["127.0.0.1:6379", "[::1]:5", "unix:/tmp/r.sock", "lua", "", "?:0", "10.1.2.3:65535"])


@given(st.lists(st.binary(max_size=64), min_size=1, max_size=8), st.integers(0, 2**41), st.integers(0, 15), addr)
@settings(max_examples=1500)
def test_redis_escaping_then_parsing_returns_the_same_bytes(args: list[bytes], ts: int, db: int, client: str) -> None:
    line = monitor_line(ts, db, client, args)
    assert parse_line(line) == MonitorLine(ts, db, client, args)


@given(st.lists(st.sampled_from([b"\\", b'"', b'" "', b"\\\\", b'\\"', b"x", b" ", b"\n", b"\xff", b"]"]),
                max_size=12).map(b"".join), st.integers(1, 4))
@settings(max_examples=800)
def test_backslash_and_quote_runs_at_argument_edges(arg: bytes, n: int) -> None:
    args = [b"SET"] + [arg] * n
    assert parse_line(monitor_line(1_700_000_000_000_000, 0, "1.2.3.4:5", args)) == \
        MonitorLine(1_700_000_000_000_000, 0, "1.2.3.4:5", args)


# --------------------------------------------------------------------------- the three splitting routes
# parse_line picks one of three routes for a body with backslashes (monitor.py): the quick raw
# split (short bodies it can prove), the exact rewrite route (the reference), and the memchr route
# for long bodies. All three must give the same answer on every input, valid or not.

_FRAGMENTS = st.sampled_from([b"\\", b'"', b'" "', b"\\\\", b'\\"', b"\\x", b"\\q", b"\\n", b"\\x4", b"\\x4f",
                              b"\\'", b"\\1", b" ", b"x", b"\xff", b"\\u003c", b'\\" "'])


def _route(fn, body: bytes) -> list[bytes] | None:  # type: ignore[no-untyped-def]
    try:
        return fn(body)  # type: ignore[no-any-return]
    except (ValueError, IndexError):
        return None  # what parse_line turns these into


@given(st.lists(_FRAGMENTS, max_size=40).map(b"".join))
@settings(max_examples=3000)
def test_all_routes_agree_on_arbitrary_bodies(body: bytes) -> None:
    ref = _route(split_rewritten, body)
    assert _route(split_quick, body) == ref
    assert _route(split_long, body) == ref
    line = b'1.000000 [0 a:1] "' + body + b'"'  # parse_line hands long bodies over as offsets
    assert _route(lambda b: split_long(line, 18, len(line) - 1), body) == ref


@given(st.lists(st.one_of(st.binary(max_size=40), st.lists(_FRAGMENTS, max_size=12).map(b"".join)),
                min_size=1, max_size=6))
@settings(max_examples=1500)
def test_all_routes_decode_redis_escaping_exactly(args: list[bytes]) -> None:
    body = b'" "'.join(sdscatrepr(a)[1:-1] for a in args)
    for fn in (split_quick, split_rewritten, split_long):
        assert _route(fn, body) == args


@given(st.lists(st.one_of(st.binary(min_size=3000, max_size=6000),
                          st.lists(_FRAGMENTS, min_size=600, max_size=900).map(b"".join)), min_size=1, max_size=3))
@settings(max_examples=150, deadline=None)
def test_long_arguments_round_trip_through_parse_line(args: list[bytes]) -> None:
    line = monitor_line(1_700_000_000_000_000, 2, "10.0.0.1:1", [b"RPUSH", *args])
    assert parse_line(line) == MonitorLine(1_700_000_000_000_000, 2, "10.0.0.1:1", [b"RPUSH", *args])


# --------------------------------------------------------------------------- the real capture


def test_the_whole_resque_capture_parses_and_re_escapes_byte_for_byte() -> None:
    lines = capture_lines()
    assert lines[0] == b"OK"
    for raw in lines[1:]:
        m = parse_line(raw)
        assert m is not None, raw
        assert monitor_line(m.ts_us, m.db, m.client, m.args) == raw


def _replay(lines: list[bytes]) -> dict[bytes, object]:
    """Apply the captured writes to a tiny keyspace model (only the commands Resque sends)."""
    ks: dict[bytes, object] = {}
    for raw in lines:
        m = parse_line(raw)
        if m is None:
            continue
        cmd, args = m.args[0].upper(), m.args[1:]
        if cmd == b"SET":
            if b"NX" in [a.upper() for a in args[2:]] and args[0] in ks:
                continue
            ks[args[0]] = args[1]
        elif cmd == b"DEL":
            for k in args:
                ks.pop(k, None)
        elif cmd == b"INCRBY":
            ks[args[0]] = str(int(ks.get(args[0], b"0")) + int(args[1])).encode()  # type: ignore[call-overload]
        elif cmd in (b"RPUSH", b"LPUSH"):
            lst = ks.setdefault(args[0], [])
            for v in args[1:]:
                lst.append(v) if cmd == b"RPUSH" else lst.insert(0, v)  # type: ignore[union-attr]
        elif cmd == b"LPOP":
            lst = ks.get(args[0])
            if lst:
                lst.pop(0)  # type: ignore[union-attr]
                if not lst:
                    del ks[args[0]]
        elif cmd == b"LSET":
            ks[args[0]][int(args[1])] = args[2]  # type: ignore[index]
        elif cmd in (b"SADD", b"SREM"):
            s = ks.setdefault(args[0], set())
            for v in args[1:]:
                s.add(v) if cmd == b"SADD" else s.discard(v)  # type: ignore[union-attr]
            if not s:
                del ks[args[0]]
        elif cmd in (b"HSET", b"HDEL"):
            h = ks.setdefault(args[0], {})
            if cmd == b"HSET":
                for i in range(1, len(args) - 1, 2):
                    h[args[i]] = args[i + 1]  # type: ignore[index]
            else:
                for f in args[1:]:
                    h.pop(f, None)  # type: ignore[union-attr]
            if not h:
                del ks[args[0]]
    return ks


def test_replaying_the_capture_rebuilds_the_dumped_keyspace_exactly() -> None:
    """Both JSON encoders, raw UTF-8, \\u escapes, a 100 kB argument: every stored byte agrees."""
    dump = json.loads((CAPTURE.parent / "redis_dump.json").read_text(encoding="utf-8"))
    ks = _replay(capture_lines())
    assert sorted(k.decode() for k in ks) == sorted(e["key"] for e in dump)
    checked = 0
    for e in dump:
        got = ks[e["key"].encode()]
        want = e["value"]
        if e["type"] == "list":
            assert [v.decode("utf-8") for v in got] == want  # type: ignore[union-attr]
            checked += len(want)
        elif e["type"] == "set":
            assert sorted(v.decode() for v in got) == want  # type: ignore[union-attr]
        elif e["type"] == "hash":
            assert {k.decode(): v.decode() for k, v in got.items()} == want  # type: ignore[union-attr]
        else:
            assert got.decode("utf-8") == str(want)  # type: ignore[union-attr]
    assert checked >= 50
    blob = max((v for v in ks[b"resque:queue:low"]), key=len)  # type: ignore[union-attr]
    assert len(blob) > 100_000


# --------------------------------------------------------------------------- capture readers


def test_normalize_line_accepts_cli_wire_and_csv_forms() -> None:
    line = rb'1795808439.311822 [0 127.0.0.1:43956] "set" "esc:q" "say \"hi\""'
    assert normalize_line(b"OK\n") is None and normalize_line(b"+OK\r\n") is None
    assert normalize_line(line + b"\n") == line
    assert normalize_line(b"+" + line + b"\r\n") == line
    csv = rb'"1795808439.311822 [0 127.0.0.1:43956] \"set\" \"esc:q\" \"say \\\"hi\\\"\""'
    assert normalize_line(csv + b"\n") == line
    assert parse_line(normalize_line(csv) or b"") == MonitorLine(1795808439311822, 0, "127.0.0.1:43956",
                                                                  [b"set", b"esc:q", b'say "hi"'])


def test_open_capture_reads_plain_gzip_by_content_and_stdin(tmp_path: Path) -> None:
    data = CAPTURE.read_bytes()
    gz = tmp_path / "capture.log.gz"
    gz.write_bytes(gzip.compress(data))
    disguised = tmp_path / "capture.txt"  # gzip recognised by its magic, not the name
    disguised.write_bytes(gzip.compress(data))
    expected = [ln for ln in capture_lines() if ln != b"OK"]
    for p in (CAPTURE, gz, disguised):
        with open_capture(str(p)) as f:
            assert list(iter_capture(f)) == expected
    code = ("import sys; from jobctl.parse.monitor import open_capture, iter_capture; "
            "print(sum(1 for _ in iter_capture(open_capture('-'))))")
    for payload in (data, gzip.compress(data)):
        out = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, check=True)
        assert int(out.stdout) == len(expected)
