"""`jobctl requeue` / `discard` / `unlock` as a user runs them (subprocess; a pty for the prompt)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import orjson
from resque_data import load_dump

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def run_in_pty(args: list[str], answer: str, timeout: float = 60) -> tuple[int, str]:
    """Run jobctl with a terminal on stdin/stdout/stderr; answer the first prompt with `answer`."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "jobctl", *args], stdin=slave, stdout=slave, stderr=slave,
                            env=ENV, close_fds=True)
    os.close(slave)
    out = b""
    answered = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if not answered and b"[y/N]" in out:
                os.write(master, answer.encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    proc.wait(10)
    os.close(master)
    return proc.returncode, out.decode("utf-8", "replace")


def test_requeue_refuses_without_filter_terminal_or_write_access(redis_url: str, redis_client, jobctl) -> None:  # type: ignore[no-untyped-def]
    load_dump(redis_client)
    before = redis_client.lrange("resque:failed", 0, -1)
    p = jobctl("-u", redis_url, "requeue")
    assert p.returncode == 2 and "--all" in p.stderr
    p = jobctl("-u", redis_url, "requeue", "--all", input="y\n")  # stdin is a pipe, not a terminal
    assert p.returncode == 2 and "stdin is not a terminal" in p.stderr and "--yes" in p.stderr
    p = jobctl("--read-only", "-u", redis_url, "discard", "--all", "--yes")
    assert p.returncode == 2 and "read-only" in p.stderr
    p = jobctl("-u", redis_url, "requeue", "--all", "--yes", env={"JOBCTL_READ_ONLY": "1"})
    assert p.returncode == 2 and "read-only" in p.stderr
    p = jobctl("--read-only", "-u", redis_url, "requeue", "--class", "CreditCardValidator", "--dry-run")
    assert p.returncode == 0 and "would requeue 4 failures" in p.stdout and "CreditCardValidator" in p.stdout
    assert redis_client.lrange("resque:failed", 0, -1) == before


def test_requeue_yes_json_result(redis_url: str, redis_client, jobctl) -> None:  # type: ignore[no-untyped-def]
    load_dump(redis_client)
    p = jobctl("-u", redis_url, "requeue", "--exception", "CreditCardValidator::InvalidCard", "--yes", "-o", "json")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert res["action"] == "requeue" and res["selected"] == res["done"] == 4 and res["skipped"] == 0
    assert res["by_queue"] == {"high": 4} and res["by_class"] == {"CreditCardValidator": 4}
    assert len(res["sample"]) == 4 and all(s["exception"] == "CreditCardValidator::InvalidCard" for s in res["sample"])
    assert redis_client.llen("resque:failed") == 27


def test_skipped_entries_give_exit_1_with_reasons(redis_url: str, redis_client, jobctl) -> None:  # type: ignore[no-untyped-def]
    ok = b'{"failed_at":"2026/11/27 19:43:27 UTC","payload":{"class":"J","args":[1]},"exception":"E","error":"x","backtrace":[],"worker":"w","queue":"q"}'
    no_q = ok.replace(b',"queue":"q"', b"")
    redis_client.rpush("resque:failed", ok, no_q)
    p = jobctl("-u", redis_url, "requeue", "--all", "--yes")
    assert p.returncode == 1
    assert "requeued 1 of 2 selected failures (1 skipped)" in p.stdout and "no queue in the failure record" in p.stdout
    p = jobctl("-u", redis_url, "requeue", "--all", "--yes", "--to-queue", "fixed", "-o", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["done"] == 1
    assert redis_client.lrange("resque:queue:fixed", 0, -1) == [b'{"class":"J","args":[1]}']


def test_interactive_confirmation_shows_count_breakdown_and_sample(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    load_dump(redis_client)
    before = redis_client.lrange("resque:failed", 0, -1)
    code, out = run_in_pty(["-u", redis_url, "requeue", "--queue", "toxic"], "n")
    assert code == 1 and "aborted; nothing was changed" in out
    assert "about to requeue 11 failures" in out
    assert "QUEUE" in out and "toxic" in out and "CLASS" in out and "ToxicPayloadJob" in out
    assert "sample (5 of 11)" in out
    assert redis_client.lrange("resque:failed", 0, -1) == before
    code, out = run_in_pty(["-u", redis_url, "requeue", "--queue", "toxic"], "y")
    assert code == 0, out
    assert "requeued 11 of 11 selected failures" in out
    assert redis_client.llen("resque:failed") == len(before) - 11


def test_discard_on_delayed_job_and_unlock(dj_fixture_sqlite: str, jobctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = jobctl("-u", dj_fixture_sqlite, "discard", "--class", "ToxicJob", "--dry-run", "-o", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["selected"] == 6
    p = jobctl("-u", dj_fixture_sqlite, "discard", "--class", "ToxicJob", "--yes")
    assert p.returncode == 0 and "discarded 6 of 6 selected failed jobs" in p.stdout
    p = jobctl("-u", dj_fixture_sqlite, "unlock")
    assert p.returncode == 2 and "--stuck" in p.stderr
    p = jobctl("-u", dj_fixture_sqlite, "unlock", "--stuck", "--older-than", "1s", "--dry-run", "-o", "json")
    assert p.returncode == 0
    res = json.loads(p.stdout)
    assert res["selected"] == 1 and res["sample"][0]["id"] == "38" and res["sample"][0]["locked_by"]
    p = jobctl("-u", dj_fixture_sqlite, "unlock", "--stuck", "--older-than", "1s", "--yes")
    assert p.returncode == 0 and "unlocked 1 of 1 selected stuck jobs" in p.stdout
    p = jobctl("-u", dj_fixture_sqlite, "unlock", "--stuck", "--older-than", "1s", "--yes", "-o", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["selected"] == 0


def test_unlock_is_refused_on_resque(redis_url: str, jobctl) -> None:  # type: ignore[no-untyped-def]
    p = jobctl("-u", redis_url, "unlock", "--stuck", "--yes")
    assert p.returncode == 2 and "Delayed Job" in p.stderr


def test_help_has_examples(jobctl) -> None:  # type: ignore[no-untyped-def]
    for cmd in ("requeue", "discard", "unlock"):
        p = jobctl(cmd, "--help")
        assert p.returncode == 0 and "Examples:" in p.stdout and "$ jobctl" in p.stdout


def test_untrusted_text_in_the_preview_is_made_visible(redis_url: str, redis_client, jobctl) -> None:  # type: ignore[no-untyped-def]
    evil = "\x1b]0;pwned\x07\x1b[2J"
    rec = orjson.dumps({"failed_at": "2026/11/27 19:43:27 UTC", "payload": {"class": "Evil" + evil, "args": []},
                        "exception": "E" + evil, "error": "boom" + evil, "backtrace": [], "worker": "w",
                        "queue": "q" + evil})
    redis_client.rpush("resque:failed", rec)
    p = jobctl("-u", redis_url, "requeue", "--all", "--dry-run")
    assert p.returncode == 0 and "\x1b" not in p.stdout and "\\x1b" in p.stdout
