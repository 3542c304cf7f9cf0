"""`jobctl demo`'s database: a SQLite file in exact Delayed Job format, seeded with a realistic mix.

* Schema: the `delayed_jobs` DDL exactly as delayed_job_active_record's generator creates it on
  SQLite (shared/fixtures/delayed_job/schema.sqlite.sql), plus the app's `users` table that the
  handlers' records point at (so real Delayed Job can load every handler: tests/test_demo.py).
* Rows (~240, deterministic for a given `now` — seeded RNG; times relative to `now`, stored in
  SQLite's text format `YYYY-MM-DD HH:MM:SS.ffffff`) over queues low, default, mailers, toxic,
  reports and NULL: ready, scheduled, running, retrying, failed (with real-looking last_error
  backtraces) and a stale lock — see `jobctl.demo.mix` for what each queue holds.
* Idempotent: an existing demo database is reused untouched; `reset=True` recreates it.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jobctl.demo.mix import build_rows
from jobctl.demo.rows import DemoRow, build_users, sqlite_time

DELAYED_JOBS_DDL = (
    'CREATE TABLE IF NOT EXISTS "delayed_jobs" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, '
    '"priority" integer DEFAULT 0 NOT NULL, "attempts" integer DEFAULT 0 NOT NULL, "handler" text NOT NULL, '
    '"last_error" text, "run_at" datetime, "locked_at" datetime, "failed_at" datetime, "locked_by" varchar, '
    '"queue" varchar, "created_at" datetime(6), "updated_at" datetime(6))'
)
DELAYED_JOBS_INDEX = 'CREATE INDEX "delayed_jobs_priority" ON "delayed_jobs" ("priority", "run_at")'
USERS_DDL = (
    'CREATE TABLE IF NOT EXISTS "users" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar NOT NULL, '
    '"email" varchar, "locale" varchar DEFAULT \'en\', "created_at" datetime(6) NOT NULL, '
    '"updated_at" datetime(6) NOT NULL)'
)
_COLUMNS = ("priority", "attempts", "handler", "last_error", "run_at", "locked_at", "failed_at", "locked_by",
            "queue", "created_at", "updated_at")


class DemoPathError(ValueError):
    """The path exists but is not a demo database (and --reset was not given)."""


@dataclass(slots=True)
class DemoResult:
    path: Path
    created: bool  # False = an existing demo database was reused
    jobs: int

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"


def default_path() -> Path:
    """$XDG_DATA_HOME/jobctl/demo.sqlite3 (XDG default ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "jobctl" / "demo.sqlite3"


def _existing_jobs(path: Path) -> int | None:
    """Row count of an existing demo database; None when the file is not one."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"delayed_jobs", "users"} <= tables:
            return None
        return int(conn.execute("SELECT count(*) FROM delayed_jobs").fetchone()[0])
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def write_database(path: Path, rows: list[DemoRow], now: datetime) -> None:
    """Create the schema and insert users + rows in one transaction (to a temp file, then rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp)
    try:
        with conn:
            conn.execute(DELAYED_JOBS_DDL)  # same order as the shared fixture's sqlite_master
            conn.execute(USERS_DDL)
            conn.execute(DELAYED_JOBS_INDEX)
            conn.executemany(
                'INSERT INTO "users" ("id", "name", "email", "locale", "created_at", "updated_at") '
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(u.id, u.name, u.email, u.locale, u.created_at, u.updated_at) for u in build_users(now)])
            conn.executemany(
                f'INSERT INTO "delayed_jobs" ({", ".join(_COLUMNS)}) VALUES ({", ".join("?" * len(_COLUMNS))})',
                [tuple(_cell(getattr(r, c)) for c in _COLUMNS) for r in rows])
    finally:
        conn.close()
    os.replace(tmp, path)


def _cell(value: object) -> object:
    return sqlite_time(value) if isinstance(value, datetime) else value


def ensure_demo(path: Path | None = None, *, reset: bool = False, now: datetime | None = None) -> DemoResult:
    """Create (or reuse) the demo database at `path`."""
    from jobctl.timeutil import utcnow

    path = (path or default_path()).expanduser().resolve()
    if path.exists() and not reset:
        jobs = _existing_jobs(path)
        if jobs is None:
            raise DemoPathError(f"{path} exists and is not a jobctl demo database (use --reset to overwrite it)")
        return DemoResult(path, created=False, jobs=jobs)
    path.parent.mkdir(parents=True, exist_ok=True)
    now = now or utcnow()
    rows = build_rows(now)
    write_database(path, rows, now)
    return DemoResult(path, created=True, jobs=len(rows))
