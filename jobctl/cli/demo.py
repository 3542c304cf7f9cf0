"""`jobctl demo`: create (idempotently) a seeded SQLite Delayed Job database and show it.

It prints `jobctl peek low --limit 50` against the demo database through the very code path of
the `peek` command, then the next commands to try with the exact `-u sqlite:///…` URL. The
database itself is built by `jobctl.demo.seed` (exact delayed_job_active_record schema and
Psych-exact handlers; tests/test_demo.py has real Delayed Job load every row).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jobctl.cli.common import STATE, examples


def next_commands(url: str) -> list[str]:
    """Commands worth trying next on the demo database (each one valid as printed)."""
    import shlex

    u = f"jobctl -u {shlex.quote(url)}"
    return [
        f"{u} queues",
        f"{u} peek mailers --class 'UserMailer#*'",
        f"{u} failed --group-by exception",
        f"{u} failed --queue toxic --limit 5",
        f"{u} show 1",
        f"{u} workers",
        f"{u} stats",
        f"{u} requeue --queue toxic --dry-run",
        f"{u} unlock --stuck --dry-run",
        f"{u} top",
    ]


def demo(
    path: Annotated[Path | None, typer.Option("--path", help="Where the demo database lives (default: $XDG_DATA_HOME/jobctl/demo.sqlite3).")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Delete and recreate the demo database (fresh times relative to now).")] = False,
    no_peek: Annotated[bool, typer.Option("--no-peek", help="Only create the database and print its URL.")] = False,
) -> None:
    """Create a seeded SQLite database in exact Delayed Job format and peek at it.

    The first run creates it (~220 jobs over queues low, default, mailers, toxic, reports and none:
    ready, scheduled, running, retrying, failed, one stale lock); later runs reuse it unchanged.
    """
    from jobctl.demo.seed import DemoPathError, ensure_demo
    from jobctl.errors import UsageError

    try:
        result = ensure_demo(path, reset=reset)
    except DemoPathError as e:
        raise UsageError(str(e)) from None
    what = "created" if result.created else "using existing (--reset to recreate)"
    print(f"Demo Delayed Job database: {result.path} — {what}, {result.jobs} jobs")
    print(f"URL: {result.url}")
    if not no_peek:
        print()
        print("$ jobctl peek low --limit 50", flush=True)
        STATE.url, STATE.target, STATE.table = result.url, None, None
        from jobctl.cli.peek import peek

        peek("low", limit=50)
    print()
    print("Next, try:")
    for line in next_commands(result.url):
        print(f"  {line}")


def register(app: typer.Typer) -> None:
    app.command(
        "demo",
        help="Create (once) a seeded SQLite Delayed Job database and peek at it; prints the commands to try next.",
        epilog=examples("jobctl demo", "jobctl demo --path /tmp/demo.sqlite3 --reset", "jobctl demo --no-peek"),
    )(demo)
