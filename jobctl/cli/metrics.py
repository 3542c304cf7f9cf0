"""`jobctl metrics`: Prometheus exposition text on stdout, or a node_exporter textfile (atomic).

Read-only. On an unreachable or hung target the file still gets
`jobctl_last_run_success{command="metrics"} 0` (and a fresh timestamp), so "jobctl cannot read the
queue store" alerts in Prometheus, and the command exits 3.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from jobctl.cli.common import backend, err, examples, resolve


def metrics(
    prom_file: Annotated[Path | None, typer.Option("--prom-file", help="Write a node_exporter textfile here (temp file + rename) instead of stdout.")] = None,
    top_classes: Annotated[int, typer.Option("--top-classes", min=1, help="Label at most this many job classes; the rest are summed as 'other'.")] = 20,
    scan_limit: Annotated[int, typer.Option("--failed-scan-limit", min=1, help="Scan at most this many failed jobs (newest first) for the per-class gauge.")] = 2_000,
    timeout: Annotated[float, typer.Option("--timeout", "-t", min=0.5, help="Seconds for the whole run.")] = 30.0,
) -> None:
    """Queue sizes, latency, failed jobs per queue/class, workers by state, counters, last-run status."""
    from jobctl.alert.promfile import render, write_atomic
    from jobctl.alert.promstats import backend_families, run_families
    from jobctl.errors import TargetUnreachable
    from jobctl.safe import mask_secrets_in
    from jobctl.timeutil import utcnow

    target = resolve()
    instance = target.label()
    started = time.monotonic()
    now = utcnow()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["families"] = backend_families(backend(), instance=instance, now=now, top_classes=top_classes,
                                               scan_limit=scan_limit)
        except Exception as e:  # noqa: BLE001 - reported below as one line + last_run_success 0
            box["error"] = e

    t = threading.Thread(target=work, name="jobctl-metrics", daemon=True)
    t.start()
    t.join(timeout)
    problem: str | None = None
    if t.is_alive():
        problem = f"target {instance} did not answer within {timeout:g}s (--timeout)"
    elif "error" in box:
        problem = mask_secrets_in(str(box["error"]), [target.url])
    families = box.get("families", []) if problem is None else []
    families += run_families("metrics", success=problem is None, finished_at=utcnow(),
                             duration_s=time.monotonic() - started, instance=instance)
    text = render(families)
    if prom_file is not None:
        try:
            write_atomic(prom_file, text)
        except OSError as e:
            err(f"cannot write {prom_file}: {e.strerror or e}")
            raise typer.Exit(1) from None
    else:
        sys.stdout.write(text)
    sys.stdout.flush()
    if problem is not None:
        if t.is_alive():
            err(f"error: {problem}")
            sys.stderr.flush()
            os._exit(3)  # the worker thread is blocked on a hung server; do not wait for it
        from jobctl.alert.runner import is_connection_error
        from jobctl.errors import JobctlError

        cause = box.get("error")
        if isinstance(cause, JobctlError):
            raise cause
        if cause is None or is_connection_error(cause):
            raise TargetUnreachable(problem)
        raise cause


def register(app: typer.Typer) -> None:
    app.command(
        "metrics",
        help="Prometheus metrics (queue sizes, latency, failed per queue/class, workers, counters, last run): "
             "stdout, or --prom-file for node_exporter's textfile collector. Read-only.",
        epilog=examples(
            "jobctl -t prod metrics",
            "jobctl -t prod metrics --prom-file /var/lib/node_exporter/textfile/jobctl.prom",
        ),
    )(metrics)
