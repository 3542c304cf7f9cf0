"""Rows of the DJ table -> `Job` / `Failure`, reading as little of each row as possible.

List views never select whole handlers or whole `last_error`s: they select the length and a
prefix (``SUBSTR``). When the prefix holds the whole text it is parsed directly; otherwise that
one row's full text is fetched on demand, up to ``max_handler_bytes`` (target option, default
1 MB) - bigger handlers are named from their prefix with DJ's own fallback rule and carry a
`parse_error` saying why. Backtraces in list views may be cut (``extra.backtrace_truncated``);
`show` reads everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobctl.backends.delayed_job.dbtime import TimeCodec
from jobctl.backends.delayed_job.schema import DJTable
from jobctl.backends.delayed_job.states import state_of
from jobctl.model import Failure, Job
from jobctl.parse.dj_error import parse_last_error

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row
    from sqlalchemy.sql.elements import ColumnElement

    from jobctl.parse.dj_handler import Handler

HANDLER_HEAD = 8192  # characters of handler read by list views
ERROR_HEAD_LIST = 512  # characters of last_error for job lists (first line + DJ's fallback check)
ERROR_HEAD_FAILURES = 4096  # characters of last_error for failure lists (message + first frames)
DEFAULT_MAX_HANDLER_BYTES = 1_000_000


def char_length(t: DJTable, column: ColumnElement[Any]) -> ColumnElement[Any]:
    from sqlalchemy import func

    return func.length(column) if t.dialect == "sqlite" else func.char_length(column)


def byte_length(t: DJTable, column: ColumnElement[Any]) -> ColumnElement[Any]:
    from sqlalchemy import LargeBinary, cast, func

    if t.dialect == "sqlite":
        return func.length(cast(column, LargeBinary))
    if t.dialect == "postgresql":
        return func.octet_length(column)
    return func.length(column)  # MySQL LENGTH() counts bytes


def list_columns(t: DJTable, *, error_head: int = ERROR_HEAD_LIST,
                 handler_head: int = HANDLER_HEAD) -> list[ColumnElement[Any]]:
    """The select list of every list view: metadata, lengths and prefixes (never whole texts)."""
    from sqlalchemy import func

    c = t.table.c
    cols: list[ColumnElement[Any]] = [
        c.id.label("id"), t.int_col("priority").label("priority"), t.int_col("attempts").label("attempts"),
        t.col("queue").label("queue"), c.run_at.label("run_at"), c.locked_at.label("locked_at"),
        t.col("locked_by").label("locked_by"), c.failed_at.label("failed_at"),
        t.col("created_at").label("created_at"),
        char_length(t, c.handler).label("handler_chars"), byte_length(t, c.handler).label("handler_bytes"),
        func.substr(c.handler, 1, handler_head).label("handler_head"),
    ]
    if t.has("last_error"):
        cols += [char_length(t, c.last_error).label("error_chars"),
                 func.substr(c.last_error, 1, error_head).label("error_head")]
    else:
        cols += [t.col("last_error").label("error_chars"), t.col("last_error").label("error_head")]
    return cols


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


@dataclass(slots=True)
class RowReader:
    """Turns selected rows into model objects for one table (shared by reads, writes and follow)."""

    t: DJTable
    codec: TimeCodec
    max_handler_bytes: int = DEFAULT_MAX_HANDLER_BYTES

    # ------------------------------------------------------------------ on-demand full texts

    def _fetch_text(self, conn: Connection, column: str, row_id: Any) -> str | None:
        from sqlalchemy import select

        c = self.t.table.c
        return _text(conn.execute(select(c[column]).where(c.id == row_id)).scalar())

    def handler_text(self, conn: Connection | None, row: Row[Any]) -> tuple[str, bool]:
        """(handler text, complete?) - the prefix, or the whole handler fetched when it fits the cap."""
        head = _text(row.handler_head) or ""
        chars = row.handler_chars or 0
        if chars <= len(head):
            return head, True
        if conn is not None and (row.handler_bytes or chars) <= self.max_handler_bytes:
            full = self._fetch_text(conn, "handler", row.id)
            if full is not None:
                return full, True
        return head, False

    def error_text(self, conn: Connection | None, row: Row[Any]) -> tuple[str | None, bool]:
        """(last_error text or prefix, complete?)."""
        head = _text(row.error_head)
        if head is None:
            return None, True
        chars = row.error_chars or 0
        if chars <= len(head):
            return head, True
        if conn is not None and chars <= self.max_handler_bytes and "\n" not in head:
            full = self._fetch_text(conn, "last_error", row.id)  # message alone exceeds the prefix
            if full is not None:
                return full, True
        return head[: head.rfind("\n") + 1] if "\n" in head else head, False

    # ------------------------------------------------------------------ parsing

    def handler(self, text: str, complete: bool, total_bytes: int, last_error: str | None) -> Handler:
        from jobctl.parse.dj_handler import dj_fallback_name, parse_handler

        if complete:
            return parse_handler(text, max_bytes=self.max_handler_bytes, last_error=last_error)
        from jobctl.parse.dj_handler import Handler

        name = dj_fallback_name(text) or "(unparseable)"
        return Handler(name=name, job_class=name,
                       parse_error=f"handler is {total_bytes} bytes, over the {self.max_handler_bytes}-byte "
                                   "parse cap (max_handler_bytes); named from its first Ruby tag")

    def time_problem(self, row: Row[Any], **decoded: datetime | None) -> str | None:
        """A stored datetime that could not be read (SQLite text can be anything): say which, so the
        row is marked instead of silently showing "-" (e.g. a failed row with failed_at = 'garbage')."""
        for column, value in decoded.items():
            stored = getattr(row, column, None)
            if value is None and stored is not None:
                return f"unreadable {column} {str(stored)[:40]!r}"
        return None

    def _common(self, h: Handler) -> dict[str, Any]:
        extra: dict[str, Any] = {"kind": h.kind}
        if h.name_note:
            extra["name_note"] = h.name_note
        if h.executions is not None:
            extra["executions"] = h.executions
        if h.queue_name is not None:
            extra["job_queue_name"] = h.queue_name
        return extra

    def job(self, conn: Connection | None, row: Row[Any], *, now: datetime, stale_before: datetime,
            position: int | None = None) -> Job:
        """A list-view row (see `list_columns`) -> Job."""
        text, complete = self.handler_text(conn, row)
        err = _text(row.error_head)
        h = self.handler(text, complete, row.handler_bytes or 0, err)
        run_at = self.codec.from_db(row.run_at)
        locked_at = self.codec.from_db(row.locked_at)
        failed_at = self.codec.from_db(row.failed_at)
        created_at = self.codec.from_db(row.created_at)
        state = state_of(failed_at=failed_at, locked_at=locked_at, attempts=row.attempts, run_at=run_at,
                         now=now, stale_before=stale_before)
        extra = self._common(h)
        if not complete:
            extra["handler_truncated"] = True
        if failed_at is not None:
            extra["failed_at"] = failed_at
        return Job(
            id=str(row.id), queue=row.queue, position=position, job_class=h.job_class, name=h.name,
            args=h.args, state=state, wrapper=h.wrapper, job_id=h.job_id,
            enqueued_at=h.enqueued_at or created_at, run_at=run_at, created_at=created_at,
            attempts=row.attempts if row.attempts is not None else 0,
            priority=row.priority if row.priority is not None else 0,
            locked_by=row.locked_by, locked_at=locked_at,
            last_error=err.split("\n", 1)[0] if err else None, size=int(row.handler_bytes or 0),
            parse_error=h.parse_error or self.time_problem(row, run_at=run_at, locked_at=locked_at, failed_at=failed_at),
            raw=text, extra=extra,
        )

    def failure(self, conn: Connection | None, row: Row[Any], *, error: tuple[str | None, bool] | None = None) -> Failure:
        """A list-view row of a failed job -> Failure (error class/message from last_error)."""
        text, complete = self.handler_text(conn, row)
        err_text, err_complete = error if error is not None else self.error_text(conn, row)
        h = self.handler(text, complete, row.handler_bytes or 0, err_text)
        parsed = parse_last_error(err_text)
        extra = self._common(h)
        extra["run_at"] = self.codec.from_db(row.run_at)
        extra["created_at"] = self.codec.from_db(row.created_at)
        extra["priority"] = row.priority if row.priority is not None else 0
        extra["locked_at"] = self.codec.from_db(row.locked_at)
        if not complete:
            extra["handler_truncated"] = True
        if not err_complete:
            extra["backtrace_truncated"] = True
        failed_at = self.codec.from_db(row.failed_at)
        return Failure(
            id=str(row.id), failed_at=failed_at, queue=row.queue,
            job_class=h.job_class, name=h.name,
            exception=parsed.exception if parsed else None, error=parsed.message if parsed else None,
            args=h.args, error_full=parsed.message_full if parsed else None,
            backtrace=parsed.backtrace if parsed else [], worker=row.locked_by, retried_at=None,
            attempts=row.attempts if row.attempts is not None else 0, job_id=h.job_id,
            location=f"{self.t.label()}#{row.id}", size=int(row.handler_bytes or 0),
            parse_error=h.parse_error or self.time_problem(row, failed_at=failed_at, run_at=extra["run_at"],
                                                           locked_at=extra["locked_at"]),
            raw=text, extra=extra,
        )
