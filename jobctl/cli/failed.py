"""`jobctl failed`: failed jobs, newest first, filtered by the shared FailureFilter options;
`--group-by` for triage counts. Shared by both backends (only Backend protocol calls).

The filter options are the same ones `requeue`/`discard` take, so a listing here is exactly the set
those commands would act on.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobctl.cli.common import (
    ClassFOpt,
    ErrorFOpt,
    ExceptionFOpt,
    FormatOpt,
    IdFOpt,
    QueueFOpt,
    RetriedFOpt,
    SinceFOpt,
    UntilFOpt,
    backend,
    build_failure_filter,
    err,
    examples,
)

DEFAULT_SCAN_LIMIT = 1_000_000


def _columns(rows: list[Any]) -> list[Any]:
    from jobctl.render.fields import first_line, format_iso_when
    from jobctl.render.output import Column

    cols = [Column("id", "ID", no_wrap=True), Column("failed_at", "FAILED AT", format_iso_when, no_wrap=True),
            Column("queue", "QUEUE"), Column("label", "CLASS"), Column("exception", "EXCEPTION"),
            Column("error", "ERROR", lambda v: first_line(v, 100), max_width=60),
            Column("worker", "WORKER")]
    if any(r.get("retried_at") for r in rows):
        cols.append(Column("retried_at", "RETRIED AT", format_iso_when))
    if any(r.get("attempts") is not None for r in rows):
        cols.append(Column("attempts", "ATTEMPTS", justify="right"))
    return cols


def _group_columns(keys: list[str]) -> list[Any]:
    from jobctl.render.fields import format_iso_when
    from jobctl.render.output import Column

    header = {"class": "CLASS", "exception": "EXCEPTION", "queue": "QUEUE", "error": "ERROR", "worker": "WORKER"}
    return [*(Column(k, header.get(k, k.upper())) for k in keys), Column("count", "COUNT", justify="right"),
            Column("newest", "NEWEST", format_iso_when), Column("oldest", "OLDEST", format_iso_when)]


def failed(
    queue: QueueFOpt = None,
    klass: ClassFOpt = None,
    exception: ExceptionFOpt = None,
    error: ErrorFOpt = None,
    since: SinceFOpt = None,
    until: UntilFOpt = None,
    retried: RetriedFOpt = None,
    ids: IdFOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="At most this many rows (0 = all). Ignored by --group-by and --count.")] = 50,
    oldest_first: Annotated[bool, typer.Option("--oldest-first", help="Oldest failures first (default: newest first).")] = False,
    group_by: Annotated[str | None, typer.Option("--group-by", "-g", help="Counts per class, exception, queue, error or worker; combine with commas: class,exception.")] = None,
    count_only: Annotated[bool, typer.Option("--count", help="Print only the number of matching failures.")] = False,
    scan_limit: Annotated[int, typer.Option("--scan-limit", min=0, help="Read at most this many stored failures (0 = no limit).")] = DEFAULT_SCAN_LIMIT,
    fmt: FormatOpt = "table",
) -> None:
    """List failed jobs (newest first) with a stable id, time, queue, class, exception and error.

    Filters combine with AND; repeated options of one kind combine with OR. Ids stay valid when
    other failures are added or removed; use them with `jobctl show`, `requeue --id`, `discard --id`.
    """
    from jobctl.errors import UsageError
    from jobctl.model import group_failures
    from jobctl.render.output import emit

    flt = build_failure_filter(queue=queue, klass=klass, exception=exception, error=error, since=since,
                               until=until, retried=retried, ids=ids)
    b = backend()
    bound = scan_limit or None
    if count_only:
        if flt.is_empty():
            n, capped = b.count_failures(None)
        else:
            n = sum(1 for _ in b.failures(flt, scan_limit=bound))
            capped = _capped(b)
        if fmt == "table":
            print(f"{'≥' if capped else ''}{n}")
        else:
            emit([{"count": n, "capped": capped}], [], fmt)
        return
    if group_by:
        keys = [k.strip() for k in group_by.split(",") if k.strip()]
        grouper = getattr(b, "failure_groups", None)  # a backend may group natively (faster)
        try:
            if grouper is not None:
                groups = grouper(flt, group_by, newest_first=not oldest_first, scan_limit=bound)
            else:
                groups = group_failures(b.failures(flt, newest_first=not oldest_first, scan_limit=bound), group_by)
        except ValueError as e:
            raise UsageError(f"--group-by: {e}") from None
        emit(groups, _group_columns(keys), fmt, empty_message="no matching failures")
        _note_capped(b)
        return
    flt.limit = limit or None
    stream = b.failures(flt, newest_first=not oldest_first, scan_limit=bound)
    if fmt == "table":
        rows = [_row(f, b.kind) for f in stream]
        emit(rows, _columns(rows), fmt, empty_message="no matching failures",
             row_style=lambda d: "red" if d.get("parse_error") else ("dim" if d.get("retried_at") else None))
        if limit and len(rows) >= limit:
            err(f"showing the {'oldest' if oldest_first else 'newest'} {len(rows)}; more may match "
                "(--limit 0 for all, --count to count)")
    else:
        emit(stream, [], fmt)
    _note_capped(b)


def _row(f: Any, kind: str) -> dict[str, Any]:
    from jobctl.render.fields import display_class, job_label

    d = f.to_dict()
    d["label"] = job_label(display_class(kind, f.name, f.job_class), f.parse_error)
    if f.parse_error:
        d["error"] = f"{f.parse_error}: {f.raw or ''}"
    return d


def _capped(b: Any) -> bool:
    note = getattr(b, "last_scan", None)
    return bool(note is not None and getattr(note, "capped", False))


def _note_capped(b: Any) -> None:
    if _capped(b):
        err(f"note: stopped after reading {b.last_scan.scanned} stored failures (--scan-limit); "
            "results and counts are lower bounds")


def register(app: typer.Typer) -> None:
    app.command(
        "failed",
        help="Failed jobs, newest first, with stable ids; filter and group them for triage.",
        epilog=examples("jobctl failed", "jobctl failed --group-by exception",
                        "jobctl failed --class 'Billing::*' --error 'Timeout' --since 2h",
                        "jobctl failed --queue toxic --not-retried -o jsonl",
                        "jobctl failed --group-by class,exception --since 1d"),
    )(failed)
