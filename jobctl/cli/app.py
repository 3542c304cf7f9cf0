"""The `jobctl` Typer app: global options, command registration, error -> exit-code mapping.

Each command lives in its own module under `jobctl/cli/` and exposes `register(app)`. Modules are
imported at start-up (Typer needs their signatures for help), so they must import nothing heavy at
module level: redis, SQLAlchemy and textual are imported inside command bodies.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer

from jobctl import __version__
from jobctl.cli.common import STATE, close_backend, err

# Order = order in `jobctl --help`.
COMMAND_MODULES = (
    "demo",
    "targets_cmd",
    "ping",
    "queues",
    "peek",
    "failed",
    "show",
    "workers",
    "stats",
    "scheduled",
    "status",
    "requeue",
    "unlock",
    "tail",
    "alert",
    "metrics",
    "top",
)

app = typer.Typer(
    name="jobctl",
    help=(
        "Operate Resque and Delayed Job queues from the outside: peek and parse jobs, tail a "
        "MONITOR log as job events, alert on failures, bulk requeue or discard exactly what a filter "
        "selects, and watch it all live with `jobctl top`.\n\n"
        "Target: --url/-u URL (or JOBCTL_URL), or --target/-t NAME from "
        "$XDG_CONFIG_HOME/jobctl/config.toml. redis://, rediss://, unix:// -> Resque; "
        "postgresql://, mysql://, mariadb://, sqlite:///path -> Delayed Job."
    ),
    epilog="Examples:\n\n  $ jobctl demo\n\n  $ jobctl -u redis://127.0.0.1:6379/0 peek low --limit 50\n\n"
    "  $ jobctl -t prod failed --group-by exception",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
)


def _version(value: bool) -> None:
    if value:
        print(f"jobctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    url: Annotated[str | None, typer.Option("--url", "-u", envvar="JOBCTL_URL", show_envvar=True,
                                            help="Connection URL (redis://… for Resque; postgresql://…, mysql://…, sqlite:///… for Delayed Job).")] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", envvar="JOBCTL_TARGET",
                                               help="Named target from the config file.")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Resque Redis namespace (default: resque; may contain colons).")] = None,
    table: Annotated[str | None, typer.Option("--table", help="Delayed Job table name (default: delayed_jobs).")] = None,
    read_only: Annotated[bool, typer.Option("--read-only", help="Refuse every mutation (also JOBCTL_READ_ONLY=1).")] = False,
    max_run_time: Annotated[str | None, typer.Option("--max-run-time", envvar="JOBCTL_MAX_RUN_TIME", help="Delayed Job: a lock older than this is stuck (default 4h, as Delayed::Worker.max_run_time).")] = None,
    db_timezone: Annotated[str | None, typer.Option("--db-timezone", envvar="JOBCTL_DB_TIMEZONE", help="Delayed Job: zone the app stores times in (default UTC; e.g. Europe/Berlin, local).")] = None,
    trace: Annotated[bool, typer.Option("--trace", help="Print every Redis command / SQL statement sent, with its duration, to stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    STATE.url = url
    STATE.target = target
    STATE.namespace = namespace
    STATE.table = table
    STATE.read_only = read_only
    STATE.dj_options = {k: v for k, v in (("max_run_time", max_run_time), ("db_timezone", db_timezone)) if v}
    STATE.trace = trace
    STATE.debug = debug
    if trace:
        from jobctl.trace import TRACER

        TRACER.enable()


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"jobctl.cli.{_name}")
    except ModuleNotFoundError as _e:  # a command module still being written must not break the rest
        if _e.name != f"jobctl.cli.{_name}":
            raise
        continue
    _mod.register(app)


def main(argv: list[str] | None = None) -> None:
    from jobctl.errors import EXIT_FAILED, JobctlError

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    code = 0
    try:
        app(args=argv, prog_name="jobctl", standalone_mode=True)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except JobctlError as e:
        if debug:
            import traceback

            traceback.print_exc()
        err(f"error: {e}")
        code = e.exit_code
    except KeyboardInterrupt:
        err("interrupted")
        code = 130
    except BrokenPipeError:
        # stdout closed early (e.g. `| head`): not an error
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        code = 0
    except Exception as e:  # noqa: BLE001 - one clear line, never a traceback unless --debug
        if debug:
            import traceback

            traceback.print_exc()
        from jobctl.safe import mask_secrets_in

        err(f"error: {type(e).__name__}: {mask_secrets_in(str(e), [])} (rerun with --debug for a traceback)")
        code = EXIT_FAILED
    finally:
        close_backend()
    sys.exit(code)
