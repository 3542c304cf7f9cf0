"""Evaluate a rule: measure, apply thresholds, word the message, build perfdata.

`RuleResult` is what every output (plugin text, JSON, notifications, prom file) is made from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobctl.alert.measure import RECORD_NOT_FOUND_HINT, Measurement, measure
from jobctl.alert.thresholds import State, format_number
from jobctl.model import Failure
from jobctl.safe import visible
from jobctl.timeutil import format_age

if TYPE_CHECKING:
    from jobctl.alert.rules import Rule
    from jobctl.backends.base import Backend

DEFAULT_CAP = 100_000  # counts stop here (reported as ">=N")
DEFAULT_SCAN_LIMIT = 2_000  # record-not-found reads at most this many newest matching failures
SAMPLE_FIELDS = ("id", "failed_at", "queue", "job_class", "exception", "error", "worker")


@dataclass(slots=True)
class RuleResult:
    rule: Rule
    target: str  # target label (name or masked URL)
    state: State
    value: float | None
    message: str  # "toxic: 12 failed in 15m (crit >5)"
    summary: str  # "12 failed jobs in toxic queue" (mail subject, Slack header)
    capped: bool = False
    count: int | None = None
    samples: list[Failure] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    hint: str | None = None
    error: str | None = None  # set when the target could not be read

    @property
    def key(self) -> str:
        return self.rule.state_key(self.target)

    def perfdata(self) -> str:
        return perfdata_item(self.rule.perf_label, self.value, self.rule)

    def to_dict(self) -> dict[str, Any]:
        r = self.rule
        return {
            "rule": r.name,
            "target": self.target,
            "metric": r.metric,
            "state": self.state.name,
            "exit_code": int(self.state),
            "value": self.value,
            "count": self.count,
            "capped": self.capped,
            "message": self.message,
            "summary": self.summary,
            "queues": list(r.queues),
            "classes": list(r.classes),
            "exceptions": list(r.exceptions),
            "error_regex": r.error,
            "window_s": w.total_seconds() if (w := r.effective_window()) else None,
            "warning": r.thresholds.warning.text if r.thresholds.warning else None,
            "critical": r.thresholds.critical.text if r.thresholds.critical else None,
            "severity": r.severity.name,
            "perfdata": self.perfdata(),
            "samples": [sample_dict(f) for f in self.samples],
            "details": list(self.details),
            "hint": self.hint,
            "error": self.error,
            "runbook": r.runbook,
            "description": r.description,
        }


def sample_dict(f: Failure) -> dict[str, Any]:
    d = f.to_dict()
    return {k: d.get(k) for k in SAMPLE_FIELDS}


def _quote_label(label: str) -> str:
    if any(c in label for c in " ='\"|"):
        return "'" + label.replace("'", "''") + "'"
    return label


def perfdata_item(label: str, value: float | None, rule: Rule) -> str:
    """`'label'=value[UOM];warn;crit;min;max` (monitoring-plugin perfdata)."""
    warn, crit = rule.thresholds.perfdata_fields()
    shown = "U" if value is None else format_number(round(value, 3))
    return f"{_quote_label(label)}={shown}{rule.spec.unit if value is not None else ''};{warn};{crit};0;"


def _plural(n: float, word: str) -> str:
    return f"{format_number(n)} {word}{'' if n == 1 else 's'}"


def _count_text(m: Measurement) -> str:
    n = format_number(m.count if m.count is not None else (m.value or 0))
    return f">={n}" if m.capped else n


def _in_scope(rule: Rule) -> str:
    if rule.quick or not rule.queues or rule.name == rule.scope():
        return ""
    return f" in queue{'s' if len(rule.queues) > 1 else ''} {rule.scope()}"


def _body(rule: Rule, m: Measurement) -> str:
    metric = rule.metric
    win = f" in {rule.window_text()}" if rule.effective_window() else ""
    if metric == "failed":
        return f"{_count_text(m)} failed{_in_scope(rule)}{win}"
    if metric == "record-not-found":
        return f"{_count_text(m)} RecordNotFound failures{_in_scope(rule)}{win}"
    if metric == "failure-rate":
        rate = format_number(round(m.value or 0.0, 2))
        return f"{rate} failures/min{_in_scope(rule)} over {rule.window_text()} ({_count_text(m)} failed)"
    if metric == "size":
        return f"{_count_text(m)} waiting{_in_scope(rule)}"
    if metric == "latency":
        if m.value is None:
            return f"latency unknown{_in_scope(rule)}"  # m.note says why
        return f"oldest job{_in_scope(rule)} waiting {format_age(m.value)}"
    if metric == "stuck":
        return f"{_plural(m.value or 0, 'stuck job')}{_in_scope(rule)}"
    return f"{_plural(m.value or 0, 'stale worker')}{_in_scope(rule)}"


def _where(rule: Rule) -> str:
    if not rule.queues:
        return ""
    if len(rule.queues) == 1:
        return f" in {rule.queues[0]} queue"
    return f" in queues {', '.join(rule.queues)}"


def summary_text(rule: Rule, value: float | None, capped: bool = False) -> str:
    """Words for a subject line: '12 failed jobs in toxic queue'."""
    n = format_number(value or 0) if rule.metric != "failure-rate" else format_number(round(value or 0, 2))
    more = "+" if capped else ""
    where = visible(_where(rule))
    metric = rule.metric
    if metric == "failed":
        return f"{n}{more} failed job{'' if value == 1 else 's'}{where}"
    if metric == "record-not-found":
        return f"{n}{more} RecordNotFound failure{'' if value == 1 else 's'}{where}"
    if metric == "failure-rate":
        return f"{n} failures/min{where}"
    if metric == "size":
        return f"{n} job{'' if value == 1 else 's'} waiting{where}"
    if metric == "latency":
        return f"oldest job{where} waiting {format_age(value)}" if value is not None else f"latency unknown{where}"
    if metric == "stuck":
        return f"{n} stuck job{'' if value == 1 else 's'}{where}"
    return f"{n} stale worker{'' if value == 1 else 's'}{where}"


def _threshold_text(rule: Rule, state: State) -> str:
    rng = rule.thresholds.crossed(state)
    if rng is None:
        return ""
    word = "crit" if state == State.CRITICAL else "warn"
    return f" ({word} {rng.describe(as_age=rule.metric == 'latency')})"


def evaluate(rule: Rule, backend: Backend, target: str, now: datetime, *, cap: int = DEFAULT_CAP,
             scan_limit: int = DEFAULT_SCAN_LIMIT) -> RuleResult:
    """Measure `rule` on `backend` and judge it. Backend errors propagate to the caller."""
    m = measure(rule, backend, now, cap=cap, scan_limit=scan_limit)
    if m.value is None:
        state = State.UNKNOWN
    else:
        state = rule.thresholds.state(m.value)
        if state.rank > rule.severity.rank and state != State.UNKNOWN:
            state = rule.severity
    raw_state = rule.thresholds.state(m.value) if m.value is not None else State.UNKNOWN
    thr = _threshold_text(rule, raw_state) if state != State.OK else ""
    sel = visible(rule.selectors_text())
    message = f"{visible(rule.name)}: {_body(rule, m)}{sel}{thr}"
    if m.note:
        message += f" ({m.note})"
    hint = RECORD_NOT_FOUND_HINT if rule.metric == "record-not-found" and (m.value or 0) > 0 else None
    return RuleResult(rule=rule, target=target, state=state, value=m.value, message=message,
                      summary=summary_text(rule, m.value, m.capped), capped=m.capped, count=m.count,
                      samples=m.samples, details=m.details, hint=hint)


def error_result(rule: Rule, target: str, error: str, state: State) -> RuleResult:
    """A rule whose target could not be read (unreachable, timed out, internal error)."""
    text = visible(error, max_len=300)
    return RuleResult(rule=rule, target=target, state=state, value=None,
                      message=f"{visible(rule.name)}: {text}",
                      summary=f"cannot check {visible(rule.name)} on {visible(target)}", error=text)
