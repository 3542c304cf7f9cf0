"""SQLAlchemy engine for a Delayed Job target: URL mapping, timeouts, --trace, error translation.

* ``postgresql://`` and ``postgres://`` -> ``postgresql+psycopg`` (psycopg 3); query options such
  as ``sslmode=require`` pass through to libpq untouched.
* ``mysql://`` and ``mariadb://`` -> ``mysql+pymysql`` (charset utf8mb4 unless given).
* ``sqlite:///path`` -> the file opened with ``mode=rw``: a mistyped path is an error instead of
  a new empty database silently created by the driver.
* ``connect_timeout`` option (seconds, default 5) bounds connecting; ``timeout`` (seconds, unset
  by default) bounds each statement (PostgreSQL ``statement_timeout``, MySQL read timeout).
* Sessions run in UTC (PostgreSQL ``TimeZone``, MySQL ``time_zone``) so a ``timestamptz`` or
  ``TIMESTAMP`` column compares correctly with the naive UTC values we bind.
* ``--trace``: every statement with its duration goes to ``jobctl.trace`` via the engine's
  ``before/after_cursor_execute`` events.
* Driver errors become ``TargetUnreachable`` (exit 3) when connecting fails or the connection
  drops, other database errors a one-line ``JobctlError``; URLs in messages are masked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from jobctl.errors import JobctlError, TargetUnreachable
from jobctl.safe import mask_secrets_in, mask_url
from jobctl.targets import Target
from jobctl.trace import TRACER

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine

DEFAULT_CONNECT_TIMEOUT = 5.0


def sqlalchemy_url(url: str) -> URL:
    """A user's DJ URL -> the SQLAlchemy URL with our drivers (see module docstring)."""
    from sqlalchemy.engine import make_url

    scheme, sep, rest = url.partition("://")
    if not sep:
        raise JobctlError(f"not a database URL: {mask_url(url)}")
    base, _, driver = scheme.lower().partition("+")
    if base in ("postgresql", "postgres"):
        u = make_url(f"postgresql+{driver or 'psycopg'}://{rest}")
    elif base in ("mysql", "mariadb"):
        u = make_url(f"mysql+{driver or 'pymysql'}://{rest}")
        if "charset" not in u.query:
            u = u.update_query_dict({"charset": "utf8mb4"})
    elif base == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        path, _, query = path.partition("?")
        if not path or path == ":memory:":
            raise JobctlError("sqlite URL needs a database file: sqlite:///relative/path or sqlite:////absolute/path")
        extra = f"&{query}" if query else ""
        u = make_url(f"sqlite+{driver or 'pysqlite'}:///file:{path}?mode=rw&uri=true{extra}")
    else:
        raise JobctlError(f"not a Delayed Job database URL: {mask_url(url)}")
    return u


def _seconds(value: Any, default: float | None, what: str) -> float | None:
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    from jobctl.timeutil import parse_duration

    try:
        return parse_duration(str(value)).total_seconds()
    except ValueError:
        raise JobctlError(f"invalid {what} {value!r} (examples: 5, 5s, 1m)") from None


def create_engine_for(target: Target) -> Engine:
    """Build (not connect) the engine for `target`, with timeouts and tracing hooks."""
    from sqlalchemy import create_engine, event

    url = sqlalchemy_url(target.url)
    connect_timeout = _seconds(target.options.get("connect_timeout"), DEFAULT_CONNECT_TIMEOUT, "connect_timeout")
    stmt_timeout = _seconds(target.options.get("timeout"), None, "timeout")
    backend = url.get_backend_name()
    args: dict[str, Any] = {}
    if backend == "postgresql":
        args["connect_timeout"] = max(2, int(round(connect_timeout or DEFAULT_CONNECT_TIMEOUT)))
        opts = "-c TimeZone=UTC"
        if stmt_timeout:
            opts += f" -c statement_timeout={int(stmt_timeout * 1000)}"
        args["options"] = opts
        args["application_name"] = "jobctl"
    elif backend == "mysql":
        args["connect_timeout"] = max(1, int(round(connect_timeout or DEFAULT_CONNECT_TIMEOUT)))
        # PyMySQL's connect_timeout covers only the TCP connect; the handshake is read with
        # read_timeout, so that is the connect timeout too until `_after_mysql_connect` resets it.
        args["read_timeout"] = args["connect_timeout"]
        args["init_command"] = "SET time_zone = '+00:00'"
    elif backend == "sqlite":
        args["timeout"] = connect_timeout or DEFAULT_CONNECT_TIMEOUT
    engine = create_engine(url, connect_args=args, pool_size=2, max_overflow=2, pool_pre_ping=False) \
        if backend != "sqlite" else create_engine(url, connect_args=args)
    _install_trace(engine, event, target.table)
    if backend == "sqlite":
        @event.listens_for(engine, "connect")
        def _sqlite_text(dbapi_conn: Any, record: Any) -> None:
            dbapi_conn.text_factory = sqlite_text
    if backend == "mysql":
        read_timeout = max(1, int(round(stmt_timeout))) if stmt_timeout else None

        @event.listens_for(engine, "connect")
        def _after_mysql_connect(dbapi_conn: Any, record: Any) -> None:
            if hasattr(dbapi_conn, "_read_timeout"):  # PyMySQL >= 1.0: per-statement reads
                dbapi_conn._read_timeout = read_timeout
    return engine


