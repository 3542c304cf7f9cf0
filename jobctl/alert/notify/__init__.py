"""Notifications: what is sent (`Notification`, the alert JSON) and sending it to every channel.

Each (notification, channel) pair is sent in its own thread, bounded by the run's deadline; one
failing channel never stops the others. Errors come back as `NotifyOutcome`s with every secret
masked (SMTP password, webhook URL) — they are printed on stderr and listed in `-o json`.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobctl.alert.evaluate import sample_dict
from jobctl.alert.state import RESOLVED
from jobctl.safe import visible

if TYPE_CHECKING:
    from jobctl.alert.channels import Channel, SmtpSettings
    from jobctl.alert.evaluate import RuleResult
    from jobctl.alert.secrets import Secrets

ALERT_SCHEMA_VERSION = 1
MAX_SAMPLE_ERROR = 1000  # characters of each sample's error kept in the alert JSON


class NotifyError(Exception):
    """A channel could not deliver; the message must already be free of secrets."""


def _cut(text: Any, limit: int) -> Any:
    if isinstance(text, str) and len(text) > limit:
        return text[:limit] + f"… (truncated, {len(text)} chars)"
    return text


@dataclass(slots=True)
class Notification:
    kind: str  # PROBLEM | ESCALATED | REMINDER | RESOLVED
    result: RuleResult
    previous: str | None  # state name before this run
    since: str  # when the rule entered its current state
    now: datetime
    host: str = field(default_factory=socket.gethostname)

    @property
    def status(self) -> str:
        """'RESOLVED' for a recovery, else the state name: used in subjects and headers."""
        return RESOLVED if self.kind == RESOLVED else self.result.state.name

    def first_line(self) -> str:
        return f"JOBCTL {self.status} - {self.result.message}"

    def subject_fields(self) -> dict[str, str]:
        r = self.result
        return {"summary": visible(r.summary), "status": self.status, "state": r.state.name, "kind": self.kind,
                "rule": visible(r.rule.name), "target": visible(r.target), "host": visible(self.host),
                "value": "" if r.value is None else f"{r.value:g}"}

    def to_dict(self) -> dict[str, Any]:
        """The alert JSON: the `command` channel's stdin and the `json` webhook's body."""
        r = self.result
        samples = []
        for f in r.samples:
            d = sample_dict(f)
            d["error"] = _cut(d.get("error"), MAX_SAMPLE_ERROR)
            samples.append(d)
        return {
            "version": ALERT_SCHEMA_VERSION,
            "source": "jobctl",
            "kind": self.kind,
            "status": self.status,
            "state": r.state.name,
            "previous_state": self.previous,
            "rule": r.rule.name,
            "target": r.target,
            "metric": r.rule.metric,
            "value": r.value,
            "capped": r.capped,
            "summary": r.summary,
            "message": r.message,
            "first_line": self.first_line(),
            "since": self.since,
            "time": self.now.isoformat().replace("+00:00", "Z"),
            "host": self.host,
            "severity": r.rule.severity.name,
            "runbook": r.rule.runbook,
            "description": r.rule.description,
            "hint": r.hint,
            "error": r.error,
            "details": list(r.details),
            "samples": samples,
        }


@dataclass(slots=True)
class NotifyContext:
    smtp: SmtpSettings
    secrets: Secrets


@dataclass(slots=True)
class NotifyOutcome:
    channel: str
    channel_type: str
    rule: str
    target: str
    kind: str
    ok: bool
    error: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "type": self.channel_type, "rule": self.rule, "target": self.target,
                "kind": self.kind, "ok": self.ok, "error": self.error, "seconds": round(self.seconds, 3)}


def send_one(n: Notification, channel: Channel, ctx: NotifyContext, timeout: float) -> None:
    """Deliver one notification on one channel (raises on failure)."""
    if channel.type == "email":
        from jobctl.alert.notify.email import send_email

        send_email(n, channel, ctx.smtp, timeout=timeout)
    elif channel.type == "webhook":
        from jobctl.alert.notify.webhook import send_webhook

        send_webhook(n, channel, timeout=timeout)
    elif channel.type == "command":
        from jobctl.alert.notify.command import run_command

        run_command(n, channel, timeout=timeout)
    else:  # parse_channel rejects other types; guard against a hand-built Channel
        raise NotifyError(f"unknown channel type {channel.type!r}")


def dispatch(items: list[tuple[Notification, Channel]], ctx: NotifyContext, deadline: float) -> list[NotifyOutcome]:
    """Send all pairs concurrently; anything unfinished at `deadline` (monotonic) is a timeout."""
    outcomes: list[NotifyOutcome | None] = [None] * len(items)
    starts = [0.0] * len(items)

    def work(i: int, n: Notification, ch: Channel) -> None:
        starts[i] = time.monotonic()
        configured = ch.timeout or (ctx.smtp.timeout if ch.type == "email" else 10.0)
        timeout = max(0.5, min(configured, deadline - time.monotonic()))
        try:
            send_one(n, ch, ctx, timeout)
            outcomes[i] = _outcome(n, ch, ok=True, seconds=time.monotonic() - starts[i])
        except Exception as e:  # noqa: BLE001 - one channel's failure is reported, never fatal
            text = str(e) if isinstance(e, NotifyError) else f"{type(e).__name__}: {e}"
            outcomes[i] = _outcome(n, ch, ok=False, error=visible(ctx.secrets.mask(text), max_len=500),
                                   seconds=time.monotonic() - starts[i])

    threads = []
    for i, (n, ch) in enumerate(items):
        t = threading.Thread(target=work, args=(i, n, ch), name=f"jobctl-notify-{ch.name}", daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    result: list[NotifyOutcome] = []
    for i, (n, ch) in enumerate(items):
        o = outcomes[i]
        if o is None:
            o = _outcome(n, ch, ok=False, error="timed out (the run's --timeout was reached)",
                         seconds=time.monotonic() - starts[i] if starts[i] else 0.0)
        result.append(o)
    return result


def _outcome(n: Notification, ch: Channel, *, ok: bool, error: str | None = None, seconds: float = 0.0) -> NotifyOutcome:
    return NotifyOutcome(channel=ch.name, channel_type=ch.type, rule=n.result.rule.name, target=n.result.target,
                         kind=n.kind, ok=ok, error=error, seconds=seconds)
