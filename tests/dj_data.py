"""Real Delayed Job data in real databases, for tests of every DJ-facing part of jobctl.

The fixture in ``../shared/fixtures/delayed_job/`` was written by delayed_job 4.1.9 itself on
SQLite, PostgreSQL and MariaDB. This module recreates that table in any database given a
SQLAlchemy URL: it runs the engine's own DDL export (``schema.<tag>.sql``, skipping psql's
``\\restrict`` meta-lines and MariaDB's sandbox comment) and inserts the exported rows
(``delayed_jobs.<tag>.json``) with their ids, in the storage form DJ uses on that engine
(SQLite: text ``YYYY-MM-DD HH:MM:SS[.ffffff]``; PostgreSQL/MySQL: zone-less UTC datetimes).

Variants (all real DDL, no mocks):
  * ``table="app_delayed_jobs"`` - a prefixed table name (ActiveRecord ``table_name_prefix``);
  * ``old_schema=True`` - the DJ 2.x shape: no ``queue`` column, nullable ``priority``/``attempts``
    /``handler``; rows whose priority/attempts were 0 are stored as NULL;
  * ``extras=True`` - an app's own extra column (``job_class``) and indexes.

Typical use::

    from dj_data import load_fixture, fixture_rows, fixture_names, export_time
    info = load_fixture(pg_url)             # tag from the URL's dialect
    names = fixture_names(info.tag)          # {id: what Delayed::Job#name returned}
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from servers import FIXTURES

DJ_DIR = FIXTURES / "delayed_job"
TAGS = ("sqlite", "pg", "mysql")
DATETIME_COLUMNS = ("run_at", "locked_at", "failed_at", "created_at", "updated_at")
COLUMNS = ("id", "priority", "attempts", "handler", "last_error", "run_at", "locked_at", "failed_at",
           "locked_by", "queue", "created_at", "updated_at")


@dataclass(frozen=True, slots=True)
class FixtureInfo:
    url: str
    tag: str  # whose export was loaded: sqlite | pg | mysql
    table: str
    rows: int
    old_schema: bool


# --------------------------------------------------------------------------- the exports


def dialect_tag(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme.startswith("sqlite"):
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        return "pg"
    if scheme in ("mysql", "mariadb"):
        return "mysql"
    raise ValueError(f"not a Delayed Job database URL: {url}")


@cache
def _load_json(name: str) -> Any:
    return json.loads((DJ_DIR / name).read_text(encoding="utf-8"))


def parse_export_time(value: str | None) -> datetime | None:
    """The exports' ISO 8601 UTC form (`2026-11-27T19:53:19.404438Z`) -> aware datetime."""
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def fixture_rows(tag: str) -> list[dict[str, Any]]:
    """The rows as exported: column -> value, datetimes as aware UTC datetimes (copies)."""
    rows = []
    for r in _load_json(f"delayed_jobs.{tag}.json"):
        row = dict(r)
        for c in DATETIME_COLUMNS:
            row[c] = parse_export_time(row.get(c))
        rows.append(row)
    return rows


def fixture_names(tag: str) -> dict[int, str]:
    """{row id: the value real `Delayed::Job#name` returned for it}."""
    return {int(k): v for k, v in _load_json(f"names.{tag}.json").items()}


def fixture_summary(tag: str) -> dict[str, Any]:
    return dict(_load_json(f"summary.{tag}.json"))


def export_time(tag: str) -> datetime:
    """'Now' as the exporting process saw it: the newest timestamp written by any row.

    The README's state counts (2 retrying rows with run_at in the future, 5 scheduled, 8 ready)
    hold at this instant; pass it as the backend's clock to reproduce them.
    """
    newest = max(
        t for r in fixture_rows(tag) for c in ("created_at", "updated_at", "locked_at", "failed_at")
        if (t := r[c]) is not None
    )
    return newest


# --------------------------------------------------------------------------- DDL


