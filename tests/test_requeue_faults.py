"""Requeue under fire (slow): concurrent appenders and workers, kill -9, a Redis restart, and a
killed Delayed Job run. Each checks the invariant from the issue: every selected job is either
still failed or requeued exactly once (after a rerun: requeued exactly once), every other and
every new failure is still in the failed list, nothing else changed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from servers import RedisServer

NS = "resque"
QUEUES = ("q0", "q1", "q2", "q3")
ENV = {**os.environ, "NO_COLOR": "1"}

pytestmark = pytest.mark.slow


def payload(i: int, cls: str) -> bytes:
    return b'{"class":"%s","args":[%d,"%s"]}' % (cls.encode(), i, b"x" * 200)


def record(i: int, cls: str, queue: str) -> bytes:
    return (b'{"failed_at":"2026/11/27 19:43:27 UTC","payload":' + payload(i, cls)
            + b',"exception":"RuntimeError","error":"boom %d","backtrace":["j.rb:1"],"worker":"vm:1:%s","queue":"%s"}'
            % (i, queue.encode(), queue.encode()))


def seed(r: Any, n: int) -> tuple[list[bytes], list[bytes]]:
    """n failures; even i is class Sel (selected by --class Sel), odd i is Other. Returns (all, selected payloads)."""
    recs = [record(i, "Sel" if i % 2 == 0 else "Other", QUEUES[(i // 2) % 4]) for i in range(n)]
    for k in range(0, n, 1000):
        r.rpush(f"{NS}:failed", *recs[k:k + 1000])
    return recs, [payload(i, "Sel") for i in range(0, n, 2)]


def start_jobctl(url: str, *args: str) -> subprocess.Popen[str]:
    # These tests are about exactly-once under faults, not about stalls: the stall guard (timed by
    # the server's own clock, which a busy CI machine slows) must not skip batches here
    # (tests/test_requeue_stall.py covers it).
    return subprocess.Popen([sys.executable, "-m", "jobctl", "-u", url, "requeue", *args, "--max-stall-ms", "60000",
                             "--yes", "-o", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def wait_for(cond: Any, timeout: float = 60.0, step: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(step)


def queue_contents(r: Any) -> list[bytes]:
    out: list[bytes] = []
    for q in QUEUES:
        out += r.lrange(f"{NS}:queue:{q}", 0, -1)
    return out


def assert_each_selected_exactly_once(r: Any, recs: list[bytes], selected: list[bytes], popped: list[bytes],
                                      *, finished: bool) -> None:
    """Every selected job: in a queue (or popped by a worker) xor still failed; never twice."""
    in_queues = Counter(queue_contents(r) + popped)
    failed = r.lrange(f"{NS}:failed", 0, -1)
    still = Counter(failed)
    for i, p in enumerate(selected):
        rec = recs[2 * i]
        assert in_queues[p] + still[rec] == 1, (i, in_queues[p], still[rec])
        if finished:
            assert in_queues[p] == 1
    assert all(in_queues[p] == 1 for p in in_queues if b'"Sel"' in p)


# ---------------------------------------------------------------------------- concurrency


class Churn:
    """What else goes on during a run: Resque workers LPOPing the queues, and failing workers
    RPUSHing new failures (records of class `klass`, one every `pause` seconds)."""

    def __init__(self, r: Any, klass: str, *, pause: float) -> None:
        self.r, self.klass, self.pause = r, klass, pause
        self.stop = threading.Event()
        self.popped: list[bytes] = []
        self.appended: list[bytes] = []
        self.threads: list[threading.Thread] = []

    def _client(self) -> Any:
        r = self.r
        return r.__class__(connection_pool=r.connection_pool.__class__(**r.connection_pool.connection_kwargs))

    def _worker(self) -> None:
        c = self._client()
        while not self.stop.is_set():
            for q in QUEUES:
                v = c.lpop(f"{NS}:queue:{q}")
                if v is not None:
                    self.popped.append(v)
        c.close()

    def _appender(self) -> None:
        c = self._client()
        i = 1_000_000
        while not self.stop.is_set():
            rec = record(i, self.klass, QUEUES[i % 4])
            c.rpush(f"{NS}:failed", rec)
            self.appended.append(rec)
            i += 1
            time.sleep(self.pause)
        c.close()

    def _start(self, target: Any) -> None:
        t = threading.Thread(target=target)
        t.start()
        self.threads.append(t)

    def start_workers(self, n: int) -> None:
        for _ in range(n):
            self._start(self._worker)

    def start_appender(self) -> None:
        self._start(self._appender)

    def finish(self) -> tuple[list[bytes], list[bytes]]:
        """Stop everything; (popped jobs, appended failures)."""
        self.stop.set()
        for t in self.threads:
            t.join()
        return self.popped, self.appended


def test_concurrent_appends_and_workers_during_a_20k_requeue(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    recs, selected = seed(r, 20_000)
    churn = Churn(r, "Sel", pause=0.001)  # new failures match the filter too: they must stay
    proc = start_jobctl(redis_url, "--class", "Sel")
    churn.start_workers(2)
    wait_for(lambda: r.llen(f"{NS}:failed") < 20_000 or proc.poll() is not None)  # snapshot taken, first batch done
    churn.start_appender()
    out, errs = proc.communicate(timeout=180)
    time.sleep(0.2)
    popped, appended = churn.finish()
    assert proc.returncode == 0, errs
    res = json.loads(out)
    assert res["selected"] == res["done"] == 10_000 and res["skipped"] == 0
    assert appended, "the appender should have run during the requeue"
    assert_each_selected_exactly_once(r, recs, selected, popped, finished=True)
    # the failed list is exactly: the non-selected originals, in order, then every new failure
    assert r.lrange(f"{NS}:failed", 0, -1) == [x for i, x in enumerate(recs) if i % 2] + appended
    assert {k.decode() for k in r.keys("*")} <= {f"{NS}:failed", f"{NS}:queues", *(f"{NS}:queue:{q}" for q in QUEUES)}
    assert {m.decode() for m in r.smembers(f"{NS}:queues")} == set(QUEUES)


# ---------------------------------------------------------------------------- kill -9 and rerun


def test_kill_9_mid_run_then_rerun_finishes_exactly_once(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    recs, selected = seed(r, 30_000)
    proc = start_jobctl(redis_url, "--class", "Sel")
    wait_for(lambda: r.llen(f"{NS}:failed") < 25_000 or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "jobctl finished before it could be killed; make the run longer"
    left = r.llen(f"{NS}:failed")
    assert 15_000 < left < 30_000  # killed mid-run
    assert_each_selected_exactly_once(r, recs, selected, [], finished=False)
    rerun = start_jobctl(redis_url, "--class", "Sel")
    out, errs = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, errs
    assert json.loads(out)["done"] == left - 15_000
    assert_each_selected_exactly_once(r, recs, selected, [], finished=True)
    assert r.lrange(f"{NS}:failed", 0, -1) == [x for i, x in enumerate(recs) if i % 2]


def test_redis_restart_mid_run_then_rerun(tmp_path: Path) -> None:
    srv = RedisServer(extra_args=["--appendonly", "yes", "--appendfsync", "always"])
    srv.start()
    try:
        r = srv.client()
        recs, selected = seed(r, 30_000)
        proc = start_jobctl(srv.url, "--class", "Sel")
        wait_for(lambda: r.llen(f"{NS}:failed") < 27_000 or proc.poll() is not None)
        srv.stop()  # SIGTERM: Redis flushes its AOF and exits; jobctl loses its connection
        time.sleep(1.0)
        srv.start()
        r = srv.client()
        out, errs = proc.communicate(timeout=180)
        assert proc.returncode in (0, 3), errs  # it waits for Redis to come back (or gives up: exit 3)
        assert_each_selected_exactly_once(r, recs, selected, [], finished=proc.returncode == 0)
        rerun = start_jobctl(srv.url, "--class", "Sel")
        out, errs = rerun.communicate(timeout=180)
        assert rerun.returncode == 0, errs
        assert_each_selected_exactly_once(r, recs, selected, [], finished=True)
        assert r.lrange(f"{NS}:failed", 0, -1) == [x for i, x in enumerate(recs) if i % 2]
        assert json.loads(out)["selected"] == json.loads(out)["done"]
    finally:
        srv.cleanup()


# ---------------------------------------------------------------------------- the same for --all
# `requeue --all` takes the whole-window path: the next window is read and its batch prepared while
# Redis runs the current script (walk.py); these check that path under the same faults.


def seed_all(r: Any, n: int) -> list[tuple[bytes, bytes]]:
    """n failures over the four queues, all selected by --all: [(record, payload)]."""
    pairs = [(record(i, f"Job{i % 3}", QUEUES[i % 4]), payload(i, f"Job{i % 3}")) for i in range(n)]
    for k in range(0, n, 1000):
        r.rpush(f"{NS}:failed", *[rec for rec, _ in pairs[k:k + 1000]])
    return pairs


def assert_all_exactly_once(r: Any, pairs: list[tuple[bytes, bytes]], popped: list[bytes], *, finished: bool) -> None:
    in_queues = Counter(queue_contents(r) + popped)
    still = Counter(r.lrange(f"{NS}:failed", 0, -1))
    for i, (rec, p) in enumerate(pairs):
        assert in_queues[p] + still[rec] == 1, (i, in_queues[p], still[rec])
        if finished:
            assert in_queues[p] == 1
    assert sum(in_queues.values()) == sum(in_queues[p] for _, p in pairs)  # nothing else was pushed


def test_all_with_concurrent_appends_and_workers(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    pairs = seed_all(r, 60_000)
    churn = Churn(r, "Late", pause=0.0005)  # new failures during the run: never touched (after the snapshot)
    proc = start_jobctl(redis_url, "--all")
    churn.start_workers(1)
    wait_for(lambda: r.llen(f"{NS}:failed") < 60_000 or proc.poll() is not None)
    churn.start_appender()
    out, errs = proc.communicate(timeout=180)
    time.sleep(0.1)
    popped, appended = churn.finish()
    assert proc.returncode == 0, errs
    res = json.loads(out)
    assert res["selected"] == res["done"] == 60_000 and res["skipped"] == 0
    assert appended, "the appender should have run during the requeue"
    assert_all_exactly_once(r, pairs, popped, finished=True)
    assert r.lrange(f"{NS}:failed", 0, -1) == appended


def test_all_kill_9_mid_run_then_rerun(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    pairs = seed_all(r, 100_000)
    proc = start_jobctl(redis_url, "--all")
    wait_for(lambda: r.llen(f"{NS}:failed") < 90_000 or proc.poll() is not None, step=0.0005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "jobctl finished before it could be killed; make the run longer"
    left = r.llen(f"{NS}:failed")
    assert 0 < left < 100_000
    assert_all_exactly_once(r, pairs, [], finished=False)
    rerun = start_jobctl(redis_url, "--all")
    out, errs = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, errs
    assert json.loads(out)["done"] == left
    assert_all_exactly_once(r, pairs, [], finished=True)
    assert not r.exists(f"{NS}:failed")


def test_all_redis_restart_mid_run_then_rerun(tmp_path: Path) -> None:
    srv = RedisServer(extra_args=["--appendonly", "yes", "--appendfsync", "always"])
    srv.start()
    try:
        r = srv.client()
        pairs = seed_all(r, 60_000)
        proc = start_jobctl(srv.url, "--all")
        wait_for(lambda: r.llen(f"{NS}:failed") < 58_000 or proc.poll() is not None, step=0.0005)
        assert proc.poll() is None, "jobctl finished before Redis stopped; make the run longer"
        srv.stop()
        time.sleep(1.0)
        srv.start()
        r = srv.client()
        out, errs = proc.communicate(timeout=180)
        assert proc.returncode in (0, 3), errs
        assert_all_exactly_once(r, pairs, [], finished=proc.returncode == 0)
        rerun = start_jobctl(srv.url, "--all")
        out, errs = rerun.communicate(timeout=180)
        assert rerun.returncode == 0, errs
        assert_all_exactly_once(r, pairs, [], finished=True)
        assert not r.exists(f"{NS}:failed")
    finally:
        srv.cleanup()


# ---------------------------------------------------------------------------- Delayed Job: no half batch


def test_killed_delayed_job_run_never_leaves_a_half_applied_batch(pg_url: str) -> None:
    from dj_data import load_fixture
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from jobctl.backends.delayed_job.write import BATCH

    load_fixture(pg_url, rows=[])
    eng = create_engine(pg_url, poolclass=NullPool)
    n = 20 * BATCH
    with eng.begin() as c:
        c.execute(text(
            "INSERT INTO delayed_jobs (priority, attempts, handler, last_error, run_at, locked_at, failed_at, "
            "locked_by, queue, created_at, updated_at) SELECT 0, 25, '--- !ruby/struct:ToxicJob\npayload_id: ' || g "
            "|| E'\\n', 'boom ' || g, now(), now(), now() - interval '1 hour', 'host:vm pid:1', 'toxic', now(), now() "
            "FROM generate_series(1, :n) g"), {"n": n})
    url = pg_url
    proc = subprocess.Popen([sys.executable, "-m", "jobctl", "-u", url, "requeue", "--all", "--yes"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)

    def requeued() -> int:
        with eng.connect() as c:
            return int(c.execute(text("SELECT count(*) FROM delayed_jobs WHERE failed_at IS NULL")).scalar() or 0)

    wait_for(lambda: requeued() >= 3 * BATCH or proc.poll() is not None, step=0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    with eng.connect() as c:
        rows = c.execute(text("SELECT id, failed_at, attempts, locked_at, locked_by, last_error FROM delayed_jobs "
                              "ORDER BY id")).fetchall()
    done = [row for row in rows if row.failed_at is None]
    assert len(done) % BATCH == 0 and 0 < len(done) < n  # whole batches only
    assert [row.id for row in done] == [row.id for row in rows[:len(done)]]  # keyset order: lowest ids first
    for row in rows:
        if row.failed_at is None:
            assert (row.attempts, row.locked_at, row.locked_by) == (0, None, None)
        else:
            assert (row.attempts, row.locked_by) == (25, "host:vm pid:1")
        assert row.last_error.startswith("boom ")
    rerun = subprocess.run([sys.executable, "-m", "jobctl", "-u", url, "requeue", "--all", "--yes", "-o", "json"],
                           capture_output=True, text=True, env=ENV, timeout=180)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["done"] == n - len(done)
    assert requeued() == n
    eng.dispose()
