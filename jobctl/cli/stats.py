"""`jobctl stats`: the headline numbers of a target plus server facts.

Resque shows both the lifetime failure *counter* (`stat:failed`) and the failures actually
*stored*: they differ in real data (a DirtyExit failure is stored without bumping the counter;
a failure whose record could not be encoded bumps it without being stored).
"""

from __future__ import annotations

from typing import Any

import typer

from jobctl.cli.common import FormatOpt, backend, examples


def _rows(s: Any) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("backend", s.backend), ("pending", s.pending), ("queues", s.queues),
                                   ("workers", s.workers), ("working", s.working)]
    if s.processed is not None:
        rows.append(("processed (counter)", s.processed))
    if s.failed_counter is not None:
        rows.append(("failed (counter)", s.failed_counter))
    if s.failed_stored is not None:
        stored = f"{'≥' if s.failed_stored_capped else ''}{s.failed_stored}"
        if s.failed_counter is not None and s.failed_counter != s.failed_stored:
            stored += f"  (differs from the counter by {s.failed_stored - s.failed_counter:+d})"
        rows.append(("failed (stored)", stored))
    for name in ("ready", "scheduled", "running", "retrying", "stuck"):
        value = getattr(s, name, None)
        if value is not None:
            rows.append((name, value))
    for k, v in s.server.items():
        if v is not None:
            rows.append((f"server: {k.replace('_', ' ')}", v))
    return rows


def stats(fmt: FormatOpt = "table") -> None:
    """Pending, processed and failed counts, queues, workers; server version, memory, clients."""
    from rich.table import Table
    from rich.text import Text

    from jobctl.render.output import emit_one, make_console
    from jobctl.safe import visible

    s = backend().stats()
    if fmt != "table":
        emit_one(s, fmt)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("stat", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in _rows(s):
        table.add_row(Text(name), Text(visible(value)))
    make_console().print(table)


def register(app: typer.Typer) -> None:
    app.command(
        "stats",
        help="Headline numbers: pending, processed, failed (counter and stored), workers; server facts.",
        epilog=examples("jobctl stats", "jobctl stats -o json"),
    )(stats)
