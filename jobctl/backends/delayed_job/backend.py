"""DelayedJobBackend: the Backend protocol over a `delayed_jobs` table (SQLAlchemy 2 Core).

Reads never write: every read runs in a transaction the database refuses writes in
(`engine.read_only`) and is rolled back. Requeue / discard / unlock live in
`jobctl.backends.delayed_job.write` and `follow` in `.follow`; both receive this object and use
what it exposes:

* ``engine`` (lazy), ``dialect``, ``read()`` / ``connect()`` (connections with driver errors
  translated), ``table`` (the reflected SQLAlchemy ``Table``), ``dj`` (its ``DJTable``
  description), ``reader`` (``RowReader``: row -> Job/Failure), ``list_columns()``,
  ``now()``, ``stale_before()``, ``db_time()`` (aware UTC -> bind value), ``codec.from_db``,
  ``failure_where(filter)`` (the SQL prefilter), ``normalize_filter(filter)``,
  ``max_run_time``.

Target options (config keys): ``max_run_time`` (default 4h), ``db_timezone`` (default UTC),
``count_limit`` (rows an aggregate may examine, default 5,000,000; 0 = no cap),
``max_handler_bytes`` (parse cap, default 1 MB), ``connect_timeout``, ``timeout``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobctl.backends.base import Capabilities, Progress
from jobctl.backends.delayed_job import overview, reads
from jobctl.backends.delayed_job.dbtime import TimeCodec, zone_from_option
from jobctl.backends.delayed_job.rows import DEFAULT_MAX_HANDLER_BYTES, RowReader, list_columns
from jobctl.backends.delayed_job.schema import DJTable
from jobctl.backends.delayed_job.states import DEFAULT_MAX_RUN_TIME
from jobctl.backends.delayed_job.summary import DEFAULT_COUNT_LIMIT
from jobctl.errors import NotAQueueStore, UsageError
from jobctl.model import (
    Event,
    Failure,
    FailureFilter,
    Job,
    JobFilter,
    MutationResult,
    PingResult,
    Queue,
    Stats,
    Worker,
)
from jobctl.targets import Target
from jobctl.timeutil import parse_duration, utcnow

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.sql.elements import ColumnElement


def _duration_option(value: Any, default: timedelta, name: str) -> timedelta:
    if value is None:
        return default
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(seconds=float(value))
    try:
        return parse_duration(str(value))
    except ValueError:
        raise UsageError(f"{name}: invalid duration {value!r} (examples: 4h, 90m, 3600)") from None


def _int_option(value: Any, default: int, name: str) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name}: expected a whole number, got {value!r}") from None


class DelayedJobBackend:
    """See module docstring. `clock` (default: the real UTC clock) lets tests pin 'now'."""

    kind = "delayed_job"

    def __init__(self, target: Target, *, clock: Callable[[], datetime] | None = None) -> None:
        self.target = target
        opts = target.options
        self.max_run_time = _duration_option(opts.get("max_run_time"), DEFAULT_MAX_RUN_TIME, "max_run_time")
        self.count_limit = _int_option(opts.get("count_limit"), DEFAULT_COUNT_LIMIT, "count_limit") or None
        self.max_handler_bytes = _int_option(opts.get("max_handler_bytes"), DEFAULT_MAX_HANDLER_BYTES,
                                             "max_handler_bytes")
        self.codec = TimeCodec(zone=zone_from_option(opts.get("db_timezone")))
        self._clock = clock or utcnow
        self._engine: Engine | None = None
        self._dj: DJTable | None = None
        self._reader: RowReader | None = None
        self._columns: dict[tuple[Any, ...], list[ColumnElement[Any]]] = {}

    # ------------------------------------------------------------------ plumbing others use

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from jobctl.backends.delayed_job.engine import create_engine_for

            self._engine = create_engine_for(self.target)
            self.codec.text_storage = self._engine.dialect.name == "sqlite"
        return self._engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A plain connection (for writers); driver errors translated, closed afterwards."""
        from jobctl.backends.delayed_job.engine import translate_errors

        with translate_errors(self.target, connecting=True):
            conn = self.engine.connect()
        try:
            with translate_errors(self.target):
                yield conn
        finally:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside a read-only transaction that is rolled back at the end."""
        from jobctl.backends.delayed_job.engine import read_only

        with self.connect() as conn, read_only(conn):
            yield conn

    def table_for(self, conn: Connection) -> DJTable:
        """Reflect once per backend (NotAQueueStore when the table is absent)."""
        if self._dj is None:
            from jobctl.backends.delayed_job.schema import reflect

            self._dj = reflect(conn, self.target.table)
            self._reader = RowReader(self._dj, self.codec, self.max_handler_bytes)
        return self._dj

    @property
    def dj(self) -> DJTable:
        if self._dj is None:
            with self.read() as conn:
                self.table_for(conn)
        assert self._dj is not None
        return self._dj

    @property
    def table(self) -> Table:
        return self.dj.table

    @property
    def reader(self) -> RowReader:
        self.dj  # noqa: B018 - reflects on first use
        assert self._reader is not None
        return self._reader

    def list_columns(self, **kw: Any) -> list[ColumnElement[Any]]:
        """The list-view select list (see rows.list_columns), built once per shape."""
        key = tuple(sorted(kw.items()))
        cols = self._columns.get(key)
        if cols is None:
            cols = self._columns[key] = list_columns(self.dj, **kw)
        return cols

    def now(self) -> datetime:
        return self._clock()

    def stale_before(self, now: datetime | None = None) -> datetime:
        return (now or self.now()) - self.max_run_time

    def db_time(self, dt: datetime) -> Any:
        self.engine  # noqa: B018 - sets the codec's storage form
        return self.codec.to_db(dt)

    def normalize_filter(self, f: FailureFilter | None) -> FailureFilter:
        return reads.normalize_filter(f)

    def failure_where(self, f: FailureFilter) -> ColumnElement[bool]:
        return reads.failure_where(self, self.dj, f)

    # ------------------------------------------------------------------ lifecycle

    def ping(self) -> PingResult:
        with self.read() as conn:
            t0 = time.perf_counter()
            conn.exec_driver_sql("SELECT 1").scalar()
            latency_ms = (time.perf_counter() - t0) * 1000
            version = overview.server_version(conn)
            try:
                detail = overview.describe(conn, self.table_for(conn))
                detected = True
            except NotAQueueStore as e:
                detail, detected = str(e), False
        return PingResult(url=self.target.masked_url, backend=self.kind, server_version=version,
                          latency_ms=round(latency_ms, 2), format_detected=detected, detail=detail)

    def capabilities(self) -> Capabilities:
        notes = ["workers are inferred from locked_by on unfailed rows: idle workers are invisible",
                 f"stuck = locked longer than max_run_time ({self.max_run_time})"]
        if self._dj is not None and not self._dj.indexed_first("failed_at"):
            notes.append("no index starts with failed_at: `failed` scans the table on big tables")
        if self._dj is not None and not self._dj.has_queue:
            notes.append("old schema without a queue column: every job is in queue (none)")
        return Capabilities(has_workers=True, has_latency=True, has_processed_counter=False,
                            has_live_tail=False, notes=notes)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # ------------------------------------------------------------------ read side

    def queues(self) -> list[Queue]:
        return overview.queues(self)

    def peek(self, queue: str, *, limit: int = 50, offset: int = 0, filter: JobFilter | None = None,
             scan_limit: int = 100_000) -> list[Job]:
        return reads.peek(self, queue, limit=limit, offset=offset, filter=filter, scan_limit=scan_limit)

    def failures(self, filter: FailureFilter | None = None, *, newest_first: bool = True,
                 scan_limit: int | None = None) -> Iterator[Failure]:
        return reads.failures(self, filter, newest_first=newest_first, scan_limit=scan_limit)

    def count_failures(self, filter: FailureFilter | None = None, *, cap: int | None = None) -> tuple[int, bool]:
        return reads.count_failures(self, filter, cap=cap)

    def show(self, id: str) -> Job | Failure:
        return reads.show(self, id)

    def workers(self) -> list[Worker]:
        return overview.workers(self)

    def stats(self) -> Stats:
        return overview.stats(self)

    # ------------------------------------------------------------------ write side and tail (other modules)

    def requeue(self, filter: FailureFilter, *, to_queue: str | None = None, keep: bool = False,
                clear_error: bool = False, dry_run: bool = False,
                progress: Progress | None = None) -> MutationResult:
        from jobctl.backends.delayed_job.write import requeue

        return requeue(self, filter, to_queue=to_queue, keep=keep, clear_error=clear_error, dry_run=dry_run,
                       progress=progress)

    def discard(self, filter: FailureFilter, *, dry_run: bool = False,
                progress: Progress | None = None) -> MutationResult:
        from jobctl.backends.delayed_job.write import discard

        return discard(self, filter, dry_run=dry_run, progress=progress)

    def unlock(self, *, older_than: timedelta | None = None, dry_run: bool = False,
               progress: Progress | None = None, **kwargs: Any) -> MutationResult:
        from jobctl.backends.delayed_job.write import unlock

        return unlock(self, older_than=older_than, dry_run=dry_run, progress=progress, **kwargs)

    def follow(self, *, interval: float = 1.0, stop: Callable[[], bool] | None = None) -> Iterator[Event]:
        from jobctl.backends.delayed_job.follow import follow

        return follow(self, interval=interval, stop=stop)  # type: ignore[no-any-return]
