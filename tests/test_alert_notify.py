"""Notifiers against real servers on loopback: aiosmtpd (plain, STARTTLS + AUTH, implicit TLS),
http.server for webhooks, real child processes for `command`. Secrets never appear in errors."""

from __future__ import annotations

import json
import os
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from certs import openssl
from resque_data import load_dump
from servers import free_port

from jobctl.alert.channels import Channel, SmtpSettings
from jobctl.alert.evaluate import RuleResult
from jobctl.alert.notify import Notification, NotifyContext, NotifyError, dispatch
from jobctl.alert.notify.command import run_command
from jobctl.alert.notify.email import send_email
from jobctl.alert.notify.webhook import HEADER_LIMIT, SECTION_LIMIT, post_json, slack_payload
from jobctl.alert.rules import quick_rule
from jobctl.alert.secrets import Secrets
from jobctl.alert.thresholds import State
from jobctl.model import Failure

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
HUGE = "x" * 100_000


# ----------------------------------------------------------------------------- servers


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        msg = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))  # type: ignore[arg-type]
        return "250 OK"


def _authenticator(inbox: Inbox, password: bytes):  # type: ignore[no-untyped-def]
    def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            inbox.logins.append((data.login, data.password))
            ok = data.password == password
            return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535 itself
        return AuthResult(success=False, handled=False)
    return auth


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    d = tmp_path_factory.mktemp("tls")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "cert.pem", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", cwd=d)
    return d / "cert.pem", d / "key.pem"


