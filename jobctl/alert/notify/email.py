"""E-mail notifier: SMTP (plain, STARTTLS or implicit TLS, optional AUTH), text + HTML alternative.

Subject (template per channel, default "{summary} now [{status}]"), e.g.
"12 failed jobs in toxic queue now [CRITICAL]". The body carries the plugin line, the facts and a
table of the newest matching failures (class, error, failed_at, worker).
"""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING

from jobctl.alert.notify import NotifyError
from jobctl.alert.notify.text import facts, failure_rows, plain_body
from jobctl.safe import visible

if TYPE_CHECKING:
    from jobctl.alert.channels import Channel, SmtpSettings
    from jobctl.alert.notify import Notification

DEFAULT_SUBJECT = "{summary} now [{status}]"


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def subject_for(n: Notification, template: str | None) -> str:
    text = (template or DEFAULT_SUBJECT).format_map(_Blank(n.subject_fields()))
    return visible(text, max_len=200)


def html_body(n: Notification) -> str:
    r = n.result
    e = html.escape
    colour = {"CRITICAL": "#c0392b", "WARNING": "#d68910", "UNKNOWN": "#7f8c8d"}.get(n.status, "#1e8449")
    out = [
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">",
        f"<p style=\"font-weight:bold;color:{colour}\">{e(n.first_line())}</p>",
        "<table>",
        *[f"<tr><th align=\"left\">{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts(n)],
        "</table>",
    ]
    if r.error:
        out.append(f"<p><b>Error:</b> {e(r.error)}</p>")
    if r.hint:
        out.append(f"<p><b>Hint:</b> {e(r.hint)}</p>")
    if r.details:
        out.append("<ul>" + "".join(f"<li>{e(d)}</li>" for d in r.details) + "</ul>")
    rows = failure_rows(n, error_len=500)
    if rows:
        out.append(f"<p>Newest matching failures ({len(rows)}):</p>")
        out.append("<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\" style=\"border-collapse:collapse\">"
                   "<tr><th>class</th><th>error</th><th>failed_at</th><th>worker</th><th>queue</th></tr>")
        for row in rows:
            out.append("<tr>" + "".join(f"<td>{e(row[c])}</td>" for c in ("class", "error", "failed_at", "worker",
                                                                          "queue")) + "</tr>")
        out.append("</table>")
    out.append("<p style=\"color:#888\">jobctl alert (read-only check; nothing was changed in the queue store)</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def build_email(n: Notification, channel: Channel, smtp: SmtpSettings) -> EmailMessage:
    sender = channel.sender or smtp.sender or f"jobctl@{visible(n.host)}"
    msg = EmailMessage()
    msg["Subject"] = subject_for(n, channel.subject)
    msg["From"] = sender
    msg["To"] = ", ".join(channel.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] if "@" in sender else None)
    msg["X-Jobctl-Rule"] = visible(n.result.rule.name, max_len=100)
    msg["X-Jobctl-Status"] = n.status
    msg.set_content(plain_body(n))
    msg.add_alternative(html_body(n), subtype="html")
    return msg


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=smtp.ca_file) if smtp.ca_file else ssl.create_default_context()
    if not smtp.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def send_email(n: Notification, channel: Channel, smtp: SmtpSettings, *, timeout: float) -> None:
    msg = build_email(n, channel, smtp)
    where = f"SMTP {smtp.host}:{smtp.port}"
    try:
        client: smtplib.SMTP
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=_tls_context(smtp))
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            client.ehlo()
            if smtp.security == "starttls":
                client.starttls(context=_tls_context(smtp))
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            refused = client.send_message(msg, to_addrs=list(channel.to))
    except smtplib.SMTPAuthenticationError as e:
        raise NotifyError(f"{where}: authentication failed for {smtp.username!r} ({e.smtp_code})") from None
    except smtplib.SMTPException as e:
        raise NotifyError(f"{where}: {type(e).__name__}: {e}") from None
    except ssl.SSLError as e:
        raise NotifyError(f"{where}: TLS error: {e.reason or e}") from None
    except OSError as e:
        raise NotifyError(f"{where}: {e.strerror or type(e).__name__ + ': ' + str(e)}") from None
    if refused:
        raise NotifyError(f"{where}: recipients refused: {', '.join(sorted(refused))}")
