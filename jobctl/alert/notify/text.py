"""Human text shared by the e-mail and Slack notifiers: headline, facts, the failures table.

Everything that came from a queue goes through `safe.visible()` here (control characters shown
escaped, lengths capped); HTML and Slack escaping is applied on top by each notifier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jobctl.safe import visible

if TYPE_CHECKING:
    from jobctl.alert.notify import Notification

TABLE_COLUMNS = (("class", 32), ("error", 60), ("failed_at", 20), ("worker", 28))


def failure_rows(n: Notification, *, error_len: int = 200) -> list[dict[str, str]]:
    """Newest matching failures as display strings: class, error, failed_at, worker (+ queue)."""
    rows = []
    for f in n.result.samples:
        rows.append({
            "class": visible(f.job_class or "?", max_len=120),
            "error": visible(((f.exception + ": ") if f.exception else "") + (f.error or ""), max_len=error_len),
            "failed_at": f.failed_at.strftime("%Y-%m-%d %H:%M:%S") if f.failed_at else "-",
            "worker": visible(f.worker or "-", max_len=120),
            "queue": visible(f.queue or "-", max_len=80),
        })
    return rows


def facts(n: Notification) -> list[tuple[str, str]]:
    r = n.result
    out = [
        ("Status", n.status if n.previous is None else f"{n.status} (was {n.previous})"),
        ("Rule", f"{visible(r.rule.name)} (metric {r.rule.metric})"),
        ("Target", visible(r.target)),
        ("Since", n.since),
        ("Host", visible(n.host)),
    ]
    if r.rule.description:
        out.append(("About", visible(r.rule.description, max_len=300)))
    if r.rule.runbook:
        out.append(("Runbook", visible(r.rule.runbook, max_len=500)))
    return out


def _pad(text: str, width: int) -> str:
    text = text.replace("\n", " ")
    return (text[: width - 1] + "…") if len(text) > width else text.ljust(width)


def plain_table(rows: list[dict[str, str]]) -> str:
    header = "  ".join(_pad(name, w) for name, w in TABLE_COLUMNS).rstrip()
    lines = [header, "  ".join("-" * w for _, w in TABLE_COLUMNS)]
    for row in rows:
        lines.append("  ".join(_pad(row[name], w) for name, w in TABLE_COLUMNS).rstrip())
    return "\n".join(lines)


def plain_body(n: Notification) -> str:
    """The text/plain e-mail body (also the basis of other plain renderings)."""
    r = n.result
    parts = [n.first_line(), ""]
    width = max(len(k) for k, _ in facts(n))
    parts += [f"{k + ':':<{width + 1}} {v}" for k, v in facts(n)]
    if r.error:
        parts += ["", f"Error: {r.error}"]
    if r.hint:
        parts += ["", f"Hint: {r.hint}"]
    if r.details:
        parts += ["", *r.details]
    rows = failure_rows(n)
    if rows:
        parts += ["", f"Newest matching failures ({len(rows)}):", "", plain_table(rows)]
    parts += ["", "-- ", "jobctl alert (read-only check; nothing was changed in the queue store)"]
    return "\n".join(parts) + "\n"