def _server_ctx(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


@pytest.fixture
def smtp_plain() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    c = Controller(inbox, hostname="127.0.0.1", port=port)
    c.start()
    yield inbox, port
    c.stop()


class Hook:
    """Records POSTs; the path picks the reply: /ok 200, /fail 500, /limited 429 once, /slow sleeps."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.limited_once = False


@pytest.fixture
def webhook_server() -> Iterator[tuple[Hook, str]]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server hook
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            hook.requests.append((self.path, dict(self.headers), body))
            if self.path.startswith("/fail"):
                self._reply(500, b"internal error")
            elif self.path.startswith("/limited") and not hook.limited_once:
                hook.limited_once = True
                self._reply(429, b"rate_limited", {"Retry-After": "1"})
            elif self.path.startswith("/slow"):
                time.sleep(5)
                self._reply(200, b"ok")
            else:
                self._reply(200, b"ok")

        def _reply(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            try:
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (the /slow case): nothing to report
                pass

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield hook, f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


# ----------------------------------------------------------------------------- a notification


def _failure(i: int, error: str, **kw: Any) -> Failure:
    return Failure(id=f"f{i}", failed_at=datetime(2026, 11, 27, 19, 51, i % 60, tzinfo=UTC), queue="toxic",
                   job_class=kw.pop("job_class", "ToxicPayloadJob"), name="ToxicPayloadJob",
                   exception=kw.pop("exception", "RuntimeError"), error=error, worker="vm:24912:toxic", **kw)


def make_notification(samples: list[Failure], value: float = 12, kind: str = "PROBLEM") -> Notification:
    rule = quick_rule({"queue": ["toxic"], "window": "15m", "warning": "1", "critical": "5"}, channels={})
    result = RuleResult(rule=rule, target="prod", state=State.CRITICAL, value=value,
                        message=f"toxic: {value:g} failed in 15m (crit >5)",
                        summary=f"{value:g} failed jobs in toxic queue", count=int(value), samples=samples)
    return Notification(kind=kind, result=result, previous="OK", since="2026-11-27T19:52:00Z", now=NOW,
                        host="testhost")


# ----------------------------------------------------------------------------- e-mail


def test_email_end_to_end_from_the_cli(isolated_env: Path, redis_url: str, redis_client, smtp_plain, jobctl) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp_plain
    load_dump(redis_client)
    r = jobctl("-u", redis_url, "alert", "--queue", "toxic", "-c", "1", "--email", "oncall@example.com",
               "--email", "lead@example.com",
               env={"JOBCTL_NOW": NOW.isoformat(), "JOBCTL_SMTP_HOST": "127.0.0.1", "JOBCTL_SMTP_PORT": str(port),
                    "JOBCTL_SMTP_FROM": "jobctl@ops.example.com"})
    assert r.returncode == 2, r.stdout + r.stderr
    assert "sent PROBLEM for toxic to email" in r.stdout
    assert len(inbox.messages) == 1
    sender, rcpts, msg = inbox.messages[0]
    assert sender == "jobctl@ops.example.com"
    assert rcpts == ["oncall@example.com", "lead@example.com"]
    assert msg["Subject"] == "11 failed jobs in toxic queue now [CRITICAL]"
    assert msg["To"] == "oncall@example.com, lead@example.com"
    assert msg.is_multipart() and msg.get_content_type() == "multipart/alternative"
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert plain.startswith("JOBCTL CRITICAL - toxic: 11 failed (crit >1)")
    header = next(line for line in plain.splitlines() if line.startswith("class"))
    assert header.split() == ["class", "error", "failed_at", "worker"]
    assert "ToxicPayloadJob" in plain and "boom: poisoned payload #900" in plain and "vm:24912:toxic" in plain
    assert "<th>class</th><th>error</th><th>failed_at</th><th>worker</th>" in html
    assert "ToxicPayloadJob" in html


def test_dry_run_previews_and_sends_nothing(isolated_env: Path, redis_url: str, redis_client, smtp_plain, jobctl) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp_plain
    load_dump(redis_client)
    r = jobctl("-u", redis_url, "alert", "--queue", "toxic", "-c", "1", "--email", "oncall@example.com",
               "--webhook", "https://hooks.slack.com/services/T0/B0/DRYSECRET", "--dry-run",
               env={"JOBCTL_NOW": NOW.isoformat(), "JOBCTL_SMTP_HOST": "127.0.0.1", "JOBCTL_SMTP_PORT": str(port)})
    assert r.returncode == 2, r.stderr
    assert "dry run: would send PROBLEM for toxic to email, webhook" in r.stdout
    assert "  email: e-mail to oncall@example.com, subject '11 failed jobs in toxic queue now [CRITICAL]'" in r.stdout
    assert "  webhook: POST slack JSON to https://hooks.slack.com/***" in r.stdout
    assert "DRYSECRET" not in r.stdout + r.stderr
    assert inbox.messages == []
    assert not (isolated_env / "state" / "jobctl" / "alert-state.json").exists()


def test_email_escapes_html_and_control_characters(smtp_plain) -> None:  # type: ignore[no-untyped-def]
    inbox, port = smtp_plain
    n = make_notification([_failure(1, "<script>alert(1)</script> & \x1b[31mred\x1b[0m")])
    ch = Channel(name="mail", type="email", to=("a@example.com",))
    send_email(n, ch, SmtpSettings(host="127.0.0.1", port=port), timeout=5)
    msg = inbox.messages[0][2]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "\x1b" not in plain and "\\x1b[31mred" in plain
    assert msg["Subject"] == "12 failed jobs in toxic queue now [CRITICAL]"


def test_email_starttls_and_auth(tls_cert: tuple[Path, Path]) -> None:
    cert, key = tls_cert
    inbox = Inbox()
    port = free_port()
    c = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=_server_ctx(cert, key), require_starttls=True,
                   authenticator=_authenticator(inbox, b"s3cret-pw"), auth_require_tls=True)
    c.start()
    try:
        n = make_notification([_failure(1, "boom")])
        ch = Channel(name="mail", type="email", to=("oncall@example.com",))
        good = SmtpSettings(host="127.0.0.1", port=port, security="starttls", username="jobs", password="s3cret-pw",
                            ca_file=str(cert))
        send_email(n, ch, good, timeout=5)
        assert inbox.logins == [(b"jobs", b"s3cret-pw")]
        assert inbox.messages[0][2]["Subject"].startswith("12 failed jobs in toxic queue now")
        secrets = Secrets()
        secrets.add("wrong-pw-123")
        bad = SmtpSettings(host="127.0.0.1", port=port, security="starttls", username="jobs",
                           password="wrong-pw-123", ca_file=str(cert))
        with pytest.raises(NotifyError) as e:
            send_email(n, ch, bad, timeout=5)
        assert "authentication failed" in str(e.value) and "wrong-pw-123" not in str(e.value)
        untrusted = SmtpSettings(host="127.0.0.1", port=port, security="starttls", username="jobs",
                                 password="s3cret-pw")
        with pytest.raises(NotifyError, match="TLS|certificate"):
            send_email(n, ch, untrusted, timeout=5)  # self-signed and not trusted: refused
        assert len(inbox.messages) == 1
    finally:
        c.stop()


def test_email_implicit_tls(tls_cert: tuple[Path, Path]) -> None:
    cert, key = tls_cert
    inbox = Inbox()
    port = free_port()
    c = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=_server_ctx(cert, key))
    c.start()
    try:
        n = make_notification([])
        send_email(n, Channel(name="m", type="email", to=("x@example.com",)),
                   SmtpSettings(host="127.0.0.1", port=port, security="ssl", ca_file=str(cert)), timeout=5)
        assert len(inbox.messages) == 1
    finally:
        c.stop()


def test_email_unreachable_server_is_a_clear_error() -> None:
    n = make_notification([])
    with pytest.raises(NotifyError, match=r"SMTP 127.0.0.1:\d+"):
        send_email(n, Channel(name="m", type="email", to=("x@example.com",)),
                   SmtpSettings(host="127.0.0.1", port=free_port()), timeout=2)


# ----------------------------------------------------------------------------- webhooks


def _section_texts(payload: dict[str, Any]) -> list[str]:
    out = []
    for b in payload["blocks"]:
        if b["type"] == "section":
            out.append(b["text"]["text"])
        if b["type"] == "context":
            out += [e["text"] for e in b["elements"]]
    return out


def test_slack_webhook_payload_escaped_and_truncated(webhook_server) -> None:  # type: ignore[no-untyped-def]
    hook, base = webhook_server
    samples = [_failure(1, "<!channel> Tom & <b>Jerry</b>"), _failure(2, HUGE), _failure(3, "short")]
    n = make_notification(samples)
    n.result.rule = quick_rule({"queue": ["toxic"], "critical": "5"}, channels={})
    post_json(f"{base}/ok/T000/B000/XXXX", slack_payload(n), timeout=5)
    path, headers, body = hook.requests[0]
    assert headers["Content-Type"].startswith("application/json")
    p = json.loads(body)
    assert p["text"].startswith("CRITICAL: 12 failed jobs in toxic queue")
    assert len(p["text"]) <= 3000
    types = [b["type"] for b in p["blocks"]]
    assert types[0] == "header" and "context" in types and len(types) <= 50
    assert len(p["blocks"][0]["text"]["text"]) <= HEADER_LIMIT
    texts = _section_texts(p)
    assert all(len(t) <= SECTION_LIMIT for t in texts)
    joined = "\n".join(texts)
    assert "<!channel>" not in joined and "&lt;!channel&gt;" in joined
    assert "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;" in joined
    assert "xxxx" in joined and HUGE not in joined and "…" in joined  # the 100 kB error is cut
    assert len(body) < 20_000


def test_slack_section_limit_with_many_huge_samples() -> None:
    n = make_notification([_failure(i, HUGE + str(i)) for i in range(50)])
    p = slack_payload(n)
    assert all(len(t) <= SECTION_LIMIT for t in _section_texts(p))
    assert "truncated" in "".join(_section_texts(p))


def test_json_webhook_carries_the_alert_object(webhook_server) -> None:  # type: ignore[no-untyped-def]
    hook, base = webhook_server
    n = make_notification([_failure(1, HUGE)])
    ch = Channel(name="generic", type="webhook", url=f"{base}/ok/generic", format="json",
                 headers={"Authorization": "Bearer tok-123"})
    from jobctl.alert.notify.webhook import send_webhook

    send_webhook(n, ch, timeout=5)
    _path, headers, body = hook.requests[0]
    assert headers["Authorization"] == "Bearer tok-123"
    d = json.loads(body)
    assert d["source"] == "jobctl" and d["kind"] == "PROBLEM" and d["status"] == "CRITICAL"
    assert d["rule"] == "toxic" and d["value"] == 12 and d["previous_state"] == "OK"
    assert d["first_line"] == "JOBCTL CRITICAL - toxic: 12 failed in 15m (crit >5)"
    err = d["samples"][0]["error"]
    assert len(err) < 1100 and err.endswith("(truncated, 100000 chars)")


def test_webhook_429_is_retried_after_retry_after(webhook_server) -> None:  # type: ignore[no-untyped-def]
    hook, base = webhook_server
    t0 = time.monotonic()
    assert post_json(f"{base}/limited", {"text": "x"}, timeout=10) == 200
    assert len(hook.requests) == 2 and time.monotonic() - t0 >= 0.9


def test_webhook_error_masks_the_url(webhook_server) -> None:  # type: ignore[no-untyped-def]
    _hook, base = webhook_server
    with pytest.raises(NotifyError) as e:
        post_json(f"{base}/fail/T000/B000/SECRETPATH", {"text": "x"}, timeout=5)
    assert "HTTP 500" in str(e.value) and "SECRETPATH" not in str(e.value) and "/***" in str(e.value)


# ----------------------------------------------------------------------------- command


def test_command_gets_json_on_stdin_and_env(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    prog = ("import json,os,sys; d=json.load(sys.stdin); "
            "d['env']=os.environ['JOBCTL_ALERT_STATUS']+'/'+os.environ['JOBCTL_ALERT_RULE']+'/'+os.environ['EXTRA']; "
            f"open({str(out)!r},'w').write(json.dumps(d))")
    ch = Channel(name="cmd", type="command", argv=(sys.executable, "-c", prog), env={"EXTRA": "yes"})
    run_command(make_notification([_failure(1, "boom")]), ch, timeout=10)
    d = json.loads(out.read_text())
    assert d["env"] == "CRITICAL/toxic/yes" and d["samples"][0]["error"] == "boom"


def test_command_failures_are_reported(tmp_path: Path) -> None:
    n = make_notification([])
    with pytest.raises(NotifyError, match="not found"):
        run_command(n, Channel(name="c", type="command", argv=(str(tmp_path / "no-such-prog"),)), timeout=5)
    with pytest.raises(NotifyError, match=r"exited 3: nope"):
        run_command(n, Channel(name="c", type="command",
                               argv=(sys.executable, "-c", "import sys; sys.stderr.write('nope'); sys.exit(3)")),
                    timeout=5)
    t0 = time.monotonic()
    with pytest.raises(NotifyError, match="timed out"):
        run_command(n, Channel(name="c", type="command", argv=(sys.executable, "-c", "import time; time.sleep(30)")),
                    timeout=1)
    assert time.monotonic() - t0 < 10


def test_command_runs_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    n = make_notification([])
    with pytest.raises(NotifyError):
        run_command(n, Channel(name="c", type="command", argv=(f"true; touch {marker}",)), timeout=5)
    assert not marker.exists()


# ----------------------------------------------------------------------------- one failing notifier


def test_one_failing_channel_does_not_stop_the_others(webhook_server, smtp_plain, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hook, base = webhook_server
    inbox, port = smtp_plain
    secrets = Secrets()
    bad_url = f"{base}/fail/T0/B0/TOPSECRET"
    secrets.add_url(bad_url)
    n = make_notification([_failure(1, "boom")])
    items = [
        (n, Channel(name="bad-hook", type="webhook", url=bad_url, format="slack")),
        (n, Channel(name="bad-cmd", type="command", argv=(str(tmp_path / "missing"),))),
        (n, Channel(name="slow-hook", type="webhook", url=f"{base}/slow/x", format="json")),
        (n, Channel(name="mail", type="email", to=("a@example.com",))),
        (n, Channel(name="good-hook", type="webhook", url=f"{base}/ok/x", format="slack")),
    ]
    t0 = time.monotonic()
    outcomes = dispatch(items, NotifyContext(smtp=SmtpSettings(host="127.0.0.1", port=port), secrets=secrets),
                        deadline=time.monotonic() + 2.0)
    assert time.monotonic() - t0 < 4.5  # the slow hook is abandoned at the deadline
    by = {o.channel: o for o in outcomes}
    assert by["mail"].ok and by["good-hook"].ok
    assert not by["bad-hook"].ok and "HTTP 500" in (by["bad-hook"].error or "")
    assert "TOPSECRET" not in (by["bad-hook"].error or "")
    assert not by["bad-cmd"].ok and "not found" in (by["bad-cmd"].error or "")
    assert not by["slow-hook"].ok
    assert len(inbox.messages) == 1


def test_cli_reports_notifier_errors_without_secrets(isolated_env: Path, redis_url: str, redis_client,  # type: ignore[no-untyped-def]
                                                     webhook_server, jobctl) -> None:
    hook, base = webhook_server
    load_dump(redis_client)
    cfg = isolated_env / "config" / "jobctl"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text(
        "[alert.channels.slack]\ntype = \"webhook\"\nurl_env = \"SLACK_URL\"\n"
        "[alert.channels.ok]\ntype = \"webhook\"\nformat = \"json\"\nurl = \"" + base + "/ok/json\"\n")
    os.chmod(cfg / "config.toml", 0o600)
    secret_url = f"{base}/fail/T0/B0/VERYSECRET"
    r = jobctl("-u", redis_url, "alert", "--queue", "toxic", "-c", "1", "--notify", "slack", "--notify", "ok",
               "-o", "json", env={"JOBCTL_NOW": NOW.isoformat(), "SLACK_URL": secret_url})
    assert r.returncode == 2, r.stderr
    doc = json.loads(r.stdout)
    assert doc["state"] == "CRITICAL"
    errs = doc["notifier_errors"]
    assert [e["channel"] for e in errs] == ["slack"] and "HTTP 500" in errs[0]["error"]
    assert "notifier slack (webhook) failed for rule toxic" in r.stderr
    assert "VERYSECRET" not in r.stdout + r.stderr
    assert any(p.startswith("/ok/json") for p, _h, _b in hook.requests)
    assert doc["notifications"][0]["sent"] is True  # one channel succeeded


def test_unreachable_target_subject_and_json() -> None:
    from jobctl.alert.evaluate import error_result
    from jobctl.alert.notify.email import subject_for

    rule = quick_rule({"queue": ["toxic"]}, channels={})
    r = error_result(rule, "prod", "target prod unreachable: Connection refused", State.CRITICAL)
    n = Notification(kind="PROBLEM", result=r, previous="OK", since="2026-11-27T20:00:00Z", now=NOW, host="h")
    assert subject_for(n, None) == "cannot check toxic on prod now [CRITICAL]"
    d = n.to_dict()
    assert d["error"] == "target prod unreachable: Connection refused" and d["value"] is None
    assert n.first_line() == "JOBCTL CRITICAL - toxic: target prod unreachable: Connection refused"
