"""Find and describe the `delayed_jobs` table of one database (SQLAlchemy Core, no ORM).

The table is reflected by name (the target's `table`, default ``delayed_jobs``; ActiveRecord's
``table_name_prefix`` gives names such as ``myapp_delayed_jobs``; ``schema.table`` is accepted)
with the inspector's column list, so we tolerate what real apps have:

* old schemas: no ``queue`` column (DJ 2.x, before ``rails g delayed_job:upgrade``), nullable
  ``priority``/``attempts`` (DJAR < 4.0; NULL is read as 0, DJ's default);
* extra application columns and indexes (never ``SELECT *`` into a fixed tuple);
* ``created_at``/``updated_at`` missing (very old tables).

The Table we build declares only the columns that exist, with types we choose: on SQLite the
datetime columns are declared as text, because that is what DJ stores there and SQLAlchemy's
SQLite DATETIME parser would reject rows it does not expect (see ``dbtime``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jobctl.errors import NotAQueueStore

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection
    from sqlalchemy.sql.elements import ColumnElement

# Without these a table is not a Delayed Job table.
REQUIRED = ("id", "handler", "run_at", "locked_at", "failed_at")
# Read when present.
OPTIONAL = ("priority", "attempts", "last_error", "locked_by", "queue", "created_at", "updated_at")
DATETIME_COLUMNS = ("run_at", "locked_at", "failed_at", "created_at", "updated_at")


@dataclass(slots=True)
class DJTable:
    """The reflected table and what it has."""

    table: Table
    name: str
    schema: str | None
    dialect: str  # "sqlite" | "postgresql" | "mysql"
    columns: dict[str, dict[str, Any]]  # every column the database reports, by name
    indexes: list[dict[str, Any]] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)  # app columns DJ does not know

    @property
    def has_queue(self) -> bool:
        return "queue" in self.table.c

    def has(self, name: str) -> bool:
        return name in self.table.c

    def nullable(self, name: str) -> bool:
        info = self.columns.get(name)
        return bool(info is None or info.get("nullable", True))

    def col(self, name: str) -> ColumnElement[Any]:
        """A column, or a typed NULL for one this table lacks (e.g. `queue` on DJ 2.x tables)."""
        from sqlalchemy import Integer, String, null, type_coerce

        if name in self.table.c:
            return self.table.c[name]
        return type_coerce(null(), Integer() if name in ("priority", "attempts") else String())

    def int_col(self, name: str) -> ColumnElement[Any]:
        """priority / attempts with NULL read as 0 (only wrapped when the column is nullable)."""
        from sqlalchemy import func, literal

        if name not in self.table.c:
            return literal(0)
        c = self.table.c[name]
        return func.coalesce(c, 0) if self.nullable(name) else c

    def indexed_first(self, column: str) -> bool:
        """True when some index starts with `column` (e.g. an app's [failed_at, …] index)."""
        return any((ix.get("column_names") or [None])[0] == column for ix in self.indexes)

    def label(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


def split_name(qualified: str) -> tuple[str | None, str]:
    if "." in qualified:
        schema, _, name = qualified.rpartition(".")
        return schema or None, name
    return None, qualified


def candidate_tables(conn: Connection, schema: str | None = None) -> list[str]:
    """Tables whose name ends in ``delayed_jobs`` (to suggest `--table` when the default is absent)."""
    from sqlalchemy import inspect

    try:
        names = inspect(conn).get_table_names(schema=schema)
    except Exception:  # noqa: BLE001 - a suggestion only
        return []
    return sorted(n for n in names if n.lower().endswith("delayed_jobs"))


def missing_table_message(conn: Connection, qualified: str) -> str:
    schema, _ = split_name(qualified)
    found = candidate_tables(conn, schema)
    hint = f"; tables that look like Delayed Job: {', '.join(found)} (pass --table NAME)" if found else ""
    return f"no table {qualified!r} in this database{hint}"


def reflect(conn: Connection, qualified: str) -> DJTable:
    """Describe the DJ table; NotAQueueStore (exit 3) when it is absent or lacks DJ's columns."""
    from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, Text, inspect
    from sqlalchemy.exc import NoSuchTableError

    schema, name = split_name(qualified)
    insp = inspect(conn)
    try:
        cols = insp.get_columns(name, schema=schema)
    except NoSuchTableError:
        raise NotAQueueStore(missing_table_message(conn, qualified)) from None
    if not cols:  # some dialects return [] instead of raising
        raise NotAQueueStore(missing_table_message(conn, qualified))
    by_name = {str(c["name"]): dict(c) for c in cols}
    lower = {n.lower(): n for n in by_name}
    missing = [c for c in REQUIRED if c not in lower]
    if missing:
        raise NotAQueueStore(
            f"table {qualified!r} is not a Delayed Job table: it lacks column(s) {', '.join(missing)}"
        )
    try:
        indexes = [dict(ix) for ix in insp.get_indexes(name, schema=schema)]
    except Exception:  # noqa: BLE001 - indexes only inform notes
        indexes = []
    dialect = conn.dialect.name
    text_dt = dialect == "sqlite"
    decl: list[Column[Any]] = []
    for logical in (*REQUIRED, *OPTIONAL):
        real = lower.get(logical)
        if real is None:
            continue
        if logical == "id":
            typ: Any = BigInteger()
        elif logical in ("priority", "attempts"):
            typ = Integer()
        elif logical in DATETIME_COLUMNS:
            typ = Text() if text_dt else DateTime(timezone=bool(getattr(by_name[real]["type"], "timezone", False)))
        else:
            typ = Text()
        decl.append(Column(real, typ, key=logical, primary_key=(logical == "id"),
                           nullable=bool(by_name[real].get("nullable", True))))
    table = Table(name, MetaData(schema=schema), *decl)
    known = {lower[c] for c in (*REQUIRED, *OPTIONAL) if c in lower}
    columns = {k: by_name[v] for k, v in lower.items() if k in (*REQUIRED, *OPTIONAL)}
    return DJTable(table=table, name=name, schema=schema, dialect=dialect, columns=columns,
                   indexes=indexes, extra_columns=[n for n in by_name if n not in known])
