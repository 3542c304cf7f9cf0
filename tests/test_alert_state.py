"""Alert state: transitions, re-notify interval, RESOLVED, dry run, file lock, atomic writes.

The CLI sequence runs the real `jobctl alert` against the real Resque fixture in a private Redis,
with the clock pinned by JOBCTL_NOW and a `command` notifier that appends each alert it receives.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from resque_data import load_dump

from jobctl.alert.state import (
    ESCALATED,
    PROBLEM,
    REMINDER,
    RESOLVED,
    StateError,
    StateStore,
    decide,
    not_sent,
)
from jobctl.alert.thresholds import State

T0 = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_decide_full_cycle() -> None:
    kind, s = decide(None, State.OK, T0, HOUR)
    assert kind is None and s.notified_state is None
    kind, s = decide(s, State.WARNING, T0 + timedelta(minutes=5), HOUR)
    assert kind == PROBLEM and s.notified_state == "WARNING" and s.since == "2026-11-27T20:05:00Z"
    kind, s = decide(s, State.CRITICAL, T0 + timedelta(minutes=10), HOUR)
    assert kind == ESCALATED and s.notified_state == "CRITICAL"
    kind, s = decide(s, State.CRITICAL, T0 + timedelta(minutes=30), HOUR)
    assert kind is None and s.since == "2026-11-27T20:10:00Z"
    kind, s = decide(s, State.WARNING, T0 + timedelta(minutes=40), HOUR)
    assert kind is None and s.notified_state == "CRITICAL"  # de-escalation is not sent
    kind, s = decide(s, State.WARNING, T0 + timedelta(minutes=70), HOUR)
    assert kind == REMINDER and s.last_notified_at == "2026-11-27T21:10:00Z"
    kind, s = decide(s, State.WARNING, T0 + timedelta(minutes=100), HOUR)
    assert kind is None
    kind, s = decide(s, State.OK, T0 + timedelta(minutes=110), HOUR)
    assert kind == RESOLVED and s.notified_state is None
    kind, s = decide(s, State.OK, T0 + timedelta(minutes=120), HOUR)
    assert kind is None


def test_no_renotify_without_interval_and_unknown_is_a_problem() -> None:
    kind, s = decide(None, State.UNKNOWN, T0, None)
    assert kind == PROBLEM
    kind, s = decide(s, State.UNKNOWN, T0 + timedelta(days=3), None)
    assert kind is None
    kind, s = decide(s, State.CRITICAL, T0 + timedelta(days=3), None)
    assert kind == ESCALATED


def test_failed_delivery_is_retried_next_run() -> None:
    kind, new = decide(None, State.CRITICAL, T0, None)
    assert kind == PROBLEM
    kept = not_sent(None, new)
    assert kept.state == "CRITICAL" and kept.notified_state is None
    kind, _ = decide(kept, State.CRITICAL, T0 + timedelta(minutes=1), None)
    assert kind == PROBLEM


def test_store_round_trip_atomic_and_tolerant(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "sub" / "alert-state.json")
    assert store.load() == {}
    _, s = decide(None, State.CRITICAL, T0, None, 12.0)
    store.save({"t/toxic": s})
    data = json.loads(store.path.read_text())
    assert data["version"] == 1 and data["rules"]["t/toxic"]["value"] == 12.0
    assert store.load()["t/toxic"] == s
    assert [p.name for p in store.path.parent.iterdir()] == ["alert-state.json"]  # no temp files left
    store.path.write_text("{not json")
    assert store.load() == {}
    assert "unreadable" in store.warnings[0]


def test_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "alert-state.json")
    other = StateStore(tmp_path / "alert-state.json")
    with store.locked(1.0):
        t0 = time.monotonic()
        with pytest.raises(StateError, match="locked by another jobctl alert run"):
            with other.locked(0.3):
                pass
        assert time.monotonic() - t0 >= 0.25
    got = threading.Event()
    with store.locked(1.0):
        def later() -> None:
            with other.locked(5.0):
                got.set()
        th = threading.Thread(target=later)
        th.start()
        time.sleep(0.3)
        assert not got.is_set()
    th.join(5)
    assert got.is_set()


# ----------------------------------------------------------------------------- the CLI, end to end

RECORDER = """\
import json, sys, time
data = json.load(sys.stdin)
time.sleep(float(sys.argv[2]))
with open(sys.argv[1], "a", encoding="utf-8") as fh:
    fh.write(json.dumps(data) + "\\n")
