"""MONITOR line decoding: jobctl's parser vs redis-py's own MONITOR line parser, same lines, same run.

The corpus is the real Resque capture (../shared/fixtures/resque/monitor.log: a whole Resque 3.0 run,
JSON from both encoders, UTF-8, a 100 kB argument) repeated to --lines lines, each copy shifted in
time and client port so no two lines are identical.

Measured in interleaved chunks of --chunk lines (each chunk timed with every parser in turn):
  jobctl parse     jobctl.parse.monitor.parse_line on every line (exact argument bytes; the C
                   parser, which hands lines it cannot prove well-formed to the Python one)
  jobctl parse (Python)  the pure-Python reference parser alone (parse_line_py), as used when the
                   C extension is not built
  redis-py         redis.client.Monitor.next_command on every line (its real code; the connection
                   is replaced by an object whose read_response() returns the next line, so only
                   the line parser is timed)
  jobctl events    parse_line + EventDecoder (default event kinds, payloads JSON-decoded)
It also counts the lines where redis-py's result is lossy (its `command` string is not the
command's real text: escapes left in, argument boundaries merged).

    .venv/bin/python bench/monitor_parse.py                 # 1,000,000 lines, 2 rounds (~1-2 min idle)
    .venv/bin/python bench/monitor_parse.py --lines 200000  # quicker
    .venv/bin/python bench/monitor_parse.py --max-line 10000  # without the four ~100 kB arguments
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

from jobctl.parse.monitor import FAST, iter_capture, parse_line, parse_line_py  # noqa: E402
from jobctl.parse.monitor_events import DEFAULT_KINDS, EventDecoder  # noqa: E402

CAPTURE = ROOT.parent / "shared" / "fixtures" / "resque" / "monitor.log"


def synthesise(n: int, max_line: int | None = None) -> list[bytes]:
    """n lines: the capture repeated, copy k shifted by k*10 s and with client ports moved by k
    (`max_line`: leave out lines longer than that, e.g. the capture's four ~100 kB arguments)."""
    with CAPTURE.open("rb") as f:
        base = [x for x in iter_capture(f) if max_line is None or len(x) <= max_line]
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


class RedisPyParser:
    """redis-py's own `Monitor.next_command` on our lines: its connection is replaced by an object
    whose read_response() returns the next line, so only the line parser is timed."""

    def __init__(self) -> None:
        from redis.client import Monitor
        from redis.connection import Encoder

        parser = self

        class Feed:
            encoder = Encoder("utf-8", "strict", False)

            def read_response(self) -> bytes:
                return next(parser.it)

        self.it: Iterator[bytes] = iter(())
        self.mon = Monitor.__new__(Monitor)
        self.mon.connection = Feed()  # type: ignore[assignment]

    def __call__(self, lines: list[bytes]) -> None:
        self.it = iter(lines)
        nxt = self.mon.next_command
        for _ in range(len(lines)):
            nxt()


def jobctl_parser(lines: list[bytes]) -> None:
    p = parse_line
    for line in lines:
        p(line)


def jobctl_python_parser(lines: list[bytes]) -> None:
    p = parse_line_py
    for line in lines:
        p(line)


class JobctlEvents:
    """parse_line + one EventDecoder for the whole corpus (default kinds, payloads decoded)."""

    def __init__(self) -> None:
        self.dec = EventDecoder("resque", kinds=DEFAULT_KINDS)
        self.events = 0

    def __call__(self, lines: list[bytes]) -> None:
        feed = self.dec.feed
        p = parse_line
        n = 0
        for line in lines:
            m = p(line)
            if m is not None:
                n += len(feed(m, line))
        self.events += n


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
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=5000, help="lines per interleaved timing chunk")
    ap.add_argument("--max-line", type=int, default=None,
                    help="leave out capture lines longer than this many bytes (10000 drops the 100 kB ones)")
    a = ap.parse_args()

    t0 = time.perf_counter()
    lines = synthesise(a.lines, a.max_line)
    mb = sum(map(len, lines)) / 1e6
    print(f"C parser (jobctl/parse/_monitor_fast.c) {'built and used' if FAST else 'NOT built: jobctl parse = Python'}")
    print(f"corpus: {len(lines):,} lines, {mb:,.0f} MB (from {CAPTURE.name}), built in {time.perf_counter() - t0:.1f} s")
    assert all(parse_line(x) is not None for x in lines[:5000])

    # Interleaved in chunks: every chunk is timed with each parser in turn (rotating order), so a
    # burst of load from other processes hits all of them alike. Reported: lines/s over the whole
    # run, and the best chunk (the least disturbed stretch: closest to an idle machine).
    chunk = a.chunk
    pieces = [lines[i:i + chunk] for i in range(0, len(lines), chunk)]
    names = ["jobctl parse", "jobctl parse (Python)", "redis-py Monitor", "jobctl parse+events"]
    total = dict.fromkeys(names, 0.0)
    best = dict.fromkeys(names, 0.0)
    per_round: dict[str, list[float]] = {k: [] for k in names}
    for r in range(a.rounds):
        runners: dict[str, Callable[[list[bytes]], None]] = {
            "jobctl parse": jobctl_parser, "jobctl parse (Python)": jobctl_python_parser,
            "redis-py Monitor": RedisPyParser(), "jobctl parse+events": JobctlEvents()}
        spent = dict.fromkeys(names, 0.0)
        for i, piece in enumerate(pieces):
            k = i % len(names)
            order = names[k:] + names[:k]
            for name in order:
                t = time.perf_counter()
                runners[name](piece)
                dt = time.perf_counter() - t
                spent[name] += dt
                best[name] = max(best[name], len(piece) / dt)
        for name in names:
            total[name] += spent[name]
            per_round[name].append(len(lines) / spent[name])
        print(f"round {r + 1}: " + ", ".join(f"{k} {per_round[k][-1]:,.0f}/s" for k in names), flush=True)

    base = a.rounds * len(lines) / total["redis-py Monitor"]
    base_best = best["redis-py Monitor"]
    print(f"\n{'':22}{'lines/s (run)':>15}{'vs redis-py':>13}{'best chunk':>13}{'vs redis-py':>13}")
    for name in names:
        rate = a.rounds * len(lines) / total[name]
        print(f"{name:24}{rate:>15,.0f}{rate / base:>12.2f}x{best[name]:>13,.0f}{best[name] / base_best:>12.2f}x")
    print("median of rounds: " + ", ".join(f"{k} {statistics.median(v):,.0f}/s" for k, v in per_round.items()))
    lossy, checked = lossy_count(lines, 100_000)
    print(f"\nredis-py lossy on {lossy:,} of {checked:,} lines ({100 * lossy / checked:.1f}%); jobctl: exact bytes")


if __name__ == "__main__":
    main()
