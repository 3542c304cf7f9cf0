"""Rules files: read, merge [defaults], validate every rule and channel up front.

    [defaults]                     # any rule field; applies to every rule that does not set it
    window = "15m"
    notify = ["ops-mail"]

    [rules.toxic]                  # the rule's name is the table key
    queue = "toxic"
    metric = "failed"              # failed size latency failure-rate stuck stale-workers record-not-found
    warning = "1"
    critical = "5"
    renotify = "1h"

    [channels.ops-mail]            # see jobctl.alert.channels
    type = "email"
    to = ["oncall@example.com"]

Every error names the file, the rule and the field
(`alerts.toml: rule 'toxic': field 'critical': invalid threshold range '5x' …`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobctl.alert.channels import ChannelError, parse_channels, smtp_settings
from jobctl.alert.metrics import METRIC_NAMES, METRICS
from jobctl.alert.rules import (
    FAILURE_ONLY_FIELDS,
    RULE_NAME,
    FieldError,
    Rule,
    RuleFileError,
    RuleSet,
    build_rule,
    duration_field,
)
from jobctl.alert.secrets import Secrets


def load_rules(path: Path, *, config_raw: Mapping[str, Any], env: Mapping[str, str],
               known_targets: set[str] | None = None) -> RuleSet:
    """Read and validate a whole rules file (and config.toml's [alert] channels and SMTP)."""
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RuleFileError(f"cannot read rules file {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise RuleFileError(f"{where}: not UTF-8 text: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise RuleFileError(f"{where}: invalid TOML: {e}") from None
    unknown = set(data) - {"defaults", "rules", "channels", "smtp"}
    if unknown:
        raise RuleFileError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))} "
                            "(allowed: defaults, rules, channels, smtp)")
    secrets = Secrets()
    alert_conf = config_raw.get("alert") or {}
    try:
        channels = parse_channels(alert_conf.get("channels") or {}, env=env, secrets=secrets,
                                  where="config alert.channels")
        channels.update(parse_channels(data.get("channels") or {}, env=env, secrets=secrets,
                                       where=f"{where}: channels"))
        smtp = smtp_settings([("config alert.smtp", alert_conf.get("smtp")), (f"{where}: smtp", data.get("smtp"))],
                             env=env, secrets=secrets)
    except ChannelError as e:
        raise RuleFileError(str(e)) from None
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise RuleFileError(f"{where}: [defaults] must be a table")
    rules_tables = data.get("rules")
    if not isinstance(rules_tables, dict) or not rules_tables:
        raise RuleFileError(f"{where}: no rules: add at least one [rules.NAME] table")
    try:
        check = {k: v for k, v in defaults.items() if k not in ("metric", "max_run_time", "warning", "critical")}
        build_rule("defaults", {**check, "metric": "failed"}, channels=channels, known_targets=known_targets)
        if "max_run_time" in defaults:
            duration_field("max_run_time", defaults["max_run_time"])
        if "metric" in defaults and defaults["metric"] not in METRICS:
            raise FieldError("metric", f"unknown metric {defaults['metric']!r} (one of: {', '.join(METRIC_NAMES)})")
    except FieldError as e:
        raise RuleFileError(f"{where}: [defaults]: field '{e.key}': {e}") from None
    rules: list[Rule] = []
    for name, table in rules_tables.items():
        if not RULE_NAME.fullmatch(name):
            raise RuleFileError(f"{where}: rule {name!r}: name may only hold letters, digits and _ . : @ -")
        if not isinstance(table, dict):
            raise RuleFileError(f"{where}: rule {name!r}: must be a table ([rules.{name}])")
        spec_metric = table.get("metric", defaults.get("metric", "failed"))
        merged = {**_applicable_defaults(defaults, spec_metric), **table}
        for own, other in (("url", "target"), ("target", "url")):  # a rule's own url replaces a default target
            if own in table and other not in table:
                merged.pop(other, None)
        try:
            rule = build_rule(name, merged, channels=channels, known_targets=known_targets)
        except FieldError as e:
            raise RuleFileError(f"{where}: rule {name!r}: field '{e.key}': {e}") from None
        if merged.get("enabled", True):
            rules.append(rule)
    if not rules:
        raise RuleFileError(f"{where}: every rule is disabled (enabled = false)")
    return RuleSet(rules=rules, channels=channels, smtp=smtp, secrets=secrets, source=str(path))


def _applicable_defaults(defaults: Mapping[str, Any], metric: Any) -> dict[str, Any]:
    """Defaults minus fields that make no sense for this rule's metric (a default window does not
    break a `size` rule; an explicit `window` in a size rule still does)."""
    spec = METRICS.get(metric) if isinstance(metric, str) else None
    out = dict(defaults)
    if spec is not None and not spec.uses_failures:
        for k in (*FAILURE_ONLY_FIELDS, "window"):
            out.pop(k, None)
    if spec is not None and spec.name != "stuck":
        out.pop("max_run_time", None)
    return out