def sqlite_text(data: bytes) -> str:
    """SQLite TEXT may hold any bytes (a handler written by a Latin-1 app, a truncated multibyte
    character): the default decoder raises for the whole query. Invalid bytes are kept as
    surrogate escapes instead, which the handler parser reports and `safe.visible()` shows as \\xNN."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", "surrogateescape")


def _install_trace(engine: Engine, event: Any, table: str) -> None:
    """--trace: statement + parameters + duration to stderr (cheap no-op when tracing is off)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if TRACER.enabled:
            conn.info.setdefault("_jobctl_t0", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not TRACER.enabled:
            return
        stack = conn.info.get("_jobctl_t0") or [time.perf_counter()]
        t0 = stack.pop()
        text = _compact(statement, table)
        if parameters:
            text += f"  -- params {_short_params(parameters)}"
        TRACER.emit("sql", text, time.perf_counter() - t0)


_SELF_LABEL = re.compile(r"\b([A-Za-z_]\w*) AS \1\b")


def _compact(statement: str, table: str) -> str:
    """One line, without `table.` qualifiers and `x AS x` labels, so the trace's width shows the WHERE."""
    text = " ".join(statement.split())
    for part in table.split("."):
        text = re.sub(r'(?<![\w.])["`]?' + re.escape(part) + r'["`]?\.(?=["`A-Za-z_])', "", text)
    return _SELF_LABEL.sub(r"\1", text)


def _short_params(parameters: Any) -> str:
    def short(v: Any) -> str:
        s = repr(v)
        return s if len(s) <= 60 else s[:57] + "…"

    if isinstance(parameters, dict):
        return "{" + ", ".join(f"{k}: {short(v)}" for k, v in parameters.items()) + "}"
    if isinstance(parameters, (list, tuple)):
        if parameters and isinstance(parameters[0], (list, tuple, dict)):
            return f"[{len(parameters)} rows]"
        return "(" + ", ".join(short(v) for v in parameters) + ")"
    return short(parameters)


def _first_line(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


@contextmanager
def translate_errors(target: Target, *, connecting: bool = False) -> Iterator[None]:
    """Driver exceptions -> jobctl errors with one masked line (see module docstring)."""
    from sqlalchemy import exc

    try:
        yield
    except exc.DBAPIError as e:
        msg = mask_secrets_in(_first_line(e), [target.url])
        if connecting or e.connection_invalidated or isinstance(e, exc.InterfaceError):
            raise TargetUnreachable(f"cannot reach {target.masked_url}: {msg}") from None
        raise JobctlError(f"database error on {target.masked_url}: {msg}") from None
    except exc.TimeoutError as e:  # pool checkout timeout
        raise TargetUnreachable(f"cannot reach {target.masked_url}: {_first_line(e)}") from None
    except exc.ArgumentError as e:
        raise JobctlError(f"bad database URL {target.masked_url}: {mask_secrets_in(str(e), [target.url])}") from None


@contextmanager
def read_only(conn: Connection) -> Iterator[Connection]:
    """Run the block in a transaction the database itself refuses to write in.

    Defence in depth for "read commands never write": PostgreSQL `SET TRANSACTION READ ONLY`,
    MySQL/MariaDB `START TRANSACTION READ ONLY`, SQLite `PRAGMA query_only` (reset afterwards).
    The transaction is rolled back at the end: nothing a read did can persist.
    """
    name = conn.dialect.name
    if name == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = 1")
        try:
            yield conn
        finally:
            conn.rollback()
            conn.exec_driver_sql("PRAGMA query_only = 0")
            conn.commit()
        return
    if name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    elif name in ("mysql", "mariadb"):
        conn.exec_driver_sql("START TRANSACTION READ ONLY")
    try:
        yield conn
    finally:
        conn.rollback()
