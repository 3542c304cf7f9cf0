"""Interop with the real Ruby library: Debian's delayed_job 4.1.9 + delayed_job_active_record 4.1.6 +
ActiveRecord/ActiveJob/ActionMailer 6.1 enqueue one job of every kind (tests/ruby/enqueue_all.rb)
into a fresh SQLite file, PostgreSQL and MariaDB database and report Delayed::Job#name per row;
jobctl's parse_handler, reading the same rows through SQLAlchemy, must produce the same names.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jobctl.parse.dj_handler import KINDS, parse_handler

RUBY_DIR = Path(__file__).resolve().parent / "ruby"
pytestmark = pytest.mark.ruby

# kinds the harness enqueues, by DJ name prefix -> jobctl kind
EXPECTED_KINDS = {
    "User#send_heavy_report": "performable_method", "User.cleanup": "performable_method",
    "User#deliver_digest_without_delay": "performable_method", "Module#sweep": "performable_method",
    "NewsletterJob": "struct", "KwJob": "struct", "MiscJob": "struct", "ImportCsvJob": "object",
    "SyncInventoryJob": "object", "UserMailer.welcome": "performable_mailer",
    "ActionMailer::Parameterized::Mailer#welcome": "performable_mailer",
}


def ruby_url(sqlalchemy_url: str) -> str:
    """The SQLAlchemy URL the tests use -> what ActiveRecord's establish_connection accepts."""
    if sqlalchemy_url.startswith("sqlite:///"):
        return "sqlite3:" + sqlalchemy_url[len("sqlite:///"):]
    if sqlalchemy_url.startswith("postgresql+"):
        return "postgresql://" + sqlalchemy_url.split("://", 1)[1]
    if sqlalchemy_url.startswith("mysql+"):
        return "mysql2://" + sqlalchemy_url.split("://", 1)[1] + "?encoding=utf8mb4"
    return sqlalchemy_url


def run_ruby(script: str, url: str, timeout: float = 180) -> list[dict[str, Any]]:
    """Run one harness script against `url` (a SQLAlchemy URL); return its JSON rows."""
    if shutil.which("ruby") is None:
        pytest.fail("ruby is not installed (scripts/test installs Debian's ruby-delayed-job packages)")
    proc = subprocess.run(["ruby", str(RUBY_DIR / script), ruby_url(url)], capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"ruby {script} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert isinstance(rows, list)
    return rows


def db_rows(url: str) -> dict[int, tuple[str, str | None]]:
    """id -> (handler, last_error), read by jobctl's side (SQLAlchemy), not by Ruby."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text("SELECT id, handler, last_error FROM delayed_jobs ORDER BY id"))
            return {int(r[0]): (r[1], r[2]) for r in result}
    finally:
        engine.dispose()


def assert_names_match(ruby_rows: list[dict[str, Any]], url: str) -> None:
    stored = db_rows(url)
    assert sorted(stored) == [r["id"] for r in ruby_rows]
    for r in ruby_rows:
        handler, last_error = stored[r["id"]]
        assert handler == r["handler"]
        h = parse_handler(handler, last_error=last_error)
        dj = r["name"]
        assert h.kind in KINDS
        if dj.startswith("!error:"):  # DJ's own `name` raised; jobctl must still answer
            assert h.parse_error is not None
            continue
        if " with arguments: " in dj:
            assert h.kind == "active_job"
            assert h.name.split(" with arguments: ")[0] == dj.split(" with arguments: ")[0], r["id"]
        assert h.name == dj, (r["id"], h.name, dj)  # exact, ActiveJob argument inspect included
        if r["loads"] and dj in EXPECTED_KINDS:
            assert h.kind == EXPECTED_KINDS[dj], (dj, h.kind)


def _check_harness_coverage(rows: list[dict[str, Any]]) -> None:
    names = [r["name"] for r in rows]
    for dj_name in EXPECTED_KINDS:
        assert dj_name in names, dj_name
    for prefix in ("ExportUsersJob [", "PurgeUserDataJob [", "ChargeCardJob [", "ActionMailer::MailDeliveryJob ["):
        assert any(n.startswith(prefix) for n in names), prefix
    assert sum(not r["loads"] for r in rows) == 3  # deleted record, missing class, truncated YAML
    assert "Delayed::PerformableMethod" in names and "LegacyBillingJob" in names


def test_interop_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'interop.sqlite3'}"
    rows = run_ruby("enqueue_all.rb", url)
    _check_harness_coverage(rows)
    assert_names_match(rows, url)


def test_interop_postgresql(pg_url: str) -> None:
    rows = run_ruby("enqueue_all.rb", pg_url)
    _check_harness_coverage(rows)
    assert_names_match(rows, pg_url)


def test_interop_mariadb(mysql_url: str) -> None:
    rows = run_ruby("enqueue_all.rb", mysql_url)
    _check_harness_coverage(rows)
    assert_names_match(rows, mysql_url)


def test_dj_names_script_reads_the_real_fixture(dj_fixture_sqlite: str, fixtures_dir: Path) -> None:
    """The read-only harness script on the shared fixture agrees with names.sqlite.json (and so with jobctl)."""
    rows = run_ruby("dj_names.rb", dj_fixture_sqlite)
    expected = json.loads((fixtures_dir / "delayed_job" / "names.sqlite.json").read_text())
    # the fixture's job classes are the scenario's own; our app.rb defines only some of them, so
    # compare only rows Ruby could load here plus DJ's fallback rows, which need no classes
    assert {str(r["id"]) for r in rows} == set(expected)
    assert sum(r["loads"] for r in rows) >= 30  # all but the deleted record and two classes app.rb lacks
    for r in rows:
        if r["loads"]:
            assert r["name"] == expected[str(r["id"])]
