"""From `jobctl alert` options to a RuleSet and the Target each rule runs against.

Kept out of the CLI module so it has no typer in it: the quick form (options -> one rule plus
ad-hoc `--email/--webhook/--notify-command` channels) and the rules-file form share one path, and
every problem is a `RuleFileError` (exit 3 UNKNOWN) raised before anything connects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobctl.alert.channels import Channel, ChannelError, parse_channel, parse_channels, smtp_settings
from jobctl.alert.rulefile import load_rules
from jobctl.alert.rules import RuleFileError, RuleSet, quick_rule
from jobctl.alert.secrets import Secrets

if TYPE_CHECKING:
    from jobctl.targets import Config, Target

# option name -> rule field, for the quick form (anything here conflicts with --rules)
QUICK_OPTIONS = {
    "metric": "metric", "queue": "queue", "klass": "class", "exception": "exception", "error": "error",
    "window": "window", "warning": "warning", "critical": "critical", "renotify": "renotify",
    "severity": "severity", "samples": "samples", "include_retried": "include_retried",
    "max_run_time": "max_run_time",
}
NOTIFY_OPTIONS = ("notify", "email", "webhook", "notify_command")


@dataclass(slots=True)
class DefaultTarget:
    """The command's own target options (-u/-t/--namespace/--table), for rules without one."""

    url: str | None = None
    target: str | None = None
    namespace: str | None = None
    table: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # --max-run-time / --db-timezone (global)


def _given(value: Any) -> bool:
    return value not in (None, False, [], ())


def adhoc_channels(opts: Mapping[str, Any], env: Mapping[str, str], secrets: Secrets) -> dict[str, Channel]:
    tables: dict[str, dict[str, Any]] = {}
    if opts.get("email"):
        tables["email"] = {"type": "email", "to": list(opts["email"])}
    if opts.get("webhook"):
        tables["webhook"] = {"type": "webhook", "url": opts["webhook"], "format": opts.get("webhook_format", "slack")}
    if opts.get("notify_command"):
        tables["command"] = {"type": "command", "command": opts["notify_command"]}
    return {n: parse_channel(n, t, env=env, secrets=secrets, where="option") for n, t in tables.items()}


def build_ruleset(opts: Mapping[str, Any], cfg: Config, env: Mapping[str, str]) -> RuleSet:
    """`opts` uses the CLI parameter names (rules, metric, queue, klass, …, email, webhook)."""
    known = set(cfg.targets)
    if opts.get("rules") is not None:
        clash = [k for k in (*QUICK_OPTIONS, *NOTIFY_OPTIONS) if _given(opts.get(k))]
        if clash:
            shown = ", ".join("--" + k.replace("klass", "class").replace("_", "-") for k in clash)
            raise RuleFileError(f"--rules cannot be combined with quick-form options ({shown}); "
                                "put them in the rules file")
        return load_rules(Path(opts["rules"]), config_raw=cfg.raw, env=env, known_targets=known)
    secrets = Secrets()
    alert_conf = cfg.raw.get("alert") or {}
    try:
        channels = parse_channels(alert_conf.get("channels") or {}, env=env, secrets=secrets,
                                  where="config alert.channels")
        adhoc = adhoc_channels(opts, env, secrets)
        channels.update(adhoc)
        smtp = smtp_settings([("config alert.smtp", alert_conf.get("smtp"))], env=env, secrets=secrets)
    except ChannelError as e:
        raise RuleFileError(str(e)) from None
    fields = {field: opts.get(opt) for opt, field in QUICK_OPTIONS.items() if _given(opts.get(opt))}
    fields["notify"] = [*(opts.get("notify") or []), *adhoc]
    rule = quick_rule(fields, channels=channels)
    return RuleSet(rules=[rule], channels=channels, smtp=smtp, secrets=secrets, source="command line")


def rule_targets(ruleset: RuleSet, cfg: Config, default: DefaultTarget) -> list[Target]:
    """The Target of each rule (read-only: alerting never writes); bad targets are UNKNOWN.

    A `stuck` rule's own max_run_time becomes its target's `max_run_time` option, which is what
    the Delayed Job backend counts stuck locks with (Resque workers are judged in measure.py).
    """
    from jobctl.errors import JobctlError
    from jobctl.targets import resolve_target

    cache: dict[tuple[str | None, str | None, float | None], Target] = {}
    out = []
    for rule in ruleset.rules:
        mrt = rule.max_run_time.total_seconds() if rule.metric == "stuck" and rule.max_run_time else None
        key = (rule.target, rule.url, mrt)
        if key not in cache:
            try:
                if rule.target is None and rule.url is None:
                    t = resolve_target(url=default.url, target=default.target, namespace=default.namespace,
                                       table=default.table, read_only=True, config=cfg)
                    t.options.update(default.options)  # command-line values beat the config file's
                else:
                    t = resolve_target(url=rule.url, target=rule.target if rule.url is None else None,
                                       read_only=True, config=cfg)
            except JobctlError as e:
                raise RuleFileError(f"rule {rule.name!r}: {e}") from None
            if mrt is not None:
                t = replace(t, options={**t.options, "max_run_time": mrt})
            cache[key] = replace(t, read_only=True)
        out.append(cache[key])
    return out
