"""Alert rules: one `Rule` per check, from command-line options (quick form) or a TOML rules file.

Rules files are validated completely before anything connects; every error names the file, the
rule and the field (`alerts.toml: rule 'toxic': field 'critical': invalid threshold range '5x' …`),
and the CLI turns it into a monitoring-plugin UNKNOWN (exit 3).

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
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jobctl.alert.channels import Channel, ChannelError, SmtpSettings, parse_channels, smtp_settings
from jobctl.alert.metrics import METRIC_NAMES, METRICS, MetricSpec, perf_label
from jobctl.alert.secrets import Secrets
from jobctl.alert.thresholds import Range, State, Thresholds, format_duration, parse_range
from jobctl.errors import ConfigError
from jobctl.model import FailureFilter
from jobctl.timeutil import parse_duration

RULE_KEYS = {
    "metric", "target", "url", "queue", "class", "exception", "error", "window", "warning", "critical",
    "notify", "renotify", "severity", "samples", "include_retried", "max_run_time", "unreachable",
    "description", "runbook", "enabled",
}
_FAILURE_ONLY = ("class", "exception", "error", "include_retried")
_NAME = re.compile(r"[A-Za-z0-9_.:@-]+")
DEFAULT_MAX_RUN_TIME = timedelta(hours=4)


class RuleFileError(ConfigError):
    """A rule file (or quick-form option) is invalid: the alert command exits 3 UNKNOWN."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    metric: str
    thresholds: Thresholds
    target: str | None = None  # a target name from config.toml (None = the command's target)
    url: str | None = None
    queues: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    error: str | None = None
    window: timedelta | None = None
    notify: tuple[str, ...] = ()
    renotify: timedelta | None = None
    severity: State = State.CRITICAL  # the highest state this rule raises
    samples: int = 5
    include_retried: bool = False
    max_run_time: timedelta = DEFAULT_MAX_RUN_TIME
    unreachable: State = State.CRITICAL
    description: str | None = None
    runbook: str | None = None
    quick: bool = False  # built from options: perfdata label is the metric name
    warning_text: str | None = None  # as given (for JSON)
    critical_text: str | None = None

    @property
    def spec(self) -> MetricSpec:
        return METRICS[self.metric]

    @property
    def perf_label(self) -> str:
        return perf_label(self.metric) if self.quick else self.name

    def scope(self) -> str:
        """'toxic', 'high,low' or 'all queues'."""
        return ",".join(self.queues) if self.queues else "all queues"

    def selectors_text(self) -> str:
        parts = [f"class={c}" for c in self.classes] + [f"exception={e}" for e in self.exceptions]
        if self.error:
            parts.append(f"error=/{self.error}/")
        return f" [{' '.join(parts)}]" if parts else ""

    def effective_window(self) -> timedelta | None:
        return self.window or self.spec.default_window

    def window_text(self) -> str:
        w = self.effective_window()
        return format_duration(w.total_seconds()) if w else ""

    def failure_filter(self, now: datetime, *, limit: int | None = None) -> FailureFilter:
        """The same FailureFilter `jobctl failed` builds, plus the window as `since`."""
        w = self.effective_window()
        return FailureFilter(
            queues=self.queues, classes=self.classes, exceptions=self.exceptions, error=self.error,
            since=(now - w) if w else None, retried=None if self.include_retried else False, limit=limit,
        )

    def state_key(self, target_label: str) -> str:
        return f"{target_label}/{self.name}"


@dataclass(slots=True)
class RuleSet:
    rules: list[Rule]
    channels: dict[str, Channel] = field(default_factory=dict)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    secrets: Secrets = field(default_factory=Secrets)
    source: str = "command line"


# --------------------------------------------------------------------------- field parsing


class _FieldError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _FieldError(key, "expected a non-empty string or a list of them")
    return tuple(value)


def _duration(key: str, value: Any, *, allow_zero: bool = False) -> timedelta | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _FieldError(key, "expected a duration like 90s, 15m, 2h, 1d")
    try:
        d = parse_duration(str(value))
    except ValueError as e:
        raise _FieldError(key, str(e)) from None
    if d.total_seconds() <= 0:
        if allow_zero:
            return None
        raise _FieldError(key, "must be longer than 0s")
    return d


def _state(key: str, value: Any, allowed: tuple[str, ...]) -> State:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise _FieldError(key, f"must be one of {', '.join(allowed)} (got {value!r})")
    return State.parse(value)


