"""`jobctl peek QUEUE`: the next jobs in the order workers will take them (position 0 = next).

Shared by both backends. Resque: class (ActiveJob unwrapped), args, job_id, enqueued_at,
executions. Delayed Job also fills state/priority/attempts/run_at; those columns show when the
backend is delayed_job or any row has a value. Unparseable entries are shown as BAD rows.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobctl.cli.common import FormatOpt, LimitOpt, backend, err, examples


def _columns(jobs: list[Any], dj: bool) -> list[Any]:
    from jobctl.render.fields import format_iso_when, short_args
    from jobctl.render.output import Column

    def has(attr: str) -> bool:
        return dj or any(getattr(j, attr) is not None for j in jobs)

    cols = [Column("position", "POS", justify="right"), Column("label", "CLASS")]
    if dj or any(j.state not in ("ready", "bad") for j in jobs):
        cols.append(Column("state", "STATE"))
    cols.append(Column("args", "ARGS", short_args, max_width=70))
    if dj or has("priority"):
        cols.append(Column("priority", "PRI", justify="right"))
    if has("attempts"):
        cols.append(Column("attempts", "ATTEMPTS" if dj else "EXECS", justify="right"))
    if dj or has("run_at"):
        cols.append(Column("run_at", "RUN AT", format_iso_when))
    if has("enqueued_at"):
        cols.append(Column("enqueued_at", "ENQUEUED", format_iso_when))
    if has("job_id"):
        cols.append(Column("job_id", "JOB ID"))
    if any(j.parse_error for j in jobs):
        cols.append(Column("problem", "PROBLEM", max_width=60))
    return cols


def peek(
    queue: Annotated[str, typer.Argument(help="Queue name (as listed by `jobctl queues`).")],
    limit: LimitOpt = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Start at this position (0 = next to run).")] = 0,
    klass: Annotated[list[str] | None, typer.Option("--class", "-c", help="Only this job class or display name; globs * ? allowed (repeatable).")] = None,
    grep: Annotated[str | None, typer.Option("--grep", "-g", help="Only jobs whose stored text matches this regex.")] = None,
    state: Annotated[list[str] | None, typer.Option("--state", help="Only jobs in this state (Delayed Job: ready, scheduled, running, stuck, retrying, failed; repeatable).")] = None,
    scan_limit: Annotated[int, typer.Option("--scan-limit", min=1, help="With --class/--grep/--state: read at most this many entries.")] = 100_000,
    raw: Annotated[bool, typer.Option("--raw", help="Print the exact stored strings, one per line (control characters escaped).")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Show the next jobs of QUEUE in the order workers will run them, without taking them.

    Work on the server is O(limit) whatever the queue length; with filters, entries are read in
    windows from --offset until --limit matches or --scan-limit entries were read.
    """
    import re

    from jobctl.errors import UsageError
    from jobctl.model import JOB_STATES, JobFilter
    from jobctl.render.fields import display_class, job_label
    from jobctl.render.output import emit
    from jobctl.safe import visible

    if grep is not None:
        try:
            re.compile(grep)
        except re.error as e:
            raise UsageError(f"--grep: invalid regex {grep!r}: {e}") from None
    for s in state or ():
        if s not in JOB_STATES:
            raise UsageError(f"--state {s!r}: use one of {', '.join(JOB_STATES)}")
    flt = JobFilter(classes=tuple(klass or ()), grep=grep, states=tuple(state or ()))
    b = backend()
    jobs = b.peek(queue, limit=limit, offset=offset, filter=None if flt.is_empty() else flt, scan_limit=scan_limit)
    note = getattr(b, "last_scan", None)
    if note is not None and getattr(note, "capped", False):
        err(f"note: stopped after reading {note.scanned} entries (--scan-limit); more matches may follow")
    if raw and fmt == "table":
        for j in jobs:
            print(visible(j.raw if j.raw is not None else ""))
        return
    if fmt != "table":
        emit(jobs, [], fmt)
        return
    records = []
    for j in jobs:
        d = j.to_dict()
        d["label"] = job_label(display_class(b.kind, j.name, j.job_class), j.parse_error)
        d["problem"] = j.parse_error
        if j.parse_error and j.raw is not None:
            d["args"] = j.raw[:60]
        records.append(d)

    def style(d: dict[str, Any]) -> str | None:
        return "red" if d.get("parse_error") else None

    emit(records, _columns(jobs, b.kind == "delayed_job"), fmt, row_style=style,
         empty_message=f"queue {queue} has no jobs at position {offset} or later" if flt.is_empty()
         else "no matching jobs")


def register(app: typer.Typer) -> None:
    app.command(
        "peek",
        help="The next jobs of a queue, in the order workers will take them (nothing is removed).",
        epilog=examples("jobctl peek low --limit 50", "jobctl peek low --offset 1000 --limit 20 -o json",
                        "jobctl peek mailers --class 'UserMailer#*'", "jobctl peek low --grep 'user_id\":42' --raw"),
    )(peek)
