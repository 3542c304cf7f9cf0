"""What every command module shares: global options, opening the backend, shared option types.

Command modules stay thin: parse options, build a filter, call the backend, hand the model objects
to `jobctl.render`. Heavy libraries are imported inside command bodies only.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from jobctl.errors import UsageError

if TYPE_CHECKING:
    from jobctl.backends.base import Backend
    from jobctl.model import FailureFilter
    from jobctl.targets import Target


# Every command, classified for read-only mode (--read-only, JOBCTL_READ_ONLY=1, read_only = true).
# tests/test_read_only.py enumerates the Typer app and fails on a command found in none of these sets.
MUTATING = frozenset({"requeue", "discard", "unlock"})  # change queue state: refused on read-only targets
LOCAL_WRITES = frozenset({"demo"})  # writes only its own demo database file, never a --url/--target store
READS = frozenset({"targets", "ping", "queues", "peek", "failed", "show", "workers", "stats", "scheduled", "status",
                   "tail", "alert", "metrics", "top"})  # never write to the store (top's r/d keys: tui.keymap)


@dataclass
class GlobalOptions:
    url: str | None = None
    target: str | None = None
    namespace: str | None = None
    table: str | None = None
    read_only: bool = False
    trace: bool = False
    debug: bool = False
    dj_options: dict[str, Any] = field(default_factory=dict)  # --max-run-time / --db-timezone -> Target.options
    _backend: Any = field(default=None, repr=False)


STATE = GlobalOptions()  # set by the root callback; one process = one command


def resolve() -> Target:
    from jobctl.targets import load_config, print_config_warnings, resolve_target

    cfg = None
    if STATE.url is None:
        cfg = load_config()
        print_config_warnings(cfg)
    tgt = resolve_target(url=STATE.url, target=STATE.target, namespace=STATE.namespace,
                         table=STATE.table, read_only=STATE.read_only or None, config=cfg)
    tgt.options.update(STATE.dj_options)  # command-line values beat the config file's
    return tgt


def backend() -> Backend:
    """The backend for this invocation (opened once, closed at exit by `main`)."""
    if STATE._backend is None:
        from jobctl.backends import open_backend

        STATE._backend = open_backend(resolve())
    return STATE._backend  # type: ignore[no-any-return]


def close_backend() -> None:
    b = STATE._backend
    STATE._backend = None
    if b is not None:
        try:
            b.close()
        except Exception:  # noqa: BLE001 - closing must never mask the command's own result
            pass


def check_format(fmt: str) -> str:
    from jobctl.render.output import FORMATS

    if fmt not in FORMATS:
        raise typer.BadParameter(f"{fmt!r} is not one of {', '.join(FORMATS)}", param_hint="--format/-o")
    return fmt


FormatOpt = Annotated[
    str,
    typer.Option("--format", "-o", help="Output: table, json (one array), jsonl (one object per line), csv.",
                 callback=check_format, show_default=True),
]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=0, help="At most this many rows.")]


# ---- failure filter options shared by failed / requeue / discard / alert (same set by construction)
QueueFOpt = Annotated[list[str] | None, typer.Option("--queue", "-q", help="Only failures from this queue (repeatable).")]
ClassFOpt = Annotated[list[str] | None, typer.Option("--class", "-c", help="Job class or display name; globs * ? allowed (repeatable).")]
ExceptionFOpt = Annotated[list[str] | None, typer.Option("--exception", "-e", help="Exception class, e.g. Timeout::Error (repeatable).")]
ErrorFOpt = Annotated[str | None, typer.Option("--error", help="Regex searched in the full error message.")]
SinceFOpt = Annotated[str | None, typer.Option("--since", help="Failed at or after: a duration ago (2h, 30m, 1d) or ISO time.")]
UntilFOpt = Annotated[str | None, typer.Option("--until", help="Failed at or before: a duration ago or ISO time.")]
RetriedFOpt = Annotated[bool | None, typer.Option("--retried/--not-retried", help="Only entries already retried (or not).")]
IdFOpt = Annotated[list[str] | None, typer.Option("--id", help="Exact failure id(s) as shown by `jobctl failed` (repeatable).")]


def build_failure_filter(
    *, queue: list[str] | None = None, klass: list[str] | None = None, exception: list[str] | None = None,
    error: str | None = None, since: str | None = None, until: str | None = None,
    retried: bool | None = None, ids: list[str] | None = None, limit: int | None = None,
) -> FailureFilter:
    import re

    from jobctl.model import FailureFilter
    from jobctl.timeutil import parse_when

    if error is not None:
        try:
            re.compile(error)
        except re.error as e:
            raise UsageError(f"--error: invalid regex {error!r}: {e}") from None
    try:
        since_dt = parse_when(since) if since else None
        until_dt = parse_when(until) if until else None
    except ValueError as e:
        raise UsageError(str(e)) from None
    return FailureFilter(
        queues=tuple(queue or ()), classes=tuple(klass or ()), exceptions=tuple(exception or ()),
        error=error, since=since_dt, until=until_dt, retried=retried, ids=tuple(ids or ()), limit=limit,
    )


def err(message: str) -> None:
    """One line on stderr, control characters made visible."""
    from jobctl.safe import visible

    print(f"jobctl: {visible(message)}", file=sys.stderr, flush=True)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Any]:
    """A Rich progress bar on stderr when it is a terminal; a no-op callback otherwise."""
    if not sys.stderr.isatty():
        yield lambda done, tot=None: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from jobctl.render.output import make_console

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=make_console(stderr=True), transient=True) as p:
        task = p.add_task(description, total=total)

        def update(done: int, tot: int | None = None) -> None:
            p.update(task, completed=done, total=tot if tot is not None else total)

        yield update


def examples(*lines: str) -> str:
    """Help epilog listing examples (every command's help has at least one)."""
    body = "\n\n".join(f"  $ {line}" for line in lines)
    return f"Examples:\n\n{body}"
