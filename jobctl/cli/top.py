"""`jobctl top`: the live TUI (queues, workers, failures; drill-down; tag + requeue/discard).

Textual is imported inside the command body so `jobctl --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from jobctl.cli.common import backend, examples


def top(
    interval: Annotated[float, typer.Option("--interval", "-i", min=0.1,
                                            help="Seconds between refreshes (+ / - change it live, p pauses).")] = 2.0,
    scan_limit: Annotated[int, typer.Option("--failure-scan", min=1,
                                            help="Group at most this many newest failures in the failures panel.")] = 5_000,
) -> None:
    """Live dashboard: meters, queues, workers and failures by class × exception, refreshed in place.

    Enter drills down (queue -> its jobs, failure group -> its failures, row -> detail), / filters
    (regex, ! negates), space tags, r / d requeue / discard the tagged failures after a
    confirmation (refused under --read-only), ? lists every key. Monitoring never writes.
    Keys can be remapped in the [keymap] table of the config file.
    """
    import sys

    from jobctl.errors import UsageError
    from jobctl.targets import load_config

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("jobctl top needs a terminal; for scripts use `jobctl queues`, `jobctl stats` or `-o json`")
    from jobctl.tui.app import TopApp
    from jobctl.tui.keymap import parse_keymap
    from jobctl.tui.refresh import PollerConfig

    cfg = load_config()
    keymap, warnings = parse_keymap(cfg.raw)
    app = TopApp(backend(), interval=interval, keymap=keymap, keymap_warnings=warnings, config_path=str(cfg.path),
                 poller_config=PollerConfig(failure_scan_limit=scan_limit))
    app.run()


def register(app: typer.Typer) -> None:
    app.command(
        "top",
        help="Live TUI: queues, workers, failures; drill down, filter, tag and requeue/discard with confirmation. "
             "Press ? for every key; remap keys in the [keymap] table of the config file (e.g. requeue = \"R\").",
        epilog=examples("jobctl -t prod top", "jobctl -u redis://127.0.0.1:6379/0 top --interval 1",
                        "jobctl --read-only -u postgresql://app@db/app top"),
    )(top)
