"""`jobctl workers`: every worker with state (working / idle / stale), current job and counters.

Shared by both backends: Delayed Job workers also fill jobs_held / stuck_jobs, shown when known.
"""

from __future__ import annotations

from typing import Any

import typer

from jobctl.cli.common import FormatOpt, backend, err, examples


def workers(fmt: FormatOpt = "table") -> None:
    """List workers: host, pid, queues, state, the job being run and for how long, counters.

    stale = heartbeat older than the prune interval (Resque: 300 s) or no heartbeat at all: the
    process is probably gone, and a job it shows was lost with it.
    """
    from jobctl.render.fields import format_duration, format_iso_when
    from jobctl.render.output import Column, emit

    rows = backend().workers()
    if fmt != "table":
        emit(rows, [], fmt)
        return
    cols = [Column("id", "WORKER", max_width=40), Column("host", "HOST"), Column("pid", "PID", justify="right"),
            Column("queues", "QUEUES", lambda v: ",".join(v) if isinstance(v, list) else str(v), max_width=30),
            Column("state", "STATE"), Column("job_class", "JOB"),
            Column("running_for_s", "RUNNING FOR", format_duration, justify="right"),
            Column("started_at", "STARTED", format_iso_when),
            Column("heartbeat_at", "HEARTBEAT", format_iso_when)]
    if any(w.processed is not None for w in rows):
        cols.append(Column("processed", "PROCESSED", justify="right"))
    if any(w.failed is not None for w in rows):
        cols.append(Column("failed", "FAILED", justify="right"))
    if any(w.jobs_held is not None for w in rows):
        cols.append(Column("jobs_held", "HELD", justify="right"))
    if any(w.stuck_jobs is not None for w in rows):
        cols.append(Column("stuck_jobs", "STUCK", justify="right"))

    def style(d: dict[str, Any]) -> str | None:
        return {"stale": "red", "working": "green"}.get(str(d.get("state")))

    emit(rows, cols, fmt, row_style=style, empty_message="no workers registered")
    counts: dict[str, int] = {}
    for w in rows:
        counts[w.state] = counts.get(w.state, 0) + 1
    if rows:
        err(f"{len(rows)} worker(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))


def register(app: typer.Typer) -> None:
    app.command(
        "workers",
        help="Workers: state (working / idle / stale), current job and running time, counters.",
        epilog=examples("jobctl workers", "jobctl workers -o json"),
    )(workers)
