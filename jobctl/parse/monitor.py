r"""Exact, fast parsing of Redis MONITOR lines (live replies or a saved `redis-cli monitor` log).

Grammar (Redis >= 2.6, `replicationFeedMonitors()`; see ../shared/docs/monitor-format.md):

    SEC.USEC6 " [" DB " " ADDR "] " ARG (" " ARG)*        ARG = '"' sdscatrepr(bytes) '"'

* ADDR is `ip:port`, `[ipv6]:port`, `unix:/path`, `lua`, `?:0` or empty (`[0 ]`, 7.2+); it ends at
  the first `] "` (an IPv6 `]:` never matches, and every command has at least one argument).
* sdscatrepr writes `\\ \" \n \r \t \a \b` and `\xHH` for every other byte outside 0x20-0x7e, so an
  argument never contains a raw quote or newline: one line is one command, and `" "` can only be a
  separator when the character before it is not an escaping backslash.
* Redis <= 2.4 wrote `SEC.USEC (db N) "cmd" ...` (no client, `(db N) ` only when N != 0): accepted.

Unlike redis-py's `Monitor` (which joins arguments with spaces and undoes only `\"`), arguments
come back as the exact bytes the client sent: binary-safe, boundaries kept.

Speed (bench/monitor_parse.py): the header is cut with `bytes.find`, a body without backslashes is
split on `" "` directly (no escape can hide a quote there). A short body with escapes is split raw
too when one regex search proves that safe (no `\\"`, every backslash starts a Redis escape) and
each argument goes through one `codecs.escape_decode`; bodies it cannot prove take the exact
rewrite route (`\\` and `\"` rewritten as `\x5c` / `\x22`, after which the split is exact). A long
body (a 100 kB payload) avoids multi-byte `replace`/`split` passes (~1.5 ns per byte each) and
finds its few quotes and backslashes with memchr. Escapes Redis never writes (`\q`, octal, `\'`)
and stray quotes make the line unparseable. All three routes are checked against each other on
arbitrary input (tests/test_monitor_parse.py). Malformed lines return None: the caller counts
them; nothing here raises on bad input.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, NamedTuple

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# After `\\\\` and `\\"` are rewritten as \\xHH: a backslash followed by a byte Redis never escapes.
_BAD_ESCAPE = re.compile(rb"\\[^nrtabx]")
# On a raw body: a backslash before a byte no escape starts with, two before a quote, or an escaped
# quote followed by ` "` (the split would cut there). Where
# this finds nothing, every backslash starts a Redis escape and every quote is classified by the
# byte before it (see _split_quick); a hit only means "take the exact route".
_QUICK_DOUBT = re.compile(rb'\\(?:[^\\"nrtabx]|\\"|" ")')
# One quoted string's body (sdscatrepr output without its quotes): only Redis' escapes, no bare quote.
_VALID_ESCAPED_STRING = re.compile(rb'(?:[^\\"]++|\\[\\"nrtab]|\\x[0-9a-fA-F]{2})*+')
_escape_decode = codecs.escape_decode
# The escapes sdscatrepr writes, for the long route (`\\`, `\"`, `\n` `\r` `\t` `\a` `\b`, `\xHH`).
_SIMPLE_ESCAPES = {92: b"\\", 34: b'"', 110: b"\n", 114: b"\r", 116: b"\t", 97: b"\x07", 98: b"\x08"}
_HEX_PAIRS = {f"{i:02{c}}".encode(): bytes([i]) for i in range(256) for c in "xX"}
_HEX_PAIRS.update({b"%x%X" % (i >> 4, i & 15): bytes([i]) for i in range(256)})  # mixed case, like escape_decode
_HEX_PAIRS.update({b"%X%x" % (i >> 4, i & 15): bytes([i]) for i in range(256)})
_LONG = 2048  # argument bodies at least this long take the memchr route (_split_long)
_LONG_MAX_QUOTES = 64  # ... unless they hold more quotes than this (then the replace route is cheaper)
_LONG_MAX_ESCAPES = 256  # an argument with more backslashes is checked with one regex instead
_new_line = tuple.__new__


class MonitorLine(NamedTuple):
    """One command seen by MONITOR. `args[0]` is the command name as the client typed it."""

    ts_us: int  # wall-clock time in integer microseconds since the epoch (no float rounding)
    db: int
    client: str  # as Redis printed it: "10.0.0.5:4242", "[::1]:51234", "unix:/path", "lua", "" …
    args: list[bytes]

    @property
    def command(self) -> str:
        """Upper-cased command name (clients send any case: `rpush`, `RPUSH`)."""
        return self.args[0].decode("latin-1").upper()

    @property
    def time(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.ts_us)

    @property
    def client_kind(self) -> str:
        """tcp | unix | lua | unknown (a client without a socket, e.g. a module's)."""
        return client_kind(self.client)


def client_kind(client: str) -> str:
    if client == "lua":
        return "lua"
    if client.startswith("unix:"):
        return "unix"
    if not client or client.startswith("?"):
        return "unknown"
    return "tcp"


def split_client(client: str) -> tuple[str, str]:
    """(host, port): `[::1]:5` -> ("::1", "5"); `unix:/p` -> ("unix", "/p"); `lua` -> ("lua", "")."""
    kind = client_kind(client)
    if kind == "lua":
        return "lua", ""
    if kind == "unix":
        return "unix", client[5:]
    host, sep, port = client.rpartition(":")
    if not sep:
        return client, ""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


# "[db client" repeats on every line of a connection: parse each distinct one once.
_HEADERS: dict[bytes, tuple[int, str]] = {}
_HEADERS_MAX = 20_000


def _header(raw: bytes) -> tuple[int, str] | None:
    """`[0 127.0.0.1:4242` -> (0, "127.0.0.1:4242"); None when it is not one."""
    sp = raw.find(32)
    db = raw[1:sp]
    if sp < 0 or raw[:1] != b"[" or not db.isdigit():
        return None
    if len(_HEADERS) >= _HEADERS_MAX:
        _HEADERS.clear()
    h = _HEADERS[raw] = (int(db), raw[sp + 1:].decode("utf-8", "backslashreplace"))
    return h


def parse_line(line: bytes) -> MonitorLine | None:
    """Parse one line (no trailing newline). Returns None when it is not a MONITOR line."""
    try:
        end = line.find(b'] "')
        if end < 0 or line[-1] != 34:  # 34 == ord('"')
            return _parse_legacy(line)
        sp = line.find(32)  # 32 == ord(' '): end of the timestamp
        h = _HEADERS.get(line[sp + 1:end])
        if h is None:
            h = _header(line[sp + 1:end])
            if h is None:
                return _parse_legacy(line)
        ts = line[:sp].replace(b".", b"", 1)
        if line[sp - 7] != 46 or not ts.isdigit():  # 46 == ord('.'): exactly 6 digits of microseconds
            return None
        args: list[bytes] | None
        if len(line) - end < _LONG:
            body = line[end + 3:-1]
            if 92 not in body:  # no backslash: no escaped quote can hide inside an argument
                args = body.split(b'" "')
                if body.count(b'"') != 2 * (len(args) - 1):
                    return None  # a stray quote: not sdscatrepr output
            else:
                args = _split_quick(body)
        else:
            args = _split_long(line, end + 3, len(line) - 1)  # no copy of a long body
        if args is None:
            return None
        return _new_line(MonitorLine, (int(ts), h[0], h[1], args))
    except (ValueError, IndexError):
        return None


def _split_args(body: bytes) -> list[bytes] | None:
    """The argument list between the outer quotes -> exact argument bytes (None if malformed)."""
    return _split_short(body) if len(body) < _LONG else _split_long(body)


def _split_short(body: bytes) -> list[bytes] | None:
    """`_split_args` by C-level passes over the whole body (any length; fastest for short ones)."""
    if 92 not in body:
        args = body.split(b'" "')
        return args if body.count(b'"') == 2 * (len(args) - 1) else None
    return _split_quick(body)


def _split_quick(body: bytes) -> list[bytes] | None:
    r"""`_split_args` for a short body with backslashes, without rewriting it first.

    Splitting the raw body on `" "` is exact when no separator quote is escaped, and every quote
    is classified by the backslash run before it when those runs are at most one long. One regex
    search proves both (it also rejects escapes Redis never writes): no `\\"`, no `\" "`, and no
    backslash followed by anything but `\ " n r t a b x`. A body it cannot prove (a Windows path `C:\\dir`,
    an argument ending in `" `) takes the exact rewrite route. Raises ValueError on a bad `\x`."""
    if _QUICK_DOUBT.search(body) is not None:
        return _split_escaped(body)
    args = body.split(b'" "')
    if body.count(b'"') != 2 * (len(args) - 1) + body.count(b'\\"'):
        return None  # a quote that is neither escaped nor a separator: not sdscatrepr output
    return [_escape_decode(a)[0] if 92 in a else a for a in args]


def _split_escaped(body: bytes) -> list[bytes] | None:
    """`_split_args` for a body with backslashes (short bodies: a few C-level passes, no loop).

    Raises ValueError on an invalid `\\x` escape (escape_decode checks the hex digits)."""
    # Rewrite the two escapes that involve `\` or `"` as \xHH first (pairs of backslashes from
    # the left, as the escapes were written): then every quote left is a real delimiter, the
    # split on `" "` is exact, and every backslash left starts an escape.
    t = body.replace(b"\\\\", b"\\x5c").replace(b'\\"', b"\\x22")
    if _BAD_ESCAPE.search(t) is not None:
        return None  # an escape Redis never writes (\\xHH itself is checked by escape_decode)
    args = t.split(b'" "')
    if t.count(b'"') != 2 * (len(args) - 1):
        return None  # a stray quote: not sdscatrepr output
    return [_escape_decode(a)[0] if 92 in a else a for a in args]


def _split_long(buf: bytes, pos: int = 0, stop: int | None = None) -> list[bytes] | None:
    """`_split_args` for a long body (e.g. a 100 kB payload), given as buf[pos:stop] so a whole
    line needs no body copy. Multi-byte `replace`/`split` passes cost ~1.5 ns per byte each, and
    every 100 kB copy costs page faults: find the few quotes and backslashes with memchr, and build
    each argument once (a slice, or the join of its decoded pieces). Bodies dense with quotes go
    the short way."""
    if stop is None:
        stop = len(buf)
    find = buf.find
    bounds: list[tuple[int, int]] = []
    start = first = pos
    q = find(b'"', pos, stop)
    seen = 0
    while q >= 0:
        seen += 1
        if seen > _LONG_MAX_QUOTES:
            return _split_short(buf[first:stop])
        k = q
        while k > start and buf[k - 1] == 92:
            k -= 1
        if (q - k) & 1:  # an odd run of backslashes: an escaped quote inside the argument
            q = find(b'"', q + 1, stop)
            continue
        if q + 3 > stop or buf[q + 1:q + 3] != b' "':
            return None  # a real quote that is not a separator: not sdscatrepr output
        bounds.append((start, q))
        start = q + 3
        q = find(b'"', start, stop)
    bounds.append((start, stop))
    out: list[bytes] = []
    for s, e in bounds:
        if find(b"\\", s, e) < 0:
            out.append(buf[s:e])
        else:
            d = _unescape_range(buf, s, e)
            if d is None:
                return None
            out.append(d)
    return out


def _unescape_range(buf: bytes, s: int, e: int) -> bytes | None:
    """buf[s:e], one long argument whose quotes are known to be escaped, decoded where its escapes
    are: memchr to each backslash; the bytes between are copied once, by the final join. Every
    backslash must start an escape Redis writes. Many backslashes (dense binary): one regex check
    and one escape_decode pass instead."""
    find = buf.find
    i = find(b"\\", s, e)
    out: list[bytes] = []
    append = out.append
    prev = s
    n = 0
    while i >= 0:
        n += 1
        if n > _LONG_MAX_ESCAPES:
            return unescape_repr(buf[s:e])
        if i + 1 >= e:
            return None  # a trailing lone backslash
        c = buf[i + 1]
        if c == 120:  # \xHH
            d = _HEX_PAIRS.get(buf[i + 2:i + 4]) if i + 4 <= e else None
            nxt = i + 4
        else:
            d = _SIMPLE_ESCAPES.get(c)
            nxt = i + 2
        if d is None:
            return None  # an escape Redis never writes, or a bad \x
        append(buf[prev:i])
        append(d)
        prev = nxt
        i = find(b"\\", prev, e)
    append(buf[prev:e])
    return b"".join(out)


def _parse_legacy(line: bytes) -> MonitorLine | None:
    """Redis <= 2.4: `SEC.USEC "cmd" …` or `SEC.USEC (db N) "cmd" …` (no client address)."""
    sp = line.find(b" ")
    ts = line[:sp]
    if sp < 0 or ts[-7:-6] != b"." or not ts.replace(b".", b"", 1).isdigit() or line[-1] != 34:
        return None
    rest = line[sp + 1:]
    db = 0
    if rest.startswith(b"(db "):
        close = rest.find(b") ")
        if close < 0 or not rest[4:close].isdigit():
            return None
        db = int(rest[4:close])
        rest = rest[close + 2:]
    if rest[:1] != b'"':
        return None
    args = _split_args(rest[1:-1])
    if args is None:
        return None
    return MonitorLine(int(ts.replace(b".", b"", 1)), db, "", args)


# The same parser in C (_monitor_fast.c: the common, provably well-formed line; it hands every
# other line to the Python parser above, so results are identical). Optional: without a C
# compiler at install time, or with JOBCTL_PURE_PYTHON=1, the Python parser does everything.
parse_line_py = parse_line
FAST = False
if not os.environ.get("JOBCTL_PURE_PYTHON"):
    try:
        from jobctl.parse import _monitor_fast  # type: ignore[attr-defined]
    except ImportError:
        pass
    else:
        _monitor_fast.init(MonitorLine, parse_line_py)
        parse_line = _monitor_fast.parse_line  # noqa: F811
        FAST = True


def unescape_repr(text: bytes) -> bytes | None:
    """Undo sdscatrepr on one quoted-string body (no surrounding quotes); None if invalid."""
    if 92 not in text:
        return None if 34 in text else text
    if _VALID_ESCAPED_STRING.fullmatch(text) is None:
        return None
    try:
        return _escape_decode(text)[0]
    except ValueError:
        return None


# --------------------------------------------------------------------------- captures


def normalize_line(line: bytes) -> bytes | None:
    """A line as a capture may hold it -> a bare MONITOR line; None for the `OK` preamble.

    Accepts what redis-cli writes (`OK`, then bare lines), a raw wire/telnet capture (`+OK`,
    `+<line>\\r`), and `redis-cli --csv monitor` (each line quoted once more with sdscatrepr).
    """
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    if line[:1] == b"+":
        line = line[1:]
    if line == b"OK" or not line:
        return None
    if line[:1] == b'"' and line[-1:] == b'"' and len(line) > 1:
        inner = unescape_repr(line[1:-1])
        if inner is not None:
            return inner
    return line


def iter_capture(stream: IO[bytes]) -> Iterator[bytes]:
    """Yield normalized MONITOR lines from a binary stream (blank lines and `OK` skipped)."""
    for raw in stream:
        line = normalize_line(raw)
        if line is not None:
            yield line


def open_capture(path: str) -> IO[bytes]:
    """`-` = stdin; gzip is recognised by its magic bytes (any name), not only by `.gz`."""
    import gzip
    import sys

    if path == "-":
        raw: IO[bytes] = sys.stdin.buffer
        peek = getattr(raw, "peek", None)
        if peek is not None and peek(2)[:2] == b"\x1f\x8b":
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        return raw
    f = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    magic = f.read(2)
    f.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    return f

