"""`jobctl targets`: the configured targets, passwords masked."""

from __future__ import annotations

import typer

from jobctl.cli.common import FormatOpt, examples


def targets(fmt: FormatOpt = "table") -> None:
    """List the targets defined in the config file (passwords masked)."""
    from jobctl.render.output import Column, emit
    from jobctl.targets import backend_kind, load_config, print_config_warnings

    cfg = load_config()
    print_config_warnings(cfg)
    from jobctl.safe import mask_url

    rows = []
    for name, t in sorted(cfg.targets.items()):
        try:
            kind = backend_kind(t["url"])
        except Exception:  # noqa: BLE001 - show the bad target rather than fail the listing
            kind = "invalid-url"
        rows.append({
            "name": name,
            "default": name == cfg.default_target,
            "backend": kind,
            "url": mask_url(t["url"]),
            "namespace": t.get("namespace", "resque") if kind == "resque" else None,
            "table": t.get("table", "delayed_jobs") if kind == "delayed_job" else None,
            "read_only": bool(t.get("read_only", False)),
            "secret_from": "env" if t.get("password_env") else ("file" if t.get("password_file") else None),
        })
    cols = [Column("name", "NAME"), Column("default", "DEFAULT", lambda v: "*" if v else ""),
            Column("backend", "BACKEND"), Column("url", "URL"), Column("namespace", "NAMESPACE"),
            Column("table", "TABLE"), Column("read_only", "RO", lambda v: "yes" if v else "")]
    emit(rows, cols, fmt, empty_message=f"no targets defined in {cfg.path}")


def register(app: typer.Typer) -> None:
    app.command(
        "targets",
        help="List the targets defined in the config file (passwords masked).",
        epilog=examples("jobctl targets", "jobctl targets -o json"),
    )(targets)
