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

Speed (bench/monitor_parse.py): the header is cut with `bytes.find` (each distinct `[db client`
parsed once), a body without backslashes is split on `" "` directly (no escape can hide a quote
there), and a body with escapes goes to monitor_args.py (three routes, checked against each other).
The same grammar is also parsed in C (_monitor_fast.c, below), which hands every line it cannot
prove well-formed to this parser. Malformed lines return None: the caller counts them; nothing
here raises on bad input.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, NamedTuple

from jobctl.parse.monitor_args import LONG, split_args, split_long, split_quick, unescape_repr

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

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
        if len(line) - end < LONG:  # monitor_args.split_short, inlined: ~5% of the pure-Python rate
            body = line[end + 3:-1]
            if 92 not in body:  # no backslash: no escaped quote can hide inside an argument
                args = body.split(b'" "')
                if body.count(b'"') != 2 * (len(args) - 1):
                    return None  # a stray quote: not sdscatrepr output
            else:
                args = split_quick(body)
        else:
            args = split_long(line, end + 3, len(line) - 1)  # no copy of a long body
        if args is None:
            return None
        return _new_line(MonitorLine, (int(ts), h[0], h[1], args))
    except (ValueError, IndexError):
        return None


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
    args = split_args(rest[1:-1])
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

