r"""Splitting a MONITOR line's argument list into the exact argument bytes (sdscatrepr undone).

The body is what lies between the first argument's opening quote and the last one's closing
quote: arguments in sdscatrepr form (`\\ \" \n \r \t \a \b \xHH`, every other byte raw) joined
by `" "`. Three routes give the same answer on every input (tests/test_monitor_parse.py checks
them against each other on arbitrary bytes); monitor.parse_line picks one by the body's length:

* `split_quick` - a short body split raw on `" "` when one regex search proves that safe (no
  `\\"`, no `\" "`, every backslash starts a Redis escape); one escape_decode per argument;
* `split_rewritten` - the exact reference route: `\\` and `\"` rewritten as `\x5c` / `\x22`
  first, after which the split is exact and every backslash starts an escape;
* `split_long` - a long body (a 100 kB payload) without multi-byte `replace`/`split` passes
  (~1.5 ns per byte each): memchr to the few quotes and backslashes, each argument built once.

Escapes Redis never writes (`\q`, octal, `\'`) and stray quotes make a body unparseable (None).
An invalid `\x` escape raises ValueError (escape_decode checks the hex digits); parse_line turns
that into None too.
"""

from __future__ import annotations

import codecs
import re

# After `\\\\` and `\\"` are rewritten as \\xHH: a backslash followed by a byte Redis never escapes.
_BAD_ESCAPE = re.compile(rb"\\[^nrtabx]")
# On a raw body: a backslash before a byte no escape starts with, two before a quote, or an escaped
# quote followed by ` "` (the split would cut there). Where
# this finds nothing, every backslash starts a Redis escape and every quote is classified by the
# byte before it (see split_quick); a hit only means "take the exact route".
_QUICK_DOUBT = re.compile(rb'\\(?:[^\\"nrtabx]|\\"|" ")')
# One quoted string's body (sdscatrepr output without its quotes): only Redis' escapes, no bare quote.
_VALID_ESCAPED_STRING = re.compile(rb'(?:[^\\"]++|\\[\\"nrtab]|\\x[0-9a-fA-F]{2})*+')
_escape_decode = codecs.escape_decode
# The escapes sdscatrepr writes, for the long route (`\\`, `\"`, `\n` `\r` `\t` `\a` `\b`, `\xHH`).
_SIMPLE_ESCAPES = {92: b"\\", 34: b'"', 110: b"\n", 114: b"\r", 116: b"\t", 97: b"\x07", 98: b"\x08"}
_HEX_PAIRS = {f"{i:02{c}}".encode(): bytes([i]) for i in range(256) for c in "xX"}
_HEX_PAIRS.update({b"%x%X" % (i >> 4, i & 15): bytes([i]) for i in range(256)})  # mixed case, like escape_decode
_HEX_PAIRS.update({b"%X%x" % (i >> 4, i & 15): bytes([i]) for i in range(256)})
LONG = 2048  # argument bodies at least this long take the memchr route (split_long)
LONG_MAX_QUOTES = 64  # ... unless they hold more quotes than this (then the replace route is cheaper)
LONG_MAX_ESCAPES = 256  # an argument with more backslashes is checked with one regex instead


def split_args(body: bytes) -> list[bytes] | None:
    """The argument list between the outer quotes -> exact argument bytes (None if malformed)."""
    return split_short(body) if len(body) < LONG else split_long(body)


def split_short(body: bytes) -> list[bytes] | None:
    """`split_args` by C-level passes over the whole body (any length; fastest for short ones)."""
    if 92 not in body:
        args = body.split(b'" "')
        return args if body.count(b'"') == 2 * (len(args) - 1) else None
    return split_quick(body)


def split_quick(body: bytes) -> list[bytes] | None:
    r"""`split_args` for a short body with backslashes, without rewriting it first.

    Splitting the raw body on `" "` is exact when no separator quote is escaped, and every quote
    is classified by the backslash run before it when those runs are at most one long. One regex
    search proves both (it also rejects escapes Redis never writes): no `\\"`, no `\" "`, and no
    backslash followed by anything but `\ " n r t a b x`. A body it cannot prove (a Windows path `C:\\dir`,
    an argument ending in `" `) takes the exact rewrite route. Raises ValueError on a bad `\x`."""
    if _QUICK_DOUBT.search(body) is not None:
        return split_rewritten(body)
    args = body.split(b'" "')
    if body.count(b'"') != 2 * (len(args) - 1) + body.count(b'\\"'):
        return None  # a quote that is neither escaped nor a separator: not sdscatrepr output
    return [_escape_decode(a)[0] if 92 in a else a for a in args]


def split_rewritten(body: bytes) -> list[bytes] | None:
    """`split_args` for a body with backslashes (short bodies: a few C-level passes, no loop).

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


def split_long(buf: bytes, pos: int = 0, stop: int | None = None) -> list[bytes] | None:
    """`split_args` for a long body (e.g. a 100 kB payload), given as buf[pos:stop] so a whole
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
        if seen > LONG_MAX_QUOTES:
            return split_short(buf[first:stop])
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
            d = unescape_range(buf, s, e)
            if d is None:
                return None
            out.append(d)
    return out


def unescape_range(buf: bytes, s: int, e: int) -> bytes | None:
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
        if n > LONG_MAX_ESCAPES:
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
