"""`jobctl ping`: connect, detect the queue format, report server version and latency."""

from __future__ import annotations

import typer

from jobctl.cli.common import FormatOpt, backend, examples


def ping(fmt: FormatOpt = "table") -> None:
    """Connect to the target, detect Resque keys or a delayed_jobs table, report version and latency.

    Exit 0 when the format is recognised, 3 when the target is unreachable or holds no queue store.
    """
    from jobctl.errors import NotAQueueStore
    from jobctl.render.output import emit_one

    result = backend().ping()
    emit_one(result, fmt)
    if not result.format_detected:
        raise NotAQueueStore(result.detail)


def register(app: typer.Typer) -> None:
    app.command(
        "ping",
        help="Connect, detect the queue format (Resque keys / delayed_jobs table), show version and latency.",
        epilog=examples("jobctl -u sqlite:///$HOME/.local/share/jobctl/demo.sqlite3 ping",
                        "jobctl -u redis://127.0.0.1:6379/0 ping -o json"),
    )(ping)
