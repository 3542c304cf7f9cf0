"""`jobctl alert`: a monitoring-plugin check for cron, Nagios, Icinga or Sensu.

Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. A bad rule file or option is UNKNOWN; an unreachable
target is CRITICAL unless --unreachable says otherwise. The work lives in `jobctl.alert`; this
module parses options, resolves targets and prints.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from jobctl.cli.common import STATE, err, examples

EXIT_UNKNOWN = 3
# typer vendors click; its UsageError is BadParameter's base class
_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


class PluginCommand(TyperCommand):
    """Usage errors exit 3 (UNKNOWN) with a plugin line, as the monitoring-plugin guidelines ask."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _USAGE_ERROR as e:
            e.exit_code = EXIT_UNKNOWN  # type: ignore[attr-defined]
            from jobctl.alert.report import unknown_line

            print(unknown_line(f"usage: {e.format_message()}"), flush=True)  # type: ignore[attr-defined]
            raise


def _now() -> datetime:
    """JOBCTL_NOW (ISO 8601, for tests and replays) or the real clock."""
    from jobctl.timeutil import as_utc, utcnow

    text = os.environ.get("JOBCTL_NOW")
    if not text:
        return utcnow()
    try:
        return as_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))
    except ValueError:
        from jobctl.alert.rules import RuleFileError

        raise RuleFileError(f"JOBCTL_NOW={text!r} is not an ISO 8601 time (e.g. 2026-11-27T20:00:00Z)") from None


