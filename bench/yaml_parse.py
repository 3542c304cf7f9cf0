"""Benchmark: Delayed Job handlers parsed per second, against plain PyYAML on the same texts.

Corpus: every handler of the shared fixture (delayed_job 4.1.9, 34 rows) + the demo database's
handlers (~220, Psych-exact) — real shapes: PerformableMethod with records, mailers, ActiveJob.

Measured, in one process, on the same texts:
  parse_handler           jobctl's full path: safe Ruby-YAML load + limits + name/args/kind
  load_ruby_yaml          the loader alone (CSafeLoader + Ruby tag constructors + graph budget)
  yaml.safe_load          the stdlib-style baseline (pure-Python SafeLoader). Real handlers make it
                          raise on their `!ruby/...` tags, so it gets the texts with tags stripped
  CSafeLoader (stripped)  libyaml-backed safe load of the same stripped texts
Ratios are printed against yaml.safe_load.

Usage: .venv/bin/python bench/yaml_parse.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobctl.demo.mix import build_rows  # noqa: E402
from jobctl.parse.dj_handler import parse_handler  # noqa: E402
from jobctl.parse.ruby_yaml import load_ruby_yaml  # noqa: E402
from jobctl.timeutil import utcnow  # noqa: E402

FIXTURE = ROOT.parent / "shared" / "fixtures" / "delayed_job" / "delayed_jobs.sqlite.json"
_TAG = re.compile(r"!ruby/[A-Za-z-]+(?::\S+)?(?: '[^']*')?|!binary")


def corpus() -> list[str]:
    texts = [r["handler"] for r in json.loads(FIXTURE.read_text())] if FIXTURE.exists() else []
    texts += [r.handler for r in build_rows(utcnow())]
    return texts


def strip_tags(text: str) -> str:
    """The same document without Ruby tags (what plain YAML loaders can read)."""
    return _TAG.sub("", text)


def rate(fn: Callable[[str], object], texts: list[str], seconds: float) -> tuple[float, int]:
    """Handlers per second over repeated passes for about `seconds` (one warm-up pass first)."""
    for t in texts:
        fn(t)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            fn(t)
        n += len(texts)
    return n / (time.perf_counter() - start), n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="time per measured variant")
    args = ap.parse_args()
    texts = corpus()
    stripped = [strip_tags(t) for t in texts]
    for s in stripped:
        yaml.safe_load(s)  # the baseline must really parse its input
    size = sum(len(t.encode()) for t in texts)
    print(f"corpus: {len(texts)} handlers, {size / len(texts):.0f} bytes on average; {args.seconds:.0f} s per variant")
    variants: list[tuple[str, Callable[[str], object], list[str]]] = [
        ("yaml.safe_load (tags stripped)", yaml.safe_load, stripped),
        ("CSafeLoader (tags stripped)", lambda s: yaml.load(s, Loader=yaml.CSafeLoader), stripped),  # noqa: S506 - safe loader
        ("load_ruby_yaml", load_ruby_yaml, texts),
        ("parse_handler", parse_handler, texts),
    ]
    base = None
    for label, fn, data in variants:
        per_s, n = rate(fn, data, args.seconds)
        base = base or per_s
        print(f"{label:32s} {per_s:10.0f} handlers/s  ({n} parsed)  x{per_s / base:.2f} vs yaml.safe_load")


if __name__ == "__main__":
    main()
