"""Benchmark: what the hostile corpus costs each command, against the same command on real data.

For each command, wall time and peak RSS of the real `jobctl` subprocess (interpreter start-up
included) on the hostile corpus (tests/hostile: 43 queue entries with two 10 MB payloads and
100,000-level nesting, 27 failure records with a 10 MB error and a 100,000-frame backtrace; DJ rows
with alias bombs, 10 MB handlers …) and on the real fixtures (Resque 3.0 dump, delayed_job 4.1.9
SQLite), in the same process, same machine, best of `--repeat` runs. Ratio = hostile / real.

Usage: .venv/bin/python bench/hostile_cost.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hostile.checks import run_measured  # noqa: E402
from hostile.loaders import load_dj, load_resque  # noqa: E402
from resque_data import load_dump  # noqa: E402
from servers import FIXTURES, RedisServer  # noqa: E402

RESQUE = [("queues",), ("peek", "{q}", "-n", "100"), ("peek", "{q}", "-n", "100", "-o", "json"),
          ("failed", "-n", "0"), ("failed", "-n", "0", "-o", "json"), ("workers",), ("stats",),
          ("requeue", "--all", "--dry-run")]
DJ = [("queues",), ("peek", "{q}", "-n", "100"), ("peek", "{q}", "-n", "100", "-o", "json"), ("failed", "-n", "0"),
      ("workers",), ("stats",)]


def best(url: str, args: tuple[str, ...], repeat: int) -> tuple[float, float]:
    runs = [run_measured("-u", url, *args, timeout=300) for _ in range(repeat)]
    bad = [r for r in runs if r.returncode not in (0, 1)]
    if bad:
        raise SystemExit(bad[0].describe())
    return min(r.seconds for r in runs), max(r.max_rss_mb for r in runs)


def table(title: str, rows: list[tuple[str, float, float, float, float]]) -> None:
    print(f"\n{title}\n")
    print("| command | real s | hostile s | ratio | real MB | hostile MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for cmd, s0, s1, m0, m1 in rows:
        print(f"| `{cmd}` | {s0:.2f} | {s1:.2f} | {s1 / s0:.2f} | {m0:.0f} | {m1:.0f} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    real, hostile = RedisServer(), RedisServer()
    tmp = Path(tempfile.mkdtemp(prefix="jobctl-bench-"))
    try:
        real.start()
        hostile.start()
        load_dump(real.client())
        load_resque(hostile.client())
        rows = []
        for args in RESQUE:
            s0, m0 = best(real.url, tuple(x.format(q="low") for x in args), a.repeat)
            s1, m1 = best(hostile.url, tuple(x.format(q="hostile") for x in args), a.repeat)
            rows.append((" ".join(args).format(q="Q"), s0, s1, m0, m1))
        table("Resque (private redis-server)", rows)
        fixture = tmp / "real.sqlite3"
        shutil.copy(FIXTURES / "delayed_job" / "sqlite.sqlite3", fixture)
        (tmp / "canary").mkdir()
        hostile_url = f"sqlite:///{tmp / 'hostile.sqlite3'}"
        load_dj(hostile_url, tmp / "canary")
        rows = []
        for args in DJ:
            s0, m0 = best(f"sqlite:///{fixture}", tuple(x.format(q="toxic") for x in args), a.repeat)
            s1, m1 = best(hostile_url, tuple(x.format(q="hostile") for x in args), a.repeat)
            rows.append((" ".join(args).format(q="Q"), s0, s1, m0, m1))
        table("Delayed Job (SQLite)", rows)
        assert not list((tmp / "canary").iterdir()), "a handler ran code"
    finally:
        real.cleanup()
        hostile.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
