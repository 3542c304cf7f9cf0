"""Webhook notifier: Slack-compatible JSON (`text` fallback + blocks) or the generic alert JSON.

Slack limits respected: a `section` text is at most 3000 characters (longer is rejected with HTTP
400), a `header` 150, at most 50 blocks; `&`, `<`, `>` are escaped so queue data cannot produce
`<!channel>` pings or links. HTTP 429 is retried once after `Retry-After` if the deadline allows.
The URL is a secret: errors show only scheme and host.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from jobctl import __version__
from jobctl.alert.notify import NotifyError
from jobctl.alert.notify.text import failure_rows
from jobctl.alert.secrets import mask_webhook_url
from jobctl.safe import visible

if TYPE_CHECKING:
    from jobctl.alert.channels import Channel
    from jobctl.alert.notify import Notification

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
TEXT_LIMIT = 3000
MAX_BLOCKS = 50
_EMOJI = {"CRITICAL": ":red_circle:", "WARNING": ":warning:", "UNKNOWN": ":grey_question:",
          "RESOLVED": ":white_check_mark:", "OK": ":white_check_mark:"}


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = "… (truncated)"
    return text[: limit - len(marker)] + marker


def _code_block(lines: list[str], limit: int) -> str:
    body = "\n".join(lines).replace("```", "'''")
    return "```" + truncate(body, limit - 6) + "```"


def slack_payload(n: Notification) -> dict[str, Any]:
    r = n.result
    first = slack_escape(n.first_line())
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": truncate(f"{n.status}: {visible(r.summary)}", HEADER_LIMIT)}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": truncate(f"{_EMOJI.get(n.status, '')} *{first}*", SECTION_LIMIT)}},
    ]
    if r.error:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": truncate("*Error:* " + slack_escape(r.error), SECTION_LIMIT)}})
    if r.hint:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": truncate("*Hint:* " + slack_escape(r.hint), SECTION_LIMIT)}})
    if r.details:
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": _code_block([slack_escape(d) for d in r.details],
                                                                       SECTION_LIMIT)}})
    rows = failure_rows(n, error_len=400)
    if rows:
        lines = [slack_escape(f"{row['failed_at']}  {row['queue']}  {row['class']}  {row['error']}  ({row['worker']})")
                 for row in rows]
        blocks.append({"type": "section", "text": {"type": "mrkdwn",
                                                   "text": truncate(f"*Newest matching failures ({len(rows)}):*\n",
                                                                    200) + _code_block(lines, SECTION_LIMIT - 60)}})
    ctx = f"rule *{slack_escape(visible(r.rule.name))}* · target {slack_escape(visible(r.target))} · " \
          f"host {slack_escape(visible(n.host))} · since {n.since}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(ctx, SECTION_LIMIT)}]})
    if r.rule.runbook and r.rule.runbook.startswith(("http://", "https://")):
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Runbook"}, "url": r.rule.runbook[:3000]}]})
    fallback = f"{n.status}: {visible(r.summary)} - {n.first_line()}"
    return {"text": truncate(slack_escape(fallback), TEXT_LIMIT), "blocks": blocks[:MAX_BLOCKS]}


def payload_for(n: Notification, fmt: str) -> dict[str, Any]:
    return slack_payload(n) if fmt == "slack" else n.to_dict()


def post_json(url: str, payload: dict[str, Any], *, timeout: float, headers: dict[str, str] | None = None,
              deadline: float | None = None) -> int:
    """POST JSON; returns the HTTP status. Retries once on 429 (Retry-After) within the deadline."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    shown = mask_webhook_url(url)
    deadline = deadline if deadline is not None else time.monotonic() + timeout
    for attempt in (1, 2):
        req = urllib.request.Request(url, data=data, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "User-Agent": f"jobctl/{__version__}",
            **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=max(0.5, deadline - time.monotonic())) as resp:  # noqa: S310
                resp.read(4096)
                return int(resp.status)
        except urllib.error.HTTPError as e:
            body = e.read(300).decode("utf-8", "replace") if e.fp else ""
            if e.code == 429 and attempt == 1:
                wait = _retry_after(e.headers.get("Retry-After"))
                if time.monotonic() + wait < deadline - 0.5:
                    time.sleep(wait)
                    continue
            raise NotifyError(f"webhook {shown}: HTTP {e.code} {visible(body.strip(), max_len=200)}") from None
        except urllib.error.URLError as e:
            raise NotifyError(f"webhook {shown}: {visible(str(e.reason))}") from None
        except (TimeoutError, OSError) as e:
            raise NotifyError(f"webhook {shown}: {type(e).__name__}: {visible(str(e))}") from None
    raise NotifyError(f"webhook {shown}: HTTP 429 (rate limited)")


def _retry_after(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.0), 30.0)
    except ValueError:
        return 1.0


def send_webhook(n: Notification, channel: Channel, *, timeout: float) -> None:
    assert channel.url is not None
    post_json(channel.url, payload_for(n, channel.format), timeout=timeout, headers=channel.headers)