def _ddl_statements(tag: str) -> list[str]:
    """`schema.<tag>.sql` as executable statements (meta-lines and comments dropped)."""
    text = (DJ_DIR / f"schema.{tag}.sql").read_text(encoding="utf-8")
    kept: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("\\"):  # psql meta-commands: \restrict KEY / \unrestrict KEY
            continue
        if s.startswith("/*M!999999"):  # MariaDB sandbox-mode marker: not SQL
            continue
        if s.startswith("--"):
            continue
        kept.append(line)
    stmts = [s.strip() for s in "\n".join(kept).split(";\n")]
    out = []
    for s in stmts:
        s = s.rstrip(";").strip()
        if not s:
            continue
        if tag == "pg" and "set_config('search_path'" in s:
            continue  # would empty search_path for the session; the DDL is schema-qualified
        out.append(s)
    return out


def _old_schema_ddl(tag: str, table: str) -> list[str]:
    """DJ 2.x-era table: no queue column, nullable priority/attempts/handler, plain timestamps."""
    if tag == "pg":
        return [
            f'CREATE TABLE "{table}" (id serial PRIMARY KEY, priority integer DEFAULT 0, '
            "attempts integer DEFAULT 0, handler text, last_error text, run_at timestamp, "
            "locked_at timestamp, failed_at timestamp, locked_by varchar(255), created_at timestamp, "
            "updated_at timestamp)",
            f'CREATE INDEX "{table}_priority" ON "{table}" (priority, run_at)',
        ]
    if tag == "mysql":
        return [
            f"CREATE TABLE `{table}` (`id` int(11) NOT NULL AUTO_INCREMENT, `priority` int(11) DEFAULT 0, "
            "`attempts` int(11) DEFAULT 0, `handler` text, `last_error` text, `run_at` datetime, "
            "`locked_at` datetime, `failed_at` datetime, `locked_by` varchar(255), `created_at` datetime, "
            "`updated_at` datetime, PRIMARY KEY (`id`), KEY `{table}_priority` (`priority`,`run_at`)) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        ]
    return [
        f'CREATE TABLE "{table}" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "priority" integer DEFAULT 0, '
        '"attempts" integer DEFAULT 0, "handler" text, "last_error" text, "run_at" datetime, '
        '"locked_at" datetime, "failed_at" datetime, "locked_by" varchar(255), "created_at" datetime, '
        '"updated_at" datetime)',
        f'CREATE INDEX "{table}_priority" ON "{table}" ("priority", "run_at")',
    ]


def _extras_ddl(tag: str, table: str, *, has_queue: bool) -> list[str]:
    q = "`" if tag == "mysql" else '"'
    t = f"{q}{table}{q}"
    stmts = [
        f"ALTER TABLE {t} ADD COLUMN {q}job_class{q} varchar(255)",
        f"ALTER TABLE {t} ADD COLUMN {q}tenant_id{q} integer",
        f"CREATE INDEX {q}{table}_failed_prio{q} ON {t} (failed_at, priority, run_at)",
    ]
    if has_queue:
        stmts.append(f"CREATE INDEX {q}{table}_queue{q} ON {t} ({q}queue{q})" if tag != "mysql"
                     else f"CREATE INDEX `{table}_queue` ON {t} (`queue`(191))")
    return stmts


# --------------------------------------------------------------------------- storage forms


def sqlite_time(dt: datetime | None) -> str | None:
    """ActiveRecord 6.1's SQLite text form: no zone, space separator, fraction omitted at usec 0."""
    if dt is None:
        return None
    naive = dt.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if naive.microsecond else naive.strftime("%Y-%m-%d %H:%M:%S")


def _storage_value(tag: str, column: str, value: Any) -> Any:
    if column in DATETIME_COLUMNS:
        if value is None:
            return None
        if tag == "sqlite":
            return sqlite_time(value)
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _engine(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(url, poolclass=NullPool)


def load_fixture(url: str, *, tag: str | None = None, table: str = "delayed_jobs", old_schema: bool = False,
                 extras: bool = False, rows: list[dict[str, Any]] | None = None) -> FixtureInfo:
    """Create the DJ table in the database at `url` and insert the fixture rows (or `rows`).

    `tag` chooses whose export to load (default: the URL's own engine, so MariaDB gets the
    second-precision MariaDB rows). Returns what was loaded.
    """
    from sqlalchemy import text

    own = dialect_tag(url)
    tag = tag or own
    data = fixture_rows(tag) if rows is None else rows
    if old_schema:
        ddl = _old_schema_ddl(own, table)
    else:
        ddl = [s.replace("delayed_jobs", table) for s in _ddl_statements(own)]
    if extras:
        ddl += _extras_ddl(own, table, has_queue=not old_schema)
    eng = _engine(url)
    try:
        with eng.begin() as conn:
            for stmt in ddl:
                conn.exec_driver_sql(stmt)
        cols = [c for c in COLUMNS if not (old_schema and c == "queue")]
        q = "`" if own == "mysql" else '"'
        collist = ", ".join(f"{q}{c}{q}" for c in cols)
        params = ", ".join(f":{c}" for c in cols)
        schema = "public." if own == "pg" else ""
        ins = text(f"INSERT INTO {schema}{q}{table}{q} ({collist}) VALUES ({params})")
        batch = []
        for r in data:
            vals = {c: _storage_value(own, c, r.get(c)) for c in cols}
            if old_schema:
                for c in ("priority", "attempts"):
                    if vals[c] == 0:
                        vals[c] = None
            batch.append(vals)
        with eng.begin() as conn:
            if batch:
                conn.execute(ins, batch)
            if own == "pg":
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('public.\"{table}\"', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM public.\"{table}\"), false)"))
    finally:
        eng.dispose()
    return FixtureInfo(url=url, tag=tag, table=table, rows=len(data), old_schema=old_schema)


# --------------------------------------------------------------------------- "nothing changed" checks


def shift_locks(url: str, delta: timedelta, table: str = "delayed_jobs") -> int:
    """Move the locks of rows that are not failed (jobs a worker holds) by `delta`, as if the
    fixture run had happened `delta` later: "stuck" and stale workers are judged against the real
    clock (max_run_time, default 4 h), so these tests would change their answer as time passes.
    Returns the number of rows moved."""
    from sqlalchemy import text

    eng = _engine(url)
    with eng.begin() as c:
        rows = c.execute(text(f"SELECT id, locked_at FROM {table} WHERE locked_at IS NOT NULL AND failed_at IS NULL")).all()
        for rid, locked in rows:
            t = locked if isinstance(locked, datetime) else datetime.fromisoformat(str(locked))
            new = (t if t.tzinfo is not None else t.replace(tzinfo=UTC)) + delta
            c.execute(text(f"UPDATE {table} SET locked_at = :t WHERE id = :id"),
                      {"t": sqlite_time(new) if url.startswith("sqlite") else new, "id": rid})
    eng.dispose()
    return len(rows)


def table_checksum(url: str, table: str = "delayed_jobs") -> str:
    """A digest of every row of `table` (all columns, by id): equal before/after = nothing written."""
    from sqlalchemy import text

    q = "`" if dialect_tag(url) == "mysql" else '"'
    eng = _engine(url)
    h = hashlib.sha256()
    try:
        with eng.connect() as conn:
            res = conn.execute(text(f"SELECT * FROM {q}{table}{q} ORDER BY id"))
            h.update(repr(list(res.keys())).encode())
            for row in res:
                h.update(repr(tuple(row)).encode("utf-8", "backslashreplace"))
    finally:
        eng.dispose()
    return h.hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (SQLite: the database must be byte-for-byte unchanged)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sqlite_path(url: str) -> Path:
    m = re.match(r"sqlite(?:\+\w+)?:///(.*)$", url)
    if not m:
        raise ValueError(f"not a sqlite file URL: {url}")
    return Path(m.group(1).split("?", 1)[0])
