"""Alert rules: one `Rule` per check, validated field by field (`build_rule`).

Rules come from command-line options (`quick_rule`, errors name the option) or from a TOML rules
file (`jobctl.alert.rulefile.load_rules`, errors name the file, the rule and the field). Either
way an invalid rule is a `RuleFileError`, which the CLI turns into a monitoring-plugin UNKNOWN
(exit 3) before anything connects.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from jobctl.alert.channels import Channel, SmtpSettings
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
FAILURE_ONLY_FIELDS = ("class", "exception", "error", "include_retried")
RULE_NAME = re.compile(r"[A-Za-z0-9_.:@-]+")
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
    max_run_time: timedelta | None = None  # stuck: None = the target's (Delayed Job) or 4h (Resque)
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


class FieldError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _strings(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise FieldError(key, "expected a non-empty string or a list of them")
    return tuple(value)


def duration_field(key: str, value: Any, *, allow_zero: bool = False) -> timedelta | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError(key, "expected a duration like 90s, 15m, 2h, 1d")
    try:
        d = parse_duration(str(value))
    except ValueError as e:
        raise FieldError(key, str(e)) from None
    if d.total_seconds() <= 0:
        if allow_zero:
            return None
        raise FieldError(key, "must be longer than 0s")
    return d


def _state(key: str, value: Any, allowed: tuple[str, ...]) -> State:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise FieldError(key, f"must be one of {', '.join(allowed)} (got {value!r})")
    return State.parse(value)


def build_rule(name: str, fields: Mapping[str, Any], *, channels: Mapping[str, Channel] | None = None,
               known_targets: set[str] | None = None, quick: bool = False) -> Rule:
    """Validate one rule's fields; raises `FieldError(key, message)`."""
    unknown = set(fields) - RULE_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise FieldError(k, f"unknown field (allowed: {', '.join(sorted(RULE_KEYS))})")
    metric = fields.get("metric", "failed")
    if metric not in METRICS:
        raise FieldError("metric", f"unknown metric {metric!r} (one of: {', '.join(METRIC_NAMES)})")
    spec = METRICS[metric]
    if not spec.uses_failures:
        for k in FAILURE_ONLY_FIELDS + ("window",):
            if k in fields:
                raise FieldError(k, f"has no effect on metric {metric!r} (only failed, failure-rate, "
                                  "record-not-found select failures)")
    kw: dict[str, Any] = {"name": name, "metric": metric, "quick": quick}
    if "target" in fields and "url" in fields:
        raise FieldError("url", "give either target or url, not both")
    for key in ("target", "url", "description", "runbook"):
        if key in fields:
            v = fields[key]
            if not isinstance(v, str) or not v:
                raise FieldError(key, "expected a non-empty string")
            kw[key] = v
    if known_targets is not None and kw.get("target") and kw["target"] not in known_targets:
        raise FieldError("target", f"unknown target {kw['target']!r} (known: "
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
            raise FieldError("error", "expected a regular expression string")
        try:
            re.compile(err)
        except re.error as e:
            raise FieldError("error", f"invalid regex {err!r}: {e}") from None
        kw["error"] = err
    if "window" in fields:
        kw["window"] = duration_field("window", fields["window"])
    if "renotify" in fields:
        kw["renotify"] = duration_field("renotify", fields["renotify"], allow_zero=True)
    if "max_run_time" in fields:
        if metric != "stuck":
            raise FieldError("max_run_time", "only applies to metric 'stuck'")
        kw["max_run_time"] = duration_field("max_run_time", fields["max_run_time"])
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
            raise FieldError(key, str(e)) from None
        kw[f"{key}_text"] = str(text)
    kw["thresholds"] = Thresholds(warning=ranges["warning"], critical=ranges["critical"])
    if "severity" in fields:
        kw["severity"] = _state("severity", fields["severity"], ("warning", "critical"))
    if "unreachable" in fields:
        kw["unreachable"] = _state("unreachable", fields["unreachable"], ("critical", "unknown", "warning"))
    for key in ("include_retried", "enabled"):
        if key in fields and not isinstance(fields[key], bool):
            raise FieldError(key, "expected true or false")
    if "include_retried" in fields:
        kw["include_retried"] = fields["include_retried"]
    if "samples" in fields:
        s = fields["samples"]
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= 50:
            raise FieldError("samples", "expected a whole number from 0 to 50")
        kw["samples"] = s
    if "notify" in fields:
        names = _strings("notify", fields["notify"])
        if channels is not None:
            for n in names:
                if n not in channels:
                    raise FieldError("notify", f"unknown channel {n!r} (defined: "
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
    except FieldError as e:
        raise RuleFileError(f"option --{e.key.replace('_', '-')}: {e}") from None
