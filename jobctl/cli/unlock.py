"""`jobctl unlock --stuck`: release stale Delayed Job locks (jobs whose worker died mid-run).

A worker killed by kill -9 / OOM leaves its job locked; Delayed Job only takes it again after
max_run_time (4h by default). This clears locked_at/locked_by of unfailed rows locked longer than
that (or `--older-than`), so any worker can take them now. A row whose lock a live worker renewed
meanwhile is left alone (the UPDATE re-checks the lock age). Resque has no job locks.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jobctl.cli.common import FormatOpt, backend, examples
from jobctl.cli.requeue import DryRunOpt, YesOpt, run_mutation, write_module


def unlock(
    stuck: Annotated[bool, typer.Option("--stuck", help="Release locks held longer than max_run_time (required).")] = False,
    older_than: Annotated[str | None, typer.Option("--older-than", help="Lock age that counts as stuck (default: the target's max_run_time, 4h).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=1, help="At most N rows (lowest ids first).")] = None,
    dry_run: DryRunOpt = False,
    yes: YesOpt = False,
    fmt: FormatOpt = "table",
) -> None:
    """Clear stale locks of Delayed Job rows that are not failed, so workers take them again.

    Selects rows with failed_at NULL and locked_at older than max_run_time (or --older-than),
    shows count, breakdown and a sample, asks unless --yes, then clears locked_at and locked_by
    per batch in one transaction each.
    """
    from jobctl.errors import Unsupported, UsageError
    from jobctl.timeutil import parse_duration

    if not stuck:
        raise UsageError("say what to unlock: --stuck (locks older than max_run_time or --older-than)")
    age = None
    if older_than is not None:
        try:
            age = parse_duration(older_than)
        except ValueError as e:
            raise UsageError(f"--older-than: {e}") from None
    b = backend()
    if b.kind != "delayed_job":
        write_module(b).unlock_stuck(b)  # raises Unsupported with the reason
        raise Unsupported("unlock is for Delayed Job only")
    mod = write_module(b)

    def run(dry: bool, progress: Any, snap: Any) -> Any:
        return mod.unlock(b, older_than=age, dry_run=dry, progress=progress, limit=limit)

    run_mutation(b, "unlock", run, lambda: None, yes=yes, dry_run=dry_run, fmt=fmt, what="stuck jobs")


def register(app: typer.Typer) -> None:
    app.command(
        "unlock",
        help="Delayed Job: release stale locks (jobs whose worker died) so workers take them again.",
        epilog=examples("jobctl -t dj unlock --stuck --dry-run",
                        "jobctl -t dj unlock --stuck --older-than 30m --yes"),
    )(unlock)
