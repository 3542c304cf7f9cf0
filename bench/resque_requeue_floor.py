"""Bench: `jobctl requeue --all --yes` on 100,000 Resque failures vs the non-atomic floor.

The floor (bench/requeue_floor_baseline.py) is the least work that moves the same jobs at all,
with no safety: pipelined LRANGE pages, RPUSH of the payloads (decoded and re-encoded with orjson:
not even byte-exact), then one DEL of the failed list. It is what a hand-written script does, and
it loses every failure that arrives during it (the DEL) and duplicates jobs when interrupted and
rerun. It is timed in this process and as a whole process of its own (like for like with jobctl's).

jobctl runs as the real CLI process (start-up included), verifies every entry inside a Lua script,
pushes the exact stored bytes and leaves concurrent failures alone. Target: <= 1.5x the floor.
Each round starts from the same freshly loaded list on a private redis-server (no persistence).
The process runs from byte-compiled modules, as an installed jobctl does (pip compiles at
install): a private PYTHONPYCACHEPREFIX filled by one warm-up run, even where the environment
sets PYTHONDONTWRITEBYTECODE (which would recompile jobctl's sources on every run, ~60 ms).

    .venv/bin/python bench/resque_requeue_floor.py [--n 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))
from requeue_floor_baseline import floor  # noqa: E402
from servers import RedisServer  # noqa: E402

QUEUES = ("low", "default", "high", "mailers", "reports")


def records(n: int) -> list[bytes]:
    """Failure records as Resque writes them, ~300-byte payloads over several queues."""
    out = []
    for i in range(n):
        q = QUEUES[i % len(QUEUES)]
        payload = {"class": f"Report{i % 7}Job", "args": [i, f"user-{i}@example.com",
                   {"range": "2026-11-01..2026-11-27", "format": "pdf", "locale": "en", "note": "x" * 160}]}
        out.append(orjson.dumps({"failed_at": "2026/11/27 19:43:27 UTC", "payload": payload,
                                 "exception": "Net::ReadTimeout", "error": f"Net::ReadTimeout with #{i}",
                                 "backtrace": ["/app/jobs/report_job.rb:17:in `perform'"],
                                 "worker": f"web-{i % 3}:4242:{q}", "queue": q}))
    return out


def load(r, recs: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    r.flushall()
    pipe = r.pipeline(transaction=False)
    for k in range(0, len(recs), 1000):
        pipe.rpush("resque:failed", *recs[k:k + 1000])
    pipe.execute()


_PYC: list[str] = []  # the private bytecode cache, made (and warmed) on first use


def _process_env(url: str) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not _PYC:
        _PYC.append(tempfile.mkdtemp(prefix="jobctl-bench-pyc-"))
        atexit.register(shutil.rmtree, _PYC[0], True)
        env["PYTHONPYCACHEPREFIX"] = _PYC[0]
        subprocess.run([sys.executable, "-m", "jobctl", "-u", url, "requeue", "--all", "--dry-run", "-o", "json"],
                       capture_output=True, env=env, cwd=ROOT, check=True)  # compiles everything it imports
    env["PYTHONPYCACHEPREFIX"] = _PYC[0]
    return env


def floor_process(url: str) -> float:
    """The same floor as a whole process (interpreter, `import redis`, connect, work), timed like jobctl."""
    env = _process_env(url)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "bench" / "requeue_floor_baseline.py"), url], env=env, cwd=ROOT,
                   check=True)
    return time.perf_counter() - t0


def jobctl(url: str) -> float:
    env = _process_env(url)
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "jobctl", "-u", url, "requeue", "--all", "--yes", "-o", "json"],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"jobctl failed: {p.stderr}")
    return dt


def jobctl_in_process(url: str) -> float:
    from jobctl.backends.resque import write
    from jobctl.backends.resque.backend import ResqueBackend
    from jobctl.model import FailureFilter
    from jobctl.targets import Target

    b = ResqueBackend(Target(url=url))
    b.redis.ping()
    t0 = time.perf_counter()
    res = write.requeue(b, FailureFilter())
    dt = time.perf_counter() - t0
    b.close()
    assert res.skipped == 0
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    srv = RedisServer(extra_args=["--slowlog-log-slower-than", "0", "--slowlog-max-len", "100000"])
    srv.start()
    try:
        r = srv.client()
        recs = records(a.n)
        size = sum(len(orjson.dumps(orjson.loads(x)["payload"])) for x in recs[:1000]) / 1000
        print(f"{a.n} failures, {size:.0f}-byte payloads, {len(QUEUES)} queues; {a.rounds} rounds, best of each")
        f_times, fp_times, j_times, i_times, script_us = [], [], [], [], []
        for _ in range(a.rounds):
            load(r, recs)
            f_times.append(floor(r))
            assert r.llen("resque:failed") == 0
            load(r, recs)
            fp_times.append(floor_process(srv.url))
            assert r.llen("resque:failed") == 0
            load(r, recs)
            r.slowlog_reset()
            j_times.append(jobctl(srv.url))
            assert r.llen("resque:failed") == 0 and sum(r.llen(f"resque:queue:{q}") for q in QUEUES) == a.n
            script_us += [e["duration"] for e in r.slowlog_get(100_000) if e["command"].startswith(b"EVALSHA")]
            load(r, recs)
            i_times.append(jobctl_in_process(srv.url))
        fb, fpb, jb, ib = min(f_times), min(fp_times), min(j_times), min(i_times)
        print(f"floor (pipelined LRANGE + RPUSH + DEL, not atomic): {fb:6.2f} s  ({a.n / fb:,.0f} jobs/s)")
        print(f"the same floor as a whole Python process:           {fpb:6.2f} s  ({a.n / fpb:,.0f} jobs/s)")
        print(f"jobctl requeue --all --yes (whole process):         {jb:6.2f} s  ({a.n / jb:,.0f} jobs/s)")
        print(f"jobctl write.requeue (in-process, no start-up):     {ib:6.2f} s  ({a.n / ib:,.0f} jobs/s)")
        print(f"ratio jobctl / floor (target <= 1.5x): process vs process {jb / fpb:.2f}x, in-process vs "
              f"in-process {ib / fb:.2f}x, jobctl's process vs the in-process floor {jb / fb:.2f}x")
        if script_us:
            script_us.sort()
            print(f"script calls: {len(script_us) // a.rounds} per run; server time per call: median "
                  f"{statistics.median(script_us) / 1000:.2f} ms, p99 {script_us[int(len(script_us) * 0.99)] / 1000:.2f} ms, "
                  f"max {script_us[-1] / 1000:.2f} ms")
    finally:
        srv.cleanup()


if __name__ == "__main__":
    main()
