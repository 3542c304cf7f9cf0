"""The output contract: monitoring-plugin text (first line + long text) and the JSON document.

First line: `JOBCTL <STATE> - <message> | <perfdata>`; for several rules the message lists the
rules that are not OK, worst first. Only the first line is guaranteed to be shown by Nagios /
Icinga / Sensu, so it carries the essentials; extra lines add hints, details and the newest
matching failures (all untrusted text through `safe.visible()`, one line each).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobctl.alert.thresholds import State
from jobctl.safe import visible

if TYPE_CHECKING:
    from jobctl.alert.evaluate import RuleResult
    from jobctl.alert.runner import RunReport

MAX_LINE = 2000


def _one_line(text: str) -> str:
    # '|' starts perfdata in the plugin protocol: keep it out of the human part
    return visible(text, max_len=MAX_LINE).replace("|", "¦")


def first_line(results: list[RuleResult], state: State) -> str:
    if len(results) == 1:
        body = results[0].message
    else:
        bad = sorted((r for r in results if r.state != State.OK), key=lambda r: -r.state.rank)
        if bad:
            body = f"{len(bad)} of {len(results)} rules not OK: " + "; ".join(r.message for r in bad)
        else:
            body = f"all {len(results)} rules OK"
    perf = " ".join(r.perfdata() for r in results)
    return f"JOBCTL {state.name} - {_one_line(body)} | {perf}"


def _failure_line(f: Any) -> str:
    when = f.failed_at.strftime("%Y-%m-%d %H:%M:%S") if f.failed_at else "-"
    err = ((f.exception + ": ") if f.exception else "") + (f.error or "")
    worker = f" (worker {visible(f.worker, max_len=80)})" if f.worker else ""
    return (f"  - {when} {visible(f.queue or '-', max_len=60)} {visible(f.job_class, max_len=80)}: "
            f"{visible(err, max_len=200)}{worker}")


def _preview(n: Any, channel: Any) -> str:
    """What a dry run would send on one channel (secrets masked)."""
    if channel.type == "email":
        from jobctl.alert.notify.email import subject_for

        return f"{channel.name}: e-mail to {', '.join(channel.to)}, subject {subject_for(n, channel.subject)!r}"
    if channel.type == "webhook":
        from jobctl.alert.secrets import mask_webhook_url

        return f"{channel.name}: POST {channel.format} JSON to {mask_webhook_url(channel.url or '')}"
    return f"{channel.name}: run {visible(' '.join(channel.argv), max_len=200)} with the alert JSON on stdin"


def long_text(report: RunReport) -> list[str]:
    lines: list[str] = []
    many = len(report.results) > 1
    for r in report.results:
        if many:
            lines.append(f"[{r.state.name}] {_one_line(r.message)}")
        if r.state == State.OK and many:
            continue
        if r.hint:
            lines.append(f"  hint: {r.hint}")
        lines += [f"  {visible(d, max_len=300)}" for d in r.details]
        if r.samples:
            lines.append(f"  newest matching failures ({len(r.samples)}):")
            lines += [_failure_line(f) for f in r.samples]
        if r.rule.runbook and r.state != State.OK:
            lines.append(f"  runbook: {visible(r.rule.runbook, max_len=300)}")
    for p in report.planned:
        n = p.notification
        names = ", ".join(c.name for c in p.channels)
        if report.dry_run:
            lines.append(f"dry run: would send {n.kind} for {visible(n.result.rule.name)} to {names}")
            lines += [f"  {_preview(n, c)}" for c in p.channels]
        elif p.sent:
            lines.append(f"sent {n.kind} for {visible(n.result.rule.name)} to {names}")
    return lines


def plugin_text(report: RunReport) -> str:
    return "\n".join([first_line(report.results, report.state), *long_text(report)]) + "\n"


def json_document(report: RunReport) -> dict[str, Any]:
    from jobctl.alert.runner import planned_dicts

    state = report.state
    return {
        "state": state.name,
        "exit_code": int(state),
        "first_line": first_line(report.results, state),
        "dry_run": report.dry_run,
        "duration_s": round(report.duration_s, 3),
        "rules": [r.to_dict() for r in report.results],
        "notifications": planned_dicts(report),
        "notifier_errors": [o.to_dict() for o in report.notifier_errors],
        "notifier_results": [o.to_dict() for o in report.outcomes],
        "warnings": list(report.warnings),
    }


def unknown_line(message: str) -> str:
    """For a bad rule file / option / config: exit 3 with this line."""
    return f"JOBCTL UNKNOWN - {_one_line(message)}"