def alert(
    rules: Annotated[str | None, typer.Option("--rules", "-r", help="TOML rules file with many named rules (see README).")] = None,
    metric: Annotated[str | None, typer.Option("--metric", "-m", help="failed (default), size, latency, failure-rate, stuck, stale-workers, record-not-found.")] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", "-q", help="Queue to check (repeatable; default: all).")] = None,
    klass: Annotated[list[str] | None, typer.Option("--class", help="Only failures of this job class; globs allowed (repeatable).")] = None,
    exception: Annotated[list[str] | None, typer.Option("--exception", "-e", help="Only failures with this exception class (repeatable).")] = None,
    error: Annotated[str | None, typer.Option("--error", help="Only failures whose error message matches this regex.")] = None,
    window: Annotated[str | None, typer.Option("--window", help="Count failures whose failed_at is inside this window, e.g. 15m.")] = None,
    warning: Annotated[str | None, typer.Option("--warning", "-w", help="Warning range: 10, 10:, ~:10, 10:20, @10:20 (latency: 5m, 1h).")] = None,
    critical: Annotated[str | None, typer.Option("--critical", "-c", help="Critical range (same syntax). Defaults per metric: see README.")] = None,
    notify: Annotated[list[str] | None, typer.Option("--notify", help="Channel name from config [alert.channels.NAME] (repeatable).")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="Send e-mail to this address on transitions (SMTP from config/env).")] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST to this webhook URL on transitions (Slack format by default).")] = None,
    webhook_format: Annotated[str, typer.Option("--webhook-format", help="slack or json.")] = "slack",
    notify_command: Annotated[str | None, typer.Option("--notify-command", help="Run this program (no shell) with the alert JSON on stdin.")] = None,
    renotify: Annotated[str | None, typer.Option("--renotify", help="Re-notify while still firing every DURATION (e.g. 1h).")] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="Highest state this check raises: critical (default) or warning.")] = None,
    samples: Annotated[int | None, typer.Option("--samples", min=0, max=50, help="Newest matching failures to show (default 5).")] = None,
    include_retried: Annotated[bool, typer.Option("--include-retried", help="Also count failures already retried (Resque retried_at).")] = False,
    max_run_time: Annotated[str | None, typer.Option("--max-run-time", help="stuck: a job locked/running longer than this is stuck (default: the target's max_run_time, else 4h).")] = None,
    unreachable: Annotated[str, typer.Option("--unreachable", help="State for an unreachable or hung target: critical, unknown, warning.")] = "critical",
    state_file: Annotated[Path | None, typer.Option("--state", help="State file (default $XDG_STATE_HOME/jobctl/alert-state.json).")] = None,
    no_state: Annotated[bool, typer.Option("--no-state", help="Keep no state: notify on every non-OK run.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Evaluate and show what would be sent; send nothing, write no state.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="Print nothing when everything is OK (cron mails any output).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", "-t", min=0.5, help="Seconds for the whole run; a hung server never hangs cron.")] = 10.0,
    fmt: Annotated[str, typer.Option("--format", "-o", help="nagios (plugin text) or json.")] = "nagios",
    prom_file: Annotated[Path | None, typer.Option("--prom-file", help="Also write rule states as a node_exporter textfile (atomic).")] = None,
    cap: Annotated[int, typer.Option("--cap", min=1, help="Stop counting failures at this many (reported as >=N).")] = 100_000,
    scan_limit: Annotated[int, typer.Option("--scan-limit", min=1, help="record-not-found: read at most this many newest matching failures.")] = 2_000,
) -> None:
    """Check failed jobs (or queue size, latency, stuck jobs, stale workers) and exit like a monitoring plugin."""
    from jobctl.alert.report import unknown_line
    from jobctl.alert.rules import RuleFileError
    from jobctl.errors import JobctlError

    opts = dict(locals())
    try:
        if fmt not in ("nagios", "json"):
            raise RuleFileError(f"--format must be nagios or json (got {fmt!r})")
        if webhook_format not in ("slack", "json"):
            raise RuleFileError(f"--webhook-format must be slack or json (got {webhook_format!r})")
        if unreachable not in ("critical", "unknown", "warning"):
            raise RuleFileError(f"--unreachable must be critical, unknown or warning (got {unreachable!r})")
        if severity is not None and severity not in ("critical", "warning"):
            raise RuleFileError(f"--severity must be critical or warning (got {severity!r})")
        _run(opts)
    except JobctlError as e:
        if STATE.debug:
            import traceback

            traceback.print_exc()
        _emit_unknown(unknown_line(str(e)), fmt, str(e))
        raise typer.Exit(EXIT_UNKNOWN) from None


def _emit_unknown(line: str, fmt: str, message: str) -> None:
    if fmt == "json":
        from jobctl.render.output import json_dumps

        print(json_dumps({"state": "UNKNOWN", "exit_code": EXIT_UNKNOWN, "first_line": line, "error": message},
                         pretty=True))
    else:
        print(line)
    sys.stdout.flush()


def _run(opts: dict[str, Any]) -> None:
    from jobctl.alert.report import json_document, plugin_text
    from jobctl.alert.runner import RunOptions, run
    from jobctl.alert.setup import DefaultTarget, build_ruleset, rule_targets
    from jobctl.alert.state import default_state_path
    from jobctl.alert.thresholds import State
    from jobctl.targets import load_config, print_config_warnings

    now = _now()
    cfg = load_config()
    print_config_warnings(cfg)
    ruleset = build_ruleset(opts, cfg, dict(os.environ))
    targets = rule_targets(ruleset, cfg, DefaultTarget(url=STATE.url, target=STATE.target, namespace=STATE.namespace,
                                                        table=STATE.table, options=dict(STATE.dj_options)))
    unreachable_override = State.parse(opts["unreachable"]) if opts["unreachable"] != "critical" else None
    state_path = None if opts["no_state"] else (opts["state_file"] or default_state_path())
    ropts = RunOptions(now=now, timeout=opts["timeout"], dry_run=opts["dry_run"], state_path=state_path,
                       unreachable=unreachable_override, cap=opts["cap"], scan_limit=opts["scan_limit"])
    report = run(ruleset, targets, ropts)
    for w in report.warnings:
        err(f"warning: {ruleset.secrets.mask(w)}")
    for o in report.notifier_errors:
        err(f"notifier {o.channel} ({o.channel_type}) failed for rule {o.rule}: {o.error}")
    if opts["prom_file"] is not None and not opts["dry_run"]:
        _write_alert_prom(opts["prom_file"], report, now)
    state = report.state
    if not (opts["quiet"] and state == State.OK):
        if opts["fmt"] == "json":
            from jobctl.render.output import json_dumps

            sys.stdout.write(json_dumps(json_document(report), pretty=True) + "\n")
        else:
            sys.stdout.write(plugin_text(report))
    sys.stdout.flush()
    sys.stderr.flush()
    if report.abandoned:
        os._exit(int(state))  # a thread is still blocked on a hung server: do not wait for it
    raise typer.Exit(int(state))


def _write_alert_prom(path: Path, report: Any, now: datetime) -> None:
    from jobctl.alert.promfile import render, write_atomic
    from jobctl.alert.promstats import alert_families, run_families

    fams = alert_families(report.results) + run_families(
        "alert", success=report.reached_all, finished_at=now, duration_s=report.duration_s)
    try:
        write_atomic(path, render(fams))
    except OSError as e:
        err(f"warning: cannot write --prom-file {path}: {e.strerror or e}")


def register(app: typer.Typer) -> None:
    app.command(
        "alert",
        cls=PluginCommand,
        help=(
            "Monitoring-plugin check for cron/Nagios/Icinga/Sensu: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. "
            "Quick form: --queue/--metric/-w/-c; many rules: --rules FILE. Notifies (e-mail, webhook, command) "
            "only on transitions, using a state file. Never writes to the queue store. "
            "Default thresholds when none given: failed crit >0; size warn >1000 crit >10000; latency warn >5m "
            "crit >1h; failure-rate (per minute over 15m) warn >1 crit >5; stuck crit >0; stale-workers warn >0; "
            "record-not-found warn >0. JOBCTL_NOW=ISO-time fixes the clock (tests, replays)."
        ),
        epilog=examples(
            "jobctl -t prod alert --queue toxic --window 15m -w 1 -c 5",
            "jobctl -t prod alert --metric latency --queue low -w 5m -c 1h",
            "jobctl alert --rules /etc/jobctl/alerts.toml --quiet --timeout 20",
            "jobctl -t prod alert --queue toxic -c 0 --email oncall@example.com --renotify 1h",
        ),
    )(alert)
