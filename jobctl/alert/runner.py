"""One `jobctl alert` run: evaluate every rule within the deadline, then (under the state lock)
decide transitions, send notifications and save state.

Timing: evaluation runs in one daemon thread per target, so a hung server only affects its own
rules; at the evaluation deadline unfinished rules become "did not answer within Ns" results with
the unreachable state (CRITICAL by default). The rest of the budget is kept for the state lock and
notifications; `RunReport.abandoned` tells the CLI that a thread is still blocked (it then exits
with os._exit so cron never hangs on it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobctl.alert.evaluate import DEFAULT_CAP, DEFAULT_SCAN_LIMIT, RuleResult, error_result, evaluate
from jobctl.alert.notify import Notification, NotifyContext, NotifyOutcome, dispatch
from jobctl.alert.state import RESOLVED, RuleState, StateError, StateStore, decide, not_sent
from jobctl.alert.thresholds import State, worst
from jobctl.errors import JobctlError, NotAQueueStore, TargetUnreachable
from jobctl.safe import mask_secrets_in

if TYPE_CHECKING:
    from jobctl.alert.channels import Channel
    from jobctl.alert.rules import Rule, RuleSet
    from jobctl.backends.base import Backend
    from jobctl.targets import Target

Opener = Callable[["Target"], "Backend"]
_DRIVER_MODULES = ("redis", "sqlalchemy", "psycopg", "pymysql", "sqlite3", "socket", "ssl")


@dataclass(slots=True)
class RunOptions:
    now: datetime
    timeout: float = 10.0
    dry_run: bool = False
    state_path: Path | None = None  # None: no state (every non-OK result counts as new)
    unreachable: State | None = None  # overrides every rule's `unreachable`
    cap: int = DEFAULT_CAP
    scan_limit: int = DEFAULT_SCAN_LIMIT


@dataclass(slots=True)
class Planned:
    notification: Notification
    channels: list[Channel]
    sent: bool = False


@dataclass(slots=True)
class RunReport:
    results: list[RuleResult]
    planned: list[Planned] = field(default_factory=list)
    outcomes: list[NotifyOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    abandoned: bool = False
    dry_run: bool = False
    duration_s: float = 0.0

    @property
    def state(self) -> State:
        return worst(r.state for r in self.results)

    @property
    def notifier_errors(self) -> list[NotifyOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def reached_all(self) -> bool:
        return all(r.error is None for r in self.results)


def is_connection_error(e: BaseException) -> bool:
    if isinstance(e, (TargetUnreachable, NotAQueueStore, OSError, TimeoutError)):
        return True
    mod = type(e).__module__.split(".", 1)[0]
    name = type(e).__name__
    return mod in _DRIVER_MODULES and any(w in name for w in ("Connection", "Timeout", "Operational", "Interface"))


def _evaluate_target(target: Target, rules: list[tuple[int, Rule]], opener: Opener, opts: RunOptions,
                     out: dict[int, RuleResult]) -> None:
    label = target.label()
    backend: Backend | None = None
    try:
        backend = opener(target)
        for pos, (i, rule) in enumerate(rules):
            try:
                out[i] = evaluate(rule, backend, label, opts.now, cap=opts.cap, scan_limit=opts.scan_limit)
            except Exception as e:  # noqa: BLE001 - every failure becomes a plugin state, never a traceback
                text = mask_secrets_in(str(e), [target.url])
                if is_connection_error(e):
                    why = text if isinstance(e, JobctlError) else f"target {label} unreachable: {text}"
                    for j, r in rules[pos:]:
                        out[j] = error_result(r, label, why, opts.unreachable or r.unreachable)
                    return
                out[i] = error_result(rule, label, f"cannot evaluate: {type(e).__name__}: {text}", State.UNKNOWN)
    except Exception as e:  # noqa: BLE001 - opening the backend failed
        text = mask_secrets_in(str(e), [target.url])
        for j, r in rules:
            out.setdefault(j, error_result(r, label, f"target {label} unreachable: {text}",
                                           opts.unreachable or r.unreachable))
    finally:
        if backend is not None:
            try:
                backend.close()
            except Exception:  # noqa: BLE001 - closing never changes the result
                pass


def evaluate_all(rules: list[Rule], targets: list[Target], opener: Opener, opts: RunOptions,
                 deadline: float) -> tuple[list[RuleResult], bool]:
    """Evaluate rules (rules[i] runs against targets[i]) with one thread per distinct target."""
    groups: dict[str, tuple[Target, list[tuple[int, Rule]]]] = {}
    for i, (rule, target) in enumerate(zip(rules, targets, strict=True)):
        key = f"{target.url}\0{target.namespace}\0{target.table}\0{sorted(target.options.items())!r}"
        groups.setdefault(key, (target, []))[1].append((i, rule))
    out: dict[int, RuleResult] = {}
    threads = []
    for target, members in groups.values():
        t = threading.Thread(target=_evaluate_target, args=(target, members, opener, opts, out),
                             name=f"jobctl-alert-{target.label()}", daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    abandoned = any(t.is_alive() for t in threads)
    results = []
    for i, (rule, target) in enumerate(zip(rules, targets, strict=True)):
        r = out.get(i)
        if r is None:
            r = error_result(rule, target.label(), f"target {target.label()} did not answer within "
                             f"{opts.timeout:g}s (--timeout)", opts.unreachable or rule.unreachable)
        results.append(r)
    return results, abandoned


def _plan(results: list[RuleResult], previous: dict[str, RuleState], ruleset: RuleSet, opts: RunOptions
          ) -> tuple[list[Planned], dict[str, tuple[RuleState | None, RuleState]]]:
    planned: list[Planned] = []
    updates: dict[str, tuple[RuleState | None, RuleState]] = {}
    for r in results:
        prev = previous.get(r.key)
        kind, new = decide(prev, r.state, opts.now, r.rule.renotify, r.value)
        channels = [ruleset.channels[n] for n in r.rule.notify if n in ruleset.channels]
        if kind == RESOLVED:
            channels = [c for c in channels if c.send_resolved]
        if kind is not None and channels:
            n = Notification(kind=kind, result=r, previous=prev.state if prev else None, since=new.since,
                             now=opts.now)
            planned.append(Planned(notification=n, channels=channels))
            updates[r.key] = (prev, new)
        else:
            updates[r.key] = (prev, not_sent(prev, new) if kind is not None else new)
    return planned, updates


def run(ruleset: RuleSet, targets: list[Target], opts: RunOptions, opener: Opener | None = None) -> RunReport:
    """Evaluate, then notify on transitions. Never raises for target or notifier problems."""
    if opener is None:
        from jobctl.backends import open_backend

        opener = open_backend
    start = time.monotonic()
    end = start + opts.timeout
    notifying = any(r.notify for r in ruleset.rules)
    reserve = min(5.0, opts.timeout * 0.3) if notifying else min(1.0, opts.timeout * 0.1)
    results, abandoned = evaluate_all(ruleset.rules, targets, opener, opts, end - reserve)
    report = RunReport(results=results, abandoned=abandoned, dry_run=opts.dry_run)
    if opts.state_path is None:
        planned, _ = _plan(results, {}, ruleset, opts)
        report.planned = planned
        if not opts.dry_run:
            _send(report, ruleset, end)
    else:
        store = StateStore(opts.state_path)
        try:
            if opts.dry_run:
                report.planned, _ = _plan(results, store.load(), ruleset, opts)
            else:
                with store.locked(max(0.0, end - time.monotonic() - 0.5)):
                    states = store.load()
                    report.planned, updates = _plan(results, states, ruleset, opts)
                    _send(report, ruleset, end)
                    for p in report.planned:
                        key = p.notification.result.key
                        prev, new = updates[key]
                        if not p.sent:
                            updates[key] = (prev, not_sent(prev, new))
                    states.update({k: new for k, (_prev, new) in updates.items()})
                    store.save(states)
        except StateError as e:
            report.warnings.append(f"{e}; notifications were not sent")
        report.warnings.extend(store.warnings)
    report.duration_s = time.monotonic() - start
    return report


def _send(report: RunReport, ruleset: RuleSet, end: float) -> None:
    items = [(p.notification, c) for p in report.planned for c in p.channels]
    if not items:
        return
    outcomes = dispatch(items, NotifyContext(smtp=ruleset.smtp, secrets=ruleset.secrets), end)
    report.outcomes = outcomes
    ok_keys = {(o.rule, o.target) for o in outcomes if o.ok}
    for p in report.planned:
        r = p.notification.result
        p.sent = (r.rule.name, r.target) in ok_keys


def planned_dicts(report: RunReport) -> list[dict[str, Any]]:
    """Planned notifications for JSON output (with previews, useful for --dry-run)."""
    from jobctl.alert.notify.email import subject_for
    from jobctl.alert.secrets import mask_webhook_url

    out = []
    for p in report.planned:
        n = p.notification
        chans = []
        for c in p.channels:
            d: dict[str, Any] = {"channel": c.name, "type": c.type}
            if c.type == "email":
                d.update(to=list(c.to), subject=subject_for(n, c.subject))
            elif c.type == "webhook":
                d.update(url=mask_webhook_url(c.url or ""), format=c.format)
            else:
                d.update(command=list(c.argv))
            chans.append(d)
        out.append({"rule": n.result.rule.name, "target": n.result.target, "kind": n.kind, "status": n.status,
                    "sent": p.sent, "channels": chans, "alert": n.to_dict()})
    return out
