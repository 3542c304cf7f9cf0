"""`jobctl scheduled`: resque-scheduler's delayed schedule (due times, job counts, the jobs).

Resque only (Delayed Job keeps future jobs in its table: `jobctl peek QUEUE --state scheduled`).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobctl.cli.common import FormatOpt, LimitOpt, backend, err, examples


def _require(b: Any, method: str) -> Any:
    from jobctl.errors import Unsupported

    fn = getattr(b, method, None)
    if fn is None:
        raise Unsupported(
            f"`jobctl scheduled` reads resque-scheduler's delayed schedule; a {b.kind} target has none "
            "(Delayed Job: use `jobctl peek QUEUE --state scheduled`)"
        )
    return fn


def scheduled(
    limit: LimitOpt = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many due times (soonest first).")] = 0,
    jobs: Annotated[bool, typer.Option("--jobs", "-j", help="List the delayed jobs themselves (soonest first).")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """resque-scheduler's delayed jobs: due times (soonest first) with job counts and queues; --jobs
    lists the jobs."""
    from jobctl.render.fields import format_iso_when, job_label, short_args
    from jobctl.render.output import Column, emit

    b = backend()
    if jobs:
        rows = _require(b, "scheduled_jobs")(limit=limit, offset=offset)
        if fmt != "table":
            emit(rows, [], fmt)
            return
        records = []
        for j in rows:
            d = j.to_dict()
            d["label"] = job_label(j.name, j.parse_error)
            records.append(d)
        cols = [Column("run_at", "DUE", format_iso_when), Column("queue", "QUEUE"), Column("label", "CLASS"),
                Column("args", "ARGS", short_args, max_width=70), Column("id", "WHERE")]
        emit(records, cols, fmt, empty_message="no delayed jobs")
        return
    slots, total = _require(b, "scheduled_slots")(limit=limit, offset=offset)
    if fmt != "table":
        emit(slots, [], fmt)
        return
    cols = [Column("due_at", "DUE", format_iso_when), Column("in_s", "IN", _in, justify="right"),
            Column("jobs", "JOBS", justify="right"),
            Column("queues", "QUEUES (first 20 jobs)", lambda v: ", ".join(f"{q}×{n}" for q, n in v.items())),
            Column("key", "KEY")]
    emit(slots, cols, fmt, empty_message="no delayed jobs (resque-scheduler's schedule is empty or unused)")
    if total > offset + len(slots):
        err(f"{total} due times in all; showing {len(slots)} from {offset} (--limit/--offset)")


def _in(seconds: Any) -> str:
    from jobctl.render.fields import format_duration

    s = float(seconds)
    return f"overdue {format_duration(-s)}" if s < 0 else format_duration(s)


def register(app: typer.Typer) -> None:
    app.command(
        "scheduled",
        help="resque-scheduler's delayed jobs: due times, counts, and the jobs (--jobs).",
        epilog=examples("jobctl scheduled", "jobctl scheduled --jobs --limit 20", "jobctl scheduled -o json"),
    )(scheduled)