def build_rule(name: str, fields: Mapping[str, Any], *, channels: Mapping[str, Channel] | None = None,
               known_targets: set[str] | None = None, quick: bool = False) -> Rule:
    """Validate one rule's fields; raises `_FieldError(key, message)`."""
    unknown = set(fields) - RULE_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise _FieldError(k, f"unknown field (allowed: {', '.join(sorted(RULE_KEYS))})")
    metric = fields.get("metric", "failed")
    if metric not in METRICS:
        raise _FieldError("metric", f"unknown metric {metric!r} (one of: {', '.join(METRIC_NAMES)})")
    spec = METRICS[metric]
    if not spec.uses_failures:
        for k in _FAILURE_ONLY + ("window",):
            if k in fields:
                raise _FieldError(k, f"has no effect on metric {metric!r} (only failed, failure-rate, "
                                  "record-not-found select failures)")
    kw: dict[str, Any] = {"name": name, "metric": metric, "quick": quick}
    if "target" in fields and "url" in fields:
        raise _FieldError("url", "give either target or url, not both")
    for key in ("target", "url", "description", "runbook"):
        if key in fields:
            v = fields[key]
            if not isinstance(v, str) or not v:
                raise _FieldError(key, "expected a non-empty string")
            kw[key] = v
    if known_targets is not None and kw.get("target") and kw["target"] not in known_targets:
        raise _FieldError("target", f"unknown target {kw['target']!r} (known: "
                          f"{', '.join(sorted(known_targets)) or 'none defined in config.toml'})")
    if "queue" in fields:
        kw["queues"] = _strings("queue", fields["queue"])
    if "class" in fields:
        kw["classes"] = _strings("class", fields["class"])
    if "exception" in fields:
        kw["exceptions"] = _strings("exception", fields["exception"])
    if "error" in fields:
        err = fields["error"]
        if not isinstance(err, str):
            raise _FieldError("error", "expected a regular expression string")
        try:
            re.compile(err)
        except re.error as e:
            raise _FieldError("error", f"invalid regex {err!r}: {e}") from None
        kw["error"] = err
    if "window" in fields:
        kw["window"] = _duration("window", fields["window"])
    if "renotify" in fields:
        kw["renotify"] = _duration("renotify", fields["renotify"], allow_zero=True)
    if "max_run_time" in fields:
        if metric != "stuck":
            raise _FieldError("max_run_time", "only applies to metric 'stuck'")
        kw["max_run_time"] = _duration("max_run_time", fields["max_run_time"])
    warning, critical = fields.get("warning"), fields.get("critical")
    if warning is None and critical is None:
        warning, critical = spec.default_warning, spec.default_critical
    ranges: dict[str, Range | None] = {}
    for key, text in (("warning", warning), ("critical", critical)):
        if text is None:
            ranges[key] = None
            continue
        try:
            ranges[key] = parse_range(text, durations=spec.durations)
        except ValueError as e:
            raise _FieldError(key, str(e)) from None
        kw[f"{key}_text"] = str(text)
    kw["thresholds"] = Thresholds(warning=ranges["warning"], critical=ranges["critical"])
    if "severity" in fields:
        kw["severity"] = _state("severity", fields["severity"], ("warning", "critical"))
    if "unreachable" in fields:
        kw["unreachable"] = _state("unreachable", fields["unreachable"], ("critical", "unknown", "warning"))
    for key in ("include_retried", "enabled"):
        if key in fields and not isinstance(fields[key], bool):
            raise _FieldError(key, "expected true or false")
    if "include_retried" in fields:
        kw["include_retried"] = fields["include_retried"]
    if "samples" in fields:
        s = fields["samples"]
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= 50:
            raise _FieldError("samples", "expected a whole number from 0 to 50")
        kw["samples"] = s
    if "notify" in fields:
        names = _strings("notify", fields["notify"])
        if channels is not None:
            for n in names:
                if n not in channels:
                    raise _FieldError("notify", f"unknown channel {n!r} (defined: "
                                      f"{', '.join(sorted(channels)) or 'none'})")
        kw["notify"] = names
    return Rule(**kw)


def quick_rule(options: Mapping[str, Any], *, channels: Mapping[str, Channel]) -> Rule:
    """The rule for `jobctl alert --queue toxic -c 5 …`; errors name the option."""
    fields = {k: v for k, v in options.items() if v not in (None, (), [])}
    queues = fields.get("queue") or ()
    metric = fields.get("metric", "failed")
    name = ",".join(queues) if queues else ("all queues" if metric != "stale-workers" else "workers")
    try:
        return build_rule(name, fields, channels=channels, quick=True)
    except _FieldError as e:
        raise RuleFileError(f"option --{e.key.replace('_', '-')}: {e}") from None


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
            _duration("max_run_time", defaults["max_run_time"])
        if "metric" in defaults and defaults["metric"] not in METRICS:
            raise _FieldError("metric", f"unknown metric {defaults['metric']!r} (one of: {', '.join(METRIC_NAMES)})")
    except _FieldError as e:
        raise RuleFileError(f"{where}: [defaults]: field '{e.key}': {e}") from None
    rules: list[Rule] = []
    for name, table in rules_tables.items():
        if not _NAME.fullmatch(name):
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
        except _FieldError as e:
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
        for k in (*_FAILURE_ONLY, "window"):
            out.pop(k, None)
    if spec is not None and spec.name != "stuck":
        out.pop("max_run_time", None)
    return out
