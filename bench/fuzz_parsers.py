"""Coverage-guided fuzzing of jobctl's parsers with atheris (libFuzzer for Python).

Every target feeds arbitrary bytes to one parser and checks the parser's contract: it never
raises anything but its documented error, and whatever it returns renders as safe text (no raw
control / bidi characters) and strict JSON. A crash is a bug: libFuzzer stops and writes the input
as `crash-<sha1>`; replay it with `--target NAME crash-<sha1>`.

    .venv/bin/pip install atheris                      # optional extra: pip install '.[fuzz]'
    .venv/bin/python bench/fuzz_parsers.py --list
    .venv/bin/python bench/fuzz_parsers.py --make-seeds /tmp/seeds   # hostile corpus + real fixtures
    .venv/bin/python bench/fuzz_parsers.py --target resque_job /tmp/seeds/resque_job -max_total_time=600
    .venv/bin/python bench/fuzz_parsers.py --target ruby_yaml /tmp/seeds/ruby_yaml -jobs=2 -workers=2

Arguments after the options go to libFuzzer (`-max_total_time`, `-runs`, `-dict`, corpus dirs).
Without atheris, `--smoke N` runs every target on the seeds plus N random byte mutations each (a
quick check that the harness itself works; it is not coverage-guided).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u2028\u2029\ufeff\ud800-\udfff]")


def _safe(text: str, what: str) -> None:
    m = _UNSAFE.search(text)
    if m:
        raise AssertionError(f"{what}: raw {m.group(0)!r} in rendered text")


def _render(record: object, what: str) -> None:
    """The record through both renderers every command uses: JSON and visible() text."""
    from jobctl.render.output import json_dumps
    from jobctl.safe import visible

    d = record.to_dict()  # type: ignore[attr-defined]
    text = json_dumps(d)
    _safe(text, what + " json")

    def refuse(token: str) -> None:
        raise AssertionError(f"{what}: {token} in JSON output")

    json.loads(text, parse_constant=refuse)
    for v in d.values():
        if isinstance(v, str):
            _safe(visible(v), what + " visible")


# --------------------------------------------------------------------------- targets


def t_resque_job(data: bytes) -> None:
    from jobctl.parse.resque_payload import parse_job

    j = parse_job(data, queue="q", position=0, id="q@0")
    assert (j.parse_error is None) == (j.state == "ready") and j.job_class
    _render(j, "resque_job")


def t_resque_failure(data: bytes) -> None:
    from jobctl.parse.resque_payload import parse_failure

    f = parse_failure(data, key="resque:failed", index=0, id="x")
    assert f.job_class
    _render(f, "resque_failure")


def t_resque_span(data: bytes) -> None:
    from jobctl.backends.resque.rawspan import SpanError, payload_span

    try:
        start, end = payload_span(data)
    except SpanError:
        return
    assert data[start:start + 1] == b"{" and data[end - 1:end] == b"}", (start, end)


def t_monitor_line(data: bytes) -> None:
    from hostile.loaders import sdscatrepr

    from jobctl.parse.monitor import parse_line, parse_line_py

    line = data.split(b"\n", 1)[0]
    parsed = parse_line(line)
    assert parsed == parse_line_py(line), line  # the C parser (when built) equals the Python reference
    if parsed is not None and parsed.args:
        again = parse_line(b"1795808598.552929 [0 127.0.0.1:1] " + b" ".join(sdscatrepr(a) for a in parsed.args))
        assert again is not None and again.args == parsed.args, (parsed.args, again)


def t_ruby_yaml(data: bytes) -> None:
    from jobctl.parse.dj_handler import parse_handler
    from jobctl.parse.ruby_yaml import RubyYamlError, load_ruby_yaml

    h = parse_handler(data)
    assert h.name and h.job_class
    try:
        load_ruby_yaml(data)
    except RubyYamlError:
        pass


def t_resque_time(data: bytes) -> None:
    from jobctl.parse.resque_time import parse_resque_time

    t = parse_resque_time(data.decode("utf-8", "replace"))
    assert t is None or t.utcoffset() is not None and t.utcoffset().total_seconds() == 0


def t_dj_error(data: bytes) -> None:
    from jobctl.parse.dj_error import parse_last_error

    parse_last_error(data.decode("utf-8", "surrogateescape"))


def t_threshold(data: bytes) -> None:
    from jobctl.alert.thresholds import parse_range

    for durations in (False, True):
        try:
            parse_range(data.decode("utf-8", "replace"), durations=durations)
        except ValueError:
            pass


def t_visible(data: bytes) -> None:
    from jobctl.safe import visible

    text = data.decode("utf-8", "surrogateescape")
    _safe(visible(text), "visible")
    _safe(visible(text, keep_newlines=True).replace("\n", ""), "visible(keep_newlines)")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "resque_job": t_resque_job, "resque_failure": t_resque_failure, "resque_span": t_resque_span,
    "monitor_line": t_monitor_line, "ruby_yaml": t_ruby_yaml, "resque_time": t_resque_time,
    "dj_error": t_dj_error, "threshold": t_threshold, "visible": t_visible,
}


# --------------------------------------------------------------------------- seeds


def seeds() -> dict[str, list[bytes]]:
    """Small real and hostile inputs per target (the hostile corpus + the shared fixtures)."""
    from hostile.corpus import dj_handlers, resque_failures, resque_jobs
    from hostile.loaders import monitor_capture

    small = 200_000
    jobs = [e.data for e in resque_jobs() if len(e.data) < small]
    fails = [e.data for e in resque_failures() if len(e.data) < small]
    handlers = [e.data for e in dj_handlers(Path("/nonexistent")) if len(e.data) < small]
    fixtures = ROOT.parent / "shared" / "fixtures"
    try:
        dump = json.loads((fixtures / "resque" / "redis_dump.json").read_text())
        for e in dump:
            if e["key"].endswith(":failed"):
                fails += [v.encode() for v in e["value"]]
            elif ":queue:" in e["key"] and e["type"] == "list":
                jobs += [v.encode() for v in e["value"]]
        rows = json.loads((fixtures / "delayed_job" / "delayed_jobs.sqlite.json").read_text())
        handlers += [r["handler"].encode() for r in rows]
        errors = [r["last_error"].encode() for r in rows if r.get("last_error")]
        monitor = (fixtures / "resque" / "monitor.log").read_bytes().splitlines()[:2000]
    except OSError:
        errors, monitor = [], []
    monitor += [ln for ln in monitor_capture().splitlines() if len(ln) < small]
    times = [b"2026/11/27 19:42:41 UTC", b"2026-11-27T19:43:45+00:00", b"2026-11-27 19:51:54 +0000",
             b"Fri Nov 27 19:42:41 -0800 2026", b"2026-11-27T19:43:59.123456789Z", b"1795808598", b"garbage"]
    return {
        "resque_job": jobs, "resque_failure": fails, "resque_span": fails, "monitor_line": monitor,
        "ruby_yaml": handlers, "resque_time": times, "dj_error": errors or [b"boom\n/app/x.rb:1"],
        "threshold": [b"10", b"10:", b"~:10", b"10:20", b"@10:20", b"5m:1h", b"1e308:", b"-1:nan"],
        "visible": [b"\x1b]0;pwned\x07", "\u202e\u200b\ufeff".encode(), b"\xff\xfe\x9b31m"],
    }


def make_seeds(out: Path) -> None:
    for name, items in seeds().items():
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        for item in items:
            (d / hashlib.sha1(item).hexdigest()).write_bytes(item)
        print(f"{name}: {len(items)} seeds in {d}")


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.random()
        if op < 0.4 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op < 0.7:
            b.insert(rng.randrange(len(b) + 1), rng.choice(b'[]{}"\\:,-!&*\n \x1b\xff0'))
        elif b:
            del b[rng.randrange(len(b))]
    return bytes(b)


def smoke(n: int, only: str | None) -> int:
    rng = random.Random(9)
    all_seeds = seeds()
    for name, fn in TARGETS.items():
        if only and name != only:
            continue
        inputs = list(all_seeds[name]) + [_mutate(rng.choice(all_seeds[name]), rng) for _ in range(n)]
        for data in inputs:
            try:
                fn(data)
            except Exception:
                crash = Path(f"crash-{name}-{hashlib.sha1(data).hexdigest()}")
                crash.write_bytes(data)
                print(f"{name}: contract broken, input saved to {crash}", file=sys.stderr)
                raise
        print(f"{name}: {len(inputs)} inputs ok")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=sorted(TARGETS))
    ap.add_argument("--list", action="store_true", help="List the targets.")
    ap.add_argument("--make-seeds", type=Path, metavar="DIR", help="Write seed inputs per target under DIR.")
    ap.add_argument("--smoke", type=int, metavar="N", help="No atheris: seeds + N random mutations per target.")
    args, libfuzzer_args = ap.parse_known_args()
    if args.list:
        print("\n".join(sorted(TARGETS)))
        return 0
    if args.make_seeds:
        make_seeds(args.make_seeds)
        return 0
    if args.smoke is not None:
        return smoke(args.smoke, args.target)
    if not args.target:
        ap.error("--target is required (see --list)")
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: .venv/bin/pip install atheris  (or use --smoke N)", file=sys.stderr)
        return 2
    with atheris.instrument_imports():
        import jobctl.alert.thresholds  # noqa: F401 - instrumented for coverage feedback
        import jobctl.backends.resque.rawspan  # noqa: F401
        import jobctl.parse.dj_error  # noqa: F401
        import jobctl.parse.dj_handler  # noqa: F401
        import jobctl.parse.monitor  # noqa: F401
        import jobctl.parse.resque_payload  # noqa: F401
        import jobctl.parse.resque_time  # noqa: F401
        import jobctl.parse.ruby_yaml  # noqa: F401
        import jobctl.safe  # noqa: F401
    fn = TARGETS[args.target]
    atheris.Setup([sys.argv[0], *libfuzzer_args], fn)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
