"""`jobctl show ID`: one failure (stable id) or job (`QUEUE@POSITION`, Delayed Job row id) in full.

Args as indented, syntax-highlighted JSON; the full error and backtrace; where the entry lives
and its stored size. Every piece of stored text goes through `safe.visible()` (control, bidi and
zero-width characters are shown as escapes). `-o json` gives the record itself.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobctl.cli.common import FormatOpt, backend, examples


def _fields(rec: Any) -> list[tuple[str, Any]]:
    from jobctl.model import Failure
    from jobctl.render.fields import format_bytes, format_when

    if isinstance(rec, Failure):
        return [
            ("id", rec.id), ("class", rec.name), ("queue", rec.queue), ("failed at", format_when(rec.failed_at)),
            ("exception", rec.exception), ("worker", rec.worker),
            ("retried at", format_when(rec.retried_at) if rec.retried_at else None),
            ("attempts", rec.attempts), ("job id", rec.job_id), ("location", rec.location),
            ("size", format_bytes(rec.size)), ("problem", rec.parse_error),
        ]
    return [
        ("id", rec.id), ("class", rec.name), ("job class", rec.job_class if rec.job_class != rec.name else None),
        ("wrapper", rec.wrapper), ("queue", rec.queue), ("position", rec.position), ("state", rec.state),
        ("job id", rec.job_id), ("enqueued at", format_when(rec.enqueued_at) if rec.enqueued_at else None),
        ("run at", format_when(rec.run_at) if rec.run_at else None),
        ("created at", format_when(rec.created_at) if rec.created_at else None),
        ("attempts", rec.attempts), ("priority", rec.priority), ("locked by", rec.locked_by),
        ("locked at", format_when(rec.locked_at) if rec.locked_at else None),
        ("location", rec.extra.get("key")), ("size", format_bytes(rec.size)), ("problem", rec.parse_error),
    ]


def _section(console: Any, title: str) -> None:
    from rich.text import Text

    console.print(Text(f"\n{title}", style="bold"))


LARGE_BLOCK = 200_000  # characters: bigger blocks print plain (highlighting 10 MB of JSON takes ~10 s)


def _plain(console: Any, text: str, *, soft_wrap: bool = False) -> None:
    """Already-`visible()` text as plain Text; huge texts straight to the stream (Rich's wrapping of
    a 10 MB error message or a 100,000-frame backtrace takes minutes)."""
    from rich.text import Text

    if len(text) > LARGE_BLOCK:
        console.file.write(text + "\n")
    else:
        console.print(Text(text), soft_wrap=soft_wrap)


def _json_block(console: Any, value: Any) -> None:
    from rich.syntax import Syntax

    from jobctl.render.fields import pretty_json
    from jobctl.safe import visible

    text = visible(pretty_json(value), keep_newlines=True)
    if len(text) > LARGE_BLOCK:
        console.file.write(text + "\n")  # whole and already safe, just not highlighted or wrapped
        return
    console.print(Syntax(text, "json", theme="ansi_dark", word_wrap=True, background_color="default"))


def show(
    ident: Annotated[str, typer.Argument(metavar="ID", help="Failure id (from `jobctl failed`), QUEUE@POSITION (from `jobctl peek`), KEY[INDEX] (Resque) or a Delayed Job row id.")],
    raw: Annotated[bool, typer.Option("--raw", help="Also print the exact stored text.")] = False,
    fmt: FormatOpt = "table",
) -> None:
    """Show one failure or job in full: args, error, backtrace, where it is stored, its size."""
    from rich.table import Table
    from rich.text import Text

    from jobctl.model import Failure
    from jobctl.render.output import emit_one, make_console
    from jobctl.safe import visible

    rec = backend().show(ident)
    if fmt != "table":
        emit_one(rec, fmt)
        return
    console = make_console()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for name, value in _fields(rec):
        if value is None or value == "":
            continue
        table.add_row(Text(name), Text(visible(value, max_len=2000), style="red" if name == "problem" else ""))
    console.print(table)
    if isinstance(rec, Failure) and rec.error_full:
        _section(console, "error")
        _plain(console, visible(rec.error_full, keep_newlines=True))
    elif not isinstance(rec, Failure) and rec.last_error:
        _section(console, "last error")
        _plain(console, visible(rec.last_error, keep_newlines=True))
    _section(console, f"args ({len(rec.args)})")
    _json_block(console, rec.args)
    extra = {k: v for k, v in rec.extra.items() if k not in ("key", "failed_at_raw", "retried_at_raw")}
    if extra:
        _section(console, "other fields")
        _json_block(console, extra)
    if isinstance(rec, Failure):
        _section(console, f"backtrace ({len(rec.backtrace)} frames)")
        if rec.backtrace:
            _plain(console, "\n".join("  " + visible(frame) for frame in rec.backtrace))
    if raw and rec.raw is not None:
        _section(console, "stored text")
        _plain(console, visible(rec.raw), soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(
        "show",
        help="One failure or job in full: args, error, backtrace, location, size.",
        epilog=examples("jobctl show 3f9a1c2b7d4e", "jobctl show low@0 --raw", "jobctl show 3f9a1c2b7d4e -o json"),
    )(show)
