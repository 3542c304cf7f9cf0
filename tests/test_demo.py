"""`jobctl demo`: the command end to end, the database's exact Delayed Job format, and proof by the
real Ruby Delayed Job (tests/ruby/dj_names.rb) that it loads every demo handler and names it as jobctl does.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_ruby_interop import run_ruby

from jobctl.demo.mix import build_rows
from jobctl.demo.rows import DELETED_USER_IDS
from jobctl.demo.seed import ensure_demo
from jobctl.parse.dj_error import parse_last_error
from jobctl.parse.dj_handler import parse_handler

SQLITE_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$")
PEEK_ROW = re.compile(r"^\s{0,3}(\d{1,2})\s{2}\S")


def _digest(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT * FROM delayed_jobs ORDER BY id").fetchall()
    finally:
        conn.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _peek_positions(stdout: str) -> list[int]:
    section = stdout.split("$ jobctl peek low --limit 50", 1)[1].split("Next, try:", 1)[0]
    return [int(m.group(1)) for line in section.splitlines() if (m := PEEK_ROW.match(line))]


def test_demo_prints_50_parsed_rows_and_next_commands(jobctl, isolated_env: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "demo.sqlite3"
    r = jobctl("demo", "--path", str(db))
    assert r.returncode == 0, r.stderr
    assert "created, " in r.stdout and "POS  CLASS" in r.stdout
    assert _peek_positions(r.stdout) == list(range(50))
    assert "BAD" not in r.stdout and "PROBLEM" not in r.stdout
    assert f"jobctl -u sqlite:///{db} failed --group-by exception" in r.stdout
    j = jobctl("-u", f"sqlite:///{db}", "peek", "low", "--limit", "50", "-o", "json")
    import json

    jobs = json.loads(j.stdout)
    assert len(jobs) == 50 and all(x["parse_error"] is None and x["name"] for x in jobs)
    assert {x["queue"] for x in jobs} == {"low"}


def test_demo_is_idempotent_and_reset_recreates(jobctl, isolated_env: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "d.sqlite3"
    assert jobctl("demo", "--path", str(db), "--no-peek").returncode == 0
    first = _digest(db)
    again = jobctl("demo", "--path", str(db), "--no-peek")
    assert again.returncode == 0 and "using existing" in again.stdout
    assert _digest(db) == first
    reset = jobctl("demo", "--path", str(db), "--no-peek", "--reset")
    assert reset.returncode == 0 and "created" in reset.stdout
    assert _digest(db) != first  # times are re-based on the new `now`


def test_demo_default_path_and_foreign_file(jobctl, isolated_env: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = jobctl("demo", "--no-peek")
    assert r.returncode == 0, r.stderr
    assert (isolated_env / "data" / "jobctl" / "demo.sqlite3").exists()
    other = tmp_path / "notes.txt"
    other.write_text("not a database")
    bad = jobctl("demo", "--path", str(other), "--no-peek")
    assert bad.returncode == 2 and "not a jobctl demo database" in bad.stderr
    assert other.read_text() == "not a database"
    assert jobctl("demo", "--path", str(other), "--no-peek", "--reset").returncode == 0


def test_demo_schema_is_exactly_delayed_jobs_generator_output(tmp_path: Path, fixtures_dir: Path) -> None:
    db = ensure_demo(tmp_path / "s.sqlite3").path

    def schema(p: Path) -> list[tuple[str, str, str]]:
        conn = sqlite3.connect(p)
        try:
            return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY rowid").fetchall()
        finally:
            conn.close()

    assert schema(db) == schema(fixtures_dir / "delayed_job" / "sqlite.sqlite3")


def test_demo_mix_is_realistic(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    db = ensure_demo(tmp_path / "m.sqlite3", now=now).path
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = [dict(r) for r in conn.execute("SELECT * FROM delayed_jobs ORDER BY id")]
        types = {t for (t,) in conn.execute(
            "SELECT DISTINCT typeof(run_at) FROM delayed_jobs UNION SELECT DISTINCT typeof(created_at) FROM delayed_jobs")}
    finally:
        conn.close()
    assert len(rows) >= 200 and types == {"text"}
    assert {r["queue"] for r in rows} == {"low", "default", "mailers", "toxic", "reports", None}
    for r in rows:
        for col in ("run_at", "locked_at", "failed_at", "created_at", "updated_at"):
            assert r[col] is None or SQLITE_TIME.match(r[col]), (col, r[col])
    parsed = [parse_handler(r["handler"], last_error=r["last_error"]) for r in rows]
    assert all(h.parse_error is None for h in parsed)
    kinds = Counter(h.kind for h in parsed)
    assert set(kinds) == {"performable_method", "performable_mailer", "active_job", "struct", "object"}
    names = {h.name for h in parsed}
    assert {"User.cleanup", "User#send_heavy_report", "Module#sweep", "UserMailer.welcome",
            "ActionMailer::Parameterized::Mailer#welcome", "NewsletterJob", "SyncInventoryJob"} <= names
    assert any(n.startswith("ActionMailer::MailDeliveryJob [") for n in names)
    assert any(isinstance(a, str) and a.startswith("User/") for h in parsed for a in h.args)  # GlobalIDs

    t = lambda s: datetime.fromisoformat(s).replace(tzinfo=UTC)  # noqa: E731
    failed = [r for r in rows if r["failed_at"]]
    assert len(failed) >= 15 and all(r["last_error"].count("\n") >= 5 for r in failed)
    assert all(r["locked_by"] for r in failed)  # DJ keeps the lock on failed rows
    exceptions = {parse_last_error(r["last_error"]).exception for r in rows if r["last_error"]}
    assert {"ActiveRecord::RecordNotFound", "Timeout::Error", "Net::ReadTimeout",
            "Delayed::DeserializationError"} <= exceptions
    retrying = [r for r in rows if not r["failed_at"] and r["attempts"] > 0]
    assert retrying and all(r["last_error"] and t(r["run_at"]) > now for r in retrying)
    stuck = [r for r in rows if not r["failed_at"] and r["locked_at"] and t(r["locked_at"]) < now - timedelta(hours=4)]
    assert len(stuck) == 1
    running = [r for r in rows if not r["failed_at"] and r["locked_at"] and t(r["locked_at"]) >= now - timedelta(hours=4)]
    assert 1 <= len(running) <= 3 and len({r["locked_by"] for r in running}) == len(running)
    assert sum(1 for r in rows if not r["locked_at"] and not r["attempts"] and t(r["run_at"]) > now) >= 10
    assert [r["attempts"] for r in rows
            if (r["last_error"] or "").startswith("ActiveRecord::RecordNotFound, class:")] == [0] * len(DELETED_USER_IDS)


def test_demo_is_deterministic() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    a, b = build_rows(now), build_rows(now)
    assert [(r.handler, r.last_error, r.run_at) for r in a] == [(r.handler, r.last_error, r.run_at) for r in b]


@pytest.mark.ruby
def test_real_delayed_job_loads_every_demo_handler_with_the_same_names(tmp_path: Path) -> None:
    result = ensure_demo(tmp_path / "ruby.sqlite3")
    rows = run_ruby("dj_names.rb", result.url)
    assert len(rows) == result.jobs
    unloadable = [r for r in rows if not r["loads"]]
    assert len(unloadable) == len(DELETED_USER_IDS)  # only the jobs whose User was deleted
    assert all(r["name"] == "Delayed::PerformableMethod" for r in unloadable)
    for r in rows:
        h = parse_handler(r["handler"], last_error=r["last_error"])
        assert h.name == r["name"], (r["id"], h.name, r["name"])
        if r["loads"]:
            assert r["same_yaml"], f"Psych re-dumps row {r['id']} differently:\n{r['handler']}"