"""


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[Path, Path]:
    script = tmp_path / "record.py"
    script.write_text(RECORDER)
    return script, tmp_path / "received.jsonl"


def _received(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cli_transition_sequence(isolated_env: Path, redis_url: str, redis_client, recorder, jobctl) -> None:  # type: ignore[no-untyped-def]
    load_dump(redis_client)
    script, out = recorder
    state = isolated_env / "state" / "jobctl" / "alert-state.json"

    def run(at: datetime, *thr: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        return jobctl("-u", redis_url, "alert", "--queue", "toxic", "--window", "2h", *thr,
                      "--renotify", "1h", "--notify-command", f"{sys.executable} {script} {out} 0", *extra,
                      env={"JOBCTL_NOW": at.isoformat()})

    r = run(T0, "-w", "1", "-c", "20")
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith("JOBCTL WARNING - toxic: 11 failed in 2h (warn >1) | failed=11;1;20;0;")
    got = _received(out)
    assert [g["kind"] for g in got] == [PROBLEM]
    assert got[0]["status"] == "WARNING" and got[0]["value"] == 11 and got[0]["rule"] == "toxic"
    assert len(got[0]["samples"]) == 5 and got[0]["samples"][0]["queue"] == "toxic"

    r = run(T0 + timedelta(minutes=10), "-w", "1", "-c", "5")
    assert r.returncode == 2
    assert [g["kind"] for g in _received(out)] == [PROBLEM, ESCALATED]

    r = run(T0 + timedelta(minutes=30), "-c", "5")
    assert r.returncode == 2
    assert len(_received(out)) == 2  # inside the renotify interval: nothing

    before = state.read_bytes()
    r = run(T0 + timedelta(minutes=75), "-c", "5", extra=("--dry-run",))
    assert r.returncode == 2
    assert "dry run: would send REMINDER for toxic to command" in r.stdout
    assert f"  command: run {sys.executable} {script} {out} 0 with the alert JSON on stdin" in r.stdout
    assert len(_received(out)) == 2 and state.read_bytes() == before  # nothing sent, state untouched

    r = run(T0 + timedelta(minutes=75), "-c", "5")
    assert [g["kind"] for g in _received(out)] == [PROBLEM, ESCALATED, REMINDER]
    assert "sent REMINDER for toxic to command" in r.stdout

    r = run(T0 + timedelta(hours=2, minutes=30), "-c", "5")  # the 2h window has moved past the failures
    assert r.returncode == 0
    assert r.stdout.startswith("JOBCTL OK - toxic: 0 failed in 2h | failed=0;;5;0;")
    got = _received(out)
    assert [g["kind"] for g in got] == [PROBLEM, ESCALATED, REMINDER, RESOLVED]
    assert got[-1]["status"] == "RESOLVED" and got[-1]["previous_state"] == "CRITICAL"

    r = run(T0 + timedelta(hours=2, minutes=40), "-c", "5", extra=("--quiet",))
    assert r.returncode == 0 and r.stdout == ""  # --quiet: silent on OK
    assert len(_received(out)) == 4
    saved = json.loads(state.read_text())["rules"]
    assert saved[f"{redis_url}/toxic"]["state"] == "OK"


def test_overlapping_runs_send_once(isolated_env: Path, redis_url: str, redis_client, recorder) -> None:  # type: ignore[no-untyped-def]
    import os

    load_dump(redis_client)
    script, out = recorder
    env = {**os.environ, "JOBCTL_NOW": T0.isoformat(), "NO_COLOR": "1"}
    cmd = [sys.executable, "-m", "jobctl", "-u", redis_url, "alert", "--queue", "toxic", "-c", "1",
           "--timeout", "20", "--notify-command", f"{sys.executable} {script} {out} 1.5"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [2, 2], results
    got = _received(out)
    assert len(got) == 1, got
    assert got[0]["kind"] == PROBLEM
    assert sum("sent PROBLEM" in stdout for stdout, _ in results) == 1
