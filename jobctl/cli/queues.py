"""`jobctl queues`: every queue with its size, head latency and failure count, plus a totals row.

Shared by both backends: Delayed Job queues also fill ready/scheduled/running/stuck/retrying, and
those columns are shown when the backend is delayed_job or any value is known.
"""

from __future__ import annotations

from typing import Any

import typer

from jobctl.cli.common import FormatOpt, backend, examples

_DJ_COLUMNS = (("ready", "READY"), ("scheduled", "SCHEDULED"), ("running", "RUNNING"), ("stuck", "STUCK"),
               ("retrying", "RETRYING"))


def queues(fmt: FormatOpt = "table") -> None:
    """List queues: size, latency (age of the next job, when the payload records its enqueue time),
    failures attributed to the queue; stray lists not registered in the queues set are marked."""
    from jobctl.render.fields import format_duration
    from jobctl.render.output import Column, emit

    b = backend()
    rows = b.queues()
    dj = b.kind == "delayed_job"
    records: list[dict[str, Any]] = []
    for q in rows:
        d = q.to_dict()
        d["failed_shown"] = None if q.failed is None else f"≥{q.failed}" if q.failed_capped else str(q.failed)
        d["note"] = None if q.registered else "not in queues set"
        records.append(d)
    if fmt != "table":
        emit(rows, [], fmt)
        return
    cols = [Column("name", "QUEUE"), Column("size", "SIZE", justify="right")]
    for key, header in _DJ_COLUMNS:
        if dj or any(getattr(q, key) is not None for q in rows):
            cols.append(Column(key, header, justify="right"))
    cols += [Column("latency_s", "LATENCY", format_duration, justify="right"),
             Column("failed_shown", "FAILED", justify="right")]
    if any(not q.registered for q in rows):
        cols.append(Column("note", "NOTE"))
    footer: dict[str, Any] = {"name": f"total ({len(rows)})", "size": sum(q.size for q in rows)}
    for key, _ in _DJ_COLUMNS:
        vals = [getattr(q, key) for q in rows if getattr(q, key) is not None]
        if vals:
            footer[key] = sum(vals)
    known_failed = [q.failed for q in rows if q.failed is not None]
    if known_failed:
        capped = any(q.failed_capped for q in rows)
        footer["failed_shown"] = ("≥" if capped else "") + str(sum(known_failed))
    latencies = [q.latency_s for q in rows if q.latency_s is not None]
    if latencies:
        footer["latency_s"] = max(latencies)
    emit(records, cols, fmt, footer=footer if rows else None, empty_message="no queues")


def register(app: typer.Typer) -> None:
    app.command(
        "queues",
        help="Queues with size, latency (age of the next job where known) and failures; totals row.",
        epilog=examples("jobctl queues", "jobctl -t prod queues -o json"),
    )(queues)
