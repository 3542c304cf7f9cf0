"""MONITOR line decoding: jobctl's parser vs redis-py's own MONITOR line parser, same lines, same run.

The corpus is the real Resque capture (../shared/fixtures/resque/monitor.log: a whole Resque 3.0 run,
JSON from both encoders, UTF-8, a 100 kB argument) repeated to --lines lines, each copy shifted in
time and client port so no two lines are identical.

Measured per round, interleaved (best and median over --rounds):
  jobctl parse     jobctl.parse.monitor.parse_line on every line (exact argument bytes)
  redis-py         redis.client.Monitor.next_command on every line (its real code; the connection
                   is replaced by an object whose read_response() returns the next line, so only
                   the line parser is timed)
  jobctl events    parse_line + EventDecoder (default event kinds, payloads JSON-decoded)
It also counts the lines where redis-py's result is lossy (its `command` string is not the
command's real text: escapes left in, argument boundaries merged).

    .venv/bin/python bench/monitor_parse.py                 # 1,000,000 lines, 3 rounds (~1-2 min)
    .venv/bin/python bench/monitor_parse.py --lines 200000  # quicker
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobctl.parse.monitor import iter_capture, parse_line  # noqa: E402
from jobctl.parse.monitor_events import DEFAULT_KINDS, EventDecoder  # noqa: E402

CAPTURE = ROOT.parent / "shared" / "fixtures" / "resque" / "monitor.log"


def synthesise(n: int) -> list[bytes]:
    """n lines: the capture repeated, copy k shifted by k*10 s and with client ports moved by k."""
    with CAPTURE.open("rb") as f:
        base = list(iter_capture(f))
    out: list[bytes] = []
    copy = 0
    while len(out) < n:
        shift = copy * 10
        for line in base[: n - len(out)]:
            sp = line.index(b" ")
            sec, usec = line[:sp].split(b".")
            head = b"%d.%s" % (int(sec) + shift, usec)
            rest = line[sp:]
            end = rest.index(b'] "')
            addr = rest[:end]
            host, sep, port = addr.rpartition(b":")
            if sep and port.isdigit():
                addr = host + b":" + str((int(port) + copy) % 65536).encode()
            out.append(head + addr + rest[end:])
        copy += 1
    return out


def redis_py_parser(lines: list[bytes]) -> Callable[[], None]:
    from redis.client import Monitor
    from redis.connection import Encoder

    class Feed:
        """Stands in for the connection: hands redis-py's Monitor one MONITOR reply per call."""

        def __init__(self) -> None:
            self.encoder = Encoder("utf-8", "strict", False)
            self.it: Iterator[bytes] = iter(())

        def read_response(self) -> bytes:
            return next(self.it)

    feed = Feed()
    mon = Monitor.__new__(Monitor)
    mon.connection = feed  # type: ignore[assignment]

    def run() -> None:
        feed.it = iter(lines)
        nxt = mon.next_command
        for _ in range(len(lines)):
            nxt()

    return run


def jobctl_parser(lines: list[bytes]) -> Callable[[], None]:
    def run() -> None:
        p = parse_line
        for line in lines:
            p(line)

    return run


def jobctl_events(lines: list[bytes]) -> Callable[[], None]:
    def run() -> None:
        dec = EventDecoder("resque", kinds=DEFAULT_KINDS)
        feed = dec.feed
        p = parse_line
        for line in lines:
            m = p(line)
            if m is not None:
                feed(m, line)
        dec.flush()

    return run


def lossy_count(lines: list[bytes], sample: int) -> tuple[int, int]:
    """(lossy, checked): lines where redis-py's `command` differs from the real command text."""
    from redis.client import Monitor
    from redis.connection import Encoder

    class One:
        encoder = Encoder("utf-8", "strict", False)
        line = b""

        def read_response(self) -> bytes:
            return self.line

    one = One()
    mon = Monitor.__new__(Monitor)
    mon.connection = one  # type: ignore[assignment]
    lossy = 0
    for line in lines[:sample]:
        one.line = line
        theirs = mon.next_command()["command"]
        m = parse_line(line)
        assert m is not None
        exact = " ".join(a.decode("utf-8", "replace") for a in m.args)
        lossy += theirs != exact
    return lossy, min(sample, len(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()

    t0 = time.perf_counter()
    lines = synthesise(a.lines)
    mb = sum(map(len, lines)) / 1e6
    print(f"corpus: {len(lines):,} lines, {mb:,.0f} MB (from {CAPTURE.name}), built in {time.perf_counter() - t0:.1f} s")
    assert all(parse_line(x) is not None for x in lines[:5000])

    runners = {"jobctl parse": jobctl_parser(lines), "redis-py Monitor": redis_py_parser(lines),
               "jobctl parse+events": jobctl_events(lines)}
    rates: dict[str, list[float]] = {k: [] for k in runners}
    for r in range(a.rounds):
        order = list(runners) if r % 2 == 0 else list(reversed(runners))
        for name in order:
            t = time.perf_counter()
            runners[name]()
            rates[name].append(len(lines) / (time.perf_counter() - t))
        print(f"round {r + 1}: " + ", ".join(f"{k} {rates[k][-1]:,.0f}/s" for k in runners), flush=True)

    base_best = max(rates["redis-py Monitor"])
    base_med = statistics.median(rates["redis-py Monitor"])
    print(f"\n{'':22}{'best lines/s':>14}{'median':>12}{'vs redis-py (best/median)':>28}")
    for name, rs in rates.items():
        best, med = max(rs), statistics.median(rs)
        print(f"{name:22}{best:>14,.0f}{med:>12,.0f}{best / base_best:>17.2f}x /{med / base_med:>5.2f}x")
    lossy, checked = lossy_count(lines, 100_000)
    print(f"\nredis-py lossy on {lossy:,} of {checked:,} lines ({100 * lossy / checked:.1f}%); jobctl: exact bytes")


if __name__ == "__main__":
    main()
