"""`jobctl status [UUID]`: resque-status entries (progress of long jobs), newest first, or one in full.

Resque only; a Delayed Job target raises Unsupported.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobctl.cli.common import FormatOpt, LimitOpt, backend, err, examples

STATES = ("queued", "working", "completed", "failed", "killed", "expired", "bad")


def _require(b: Any, method: str) -> Any:
    from jobctl.errors import Unsupported

    fn = getattr(b, method, None)
    if fn is None:
        raise Unsupported(f"`jobctl status` reads resque-status entries; a {b.kind} target has none")
    return fn


def status(
    uuid: Annotated[str | None, typer.Argument(help="One status by its uuid (32 hex digits).")] = None,
    limit: LimitOpt = 50,
    state: Annotated[list[str] | None, typer.Option("--state", "-s", help=f"Only these states: {', '.join(STATES)} (repeatable).")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """List resque-status entries newest first (status, progress, message), or show one by UUID."""
    from jobctl.errors import UsageError
    from jobctl.render.fields import format_duration, format_iso_when
    from jobctl.render.output import Column, emit, emit_one

    b = backend()
    if uuid is not None:
        rec = _require(b, "status")(uuid.strip())
        emit_one(rec, fmt)
        return
    for s in state or ():
        if s not in STATES:
            raise UsageError(f"--state {s!r}: use one of {', '.join(STATES)}")
    rows, total = _require(b, "statuses")(limit=limit, states=tuple(state or ()))
    if fmt != "table":
        emit(rows, [], fmt)
        return
    cols = [Column("uuid", "UUID", no_wrap=True), Column("status", "STATUS"), Column("name", "NAME", max_width=50),
            Column("pct", "DONE %", justify="right"), Column("num", "NUM", justify="right"),
            Column("total", "TOTAL", justify="right"), Column("message", "MESSAGE", max_width=50),
            Column("time", "CREATED", format_iso_when), Column("age_s", "AGE", format_duration, justify="right"),
            Column("kill_requested", "KILL", lambda v: "requested" if v else "")]
    style = {"failed": "red", "killed": "red", "bad": "red", "working": "green", "expired": "dim"}
    emit(rows, cols, fmt, row_style=lambda d: style.get(str(d.get("status"))),
         empty_message="no resque-status entries")
    if total > len(rows) and not state:
        err(f"{total} entries in {b.keys.statuses if hasattr(b, 'keys') else 'the index'}; showing the newest {len(rows)}")


def register(app: typer.Typer) -> None:
    app.command(
        "status",
        help="resque-status entries (progress of long jobs), newest first, or one by UUID.",
        epilog=examples("jobctl status", "jobctl status --state failed --state killed",
                        "jobctl status 4f9b2c1e8d7a6b5c4d3e2f1a0b9c8d7e -o json"),
    )(status)
