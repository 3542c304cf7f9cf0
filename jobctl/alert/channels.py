"""Notification channels and SMTP settings: parsed and validated before anything is evaluated.

Channels are named tables, in the rules file (`[channels.NAME]`) or in config.toml
(`[alert.channels.NAME]`; the rules file wins on a name clash):

    [channels.ops-mail]
    type = "email"
    to = ["oncall@example.com"]
    subject = "{summary} now [{status}]"     # optional template

    [channels.slack]
    type = "webhook"
    url_env = "SLACK_WEBHOOK_URL"            # or url = "https://hooks.slack.com/services/…"
    format = "slack"                         # or "json" (the alert object as-is)

    [channels.pager]
    type = "command"
    command = ["/usr/local/bin/page-oncall", "--team", "jobs"]   # no shell; alert JSON on stdin

SMTP (for email channels) comes from config.toml `[alert.smtp]`, then the rules file's `[smtp]`,
then `JOBCTL_SMTP_*` environment variables (each later source overrides the earlier).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jobctl.alert.secrets import Secrets

CHANNEL_TYPES = ("email", "webhook", "command")
_COMMON_KEYS = {"type", "send_resolved", "timeout"}
_KEYS = {
    "email": _COMMON_KEYS | {"to", "from", "subject"},
    "webhook": _COMMON_KEYS | {"url", "url_env", "format", "headers"},
    "command": _COMMON_KEYS | {"command", "env"},
}
SMTP_KEYS = {"host", "port", "security", "username", "password", "password_env", "password_file", "from",
             "ca_file", "verify", "timeout"}
SMTP_ENV = {"host": "JOBCTL_SMTP_HOST", "port": "JOBCTL_SMTP_PORT", "security": "JOBCTL_SMTP_SECURITY",
            "username": "JOBCTL_SMTP_USER", "password": "JOBCTL_SMTP_PASSWORD", "from": "JOBCTL_SMTP_FROM",
            "ca_file": "JOBCTL_SMTP_CA_FILE"}


class ChannelError(ValueError):
    """A channel or SMTP setting is invalid; the message names the channel and the field."""


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    type: str
    to: tuple[str, ...] = ()
    sender: str | None = None
    subject: str | None = None
    url: str | None = None
    format: str = "slack"
    headers: dict[str, str] = field(default_factory=dict)
    argv: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    send_resolved: bool = True


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    username: str | None = None
    password: str | None = None
    sender: str | None = None
    ca_file: str | None = None
    verify: bool = True
    timeout: float = 10.0


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ChannelError(f"{where}: expected a non-empty string or list of strings")
    return tuple(value)


def _timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ChannelError(f"{where}: expected a positive number of seconds")
    return float(value)


def parse_channel(name: str, conf: Any, *, env: Mapping[str, str], secrets: Secrets,
                  where: str = "channels") -> Channel:
    """Validate one `[channels.NAME]` table; resolves url_env from `env`."""
    at = f"{where}.{name}"
    if not isinstance(conf, dict):
        raise ChannelError(f"{at}: must be a table")
    ctype = conf.get("type")
    if ctype not in CHANNEL_TYPES:
        raise ChannelError(f"{at}: field 'type': must be one of {', '.join(CHANNEL_TYPES)} (got {ctype!r})")
    unknown = set(conf) - _KEYS[ctype]
    if unknown:
        raise ChannelError(f"{at}: unknown field(s) {', '.join(sorted(unknown))} for a {ctype} channel "
                           f"(allowed: {', '.join(sorted(_KEYS[ctype]))})")
    timeout = _timeout(conf["timeout"], f"{at}: field 'timeout'") if "timeout" in conf else None
    send_resolved = conf.get("send_resolved", True)
    if not isinstance(send_resolved, bool):
        raise ChannelError(f"{at}: field 'send_resolved': expected true or false")
    common: dict[str, Any] = {"name": name, "type": ctype, "timeout": timeout, "send_resolved": send_resolved}
    if ctype == "email":
        to = _strings(conf.get("to"), f"{at}: field 'to'")
        for addr in to:
            if "@" not in addr or any(c in addr for c in "\r\n,"):
                raise ChannelError(f"{at}: field 'to': {addr!r} is not one e-mail address")
        subject = conf.get("subject")
        if subject is not None and (not isinstance(subject, str) or "\n" in subject):
            raise ChannelError(f"{at}: field 'subject': expected a one-line template string")
        sender = conf.get("from")
        if sender is not None and not isinstance(sender, str):
            raise ChannelError(f"{at}: field 'from': expected a string")
        return Channel(**common, to=to, sender=sender, subject=subject)
    if ctype == "webhook":
        url = conf.get("url")
        if "url_env" in conf:
            if url is not None:
                raise ChannelError(f"{at}: give either 'url' or 'url_env', not both")
            var = conf["url_env"]
            if not isinstance(var, str) or not var:
                raise ChannelError(f"{at}: field 'url_env': expected an environment variable name")
            url = env.get(var)
            if not url:
                raise ChannelError(f"{at}: field 'url_env': environment variable {var} is not set")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ChannelError(f"{at}: field 'url': expected an http:// or https:// URL (or url_env)")
        secrets.add_url(url)
        fmt = conf.get("format", "slack")
        if fmt not in ("slack", "json"):
            raise ChannelError(f"{at}: field 'format': must be slack or json (got {fmt!r})")
        headers = conf.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                    for k, v in headers.items()):
            raise ChannelError(f"{at}: field 'headers': expected a table of strings")
        for v in headers.values():
            secrets.add(v)
        return Channel(**common, url=url, format=fmt, headers=dict(headers))
    command = conf.get("command")
    if isinstance(command, str):
        try:
            command = shlex.split(command)
        except ValueError as e:
            raise ChannelError(f"{at}: field 'command': {e}") from None
    argv = _strings(command, f"{at}: field 'command'")
    cenv = conf.get("env", {})
    if not isinstance(cenv, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in cenv.items()):
        raise ChannelError(f"{at}: field 'env': expected a table of strings")
    return Channel(**common, argv=argv, env=dict(cenv))


def parse_channels(tables: Mapping[str, Any], *, env: Mapping[str, str], secrets: Secrets,
                   where: str) -> dict[str, Channel]:
    if not isinstance(tables, dict):
        raise ChannelError(f"{where}: must be a table of [{where}.NAME] tables")
    return {name: parse_channel(name, conf, env=env, secrets=secrets, where=where) for name, conf in tables.items()}


def smtp_settings(layers: list[tuple[str, Any]], *, env: Mapping[str, str], secrets: Secrets) -> SmtpSettings:
    """Merge SMTP settings: each (where, table) layer overrides the previous; env overrides all."""
    merged: dict[str, Any] = {}
    for where, table in layers:
        if table is None:
            continue
        if not isinstance(table, dict):
            raise ChannelError(f"{where}: must be a table")
        unknown = set(table) - SMTP_KEYS
        if unknown:
            raise ChannelError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                               f"(allowed: {', '.join(sorted(SMTP_KEYS))})")
        for k, v in table.items():
            merged[k] = (where, v)
    for k, var in SMTP_ENV.items():
        if env.get(var):
            merged[k] = (var, env[var])
    out: dict[str, Any] = {}
    for key, (where, value) in merged.items():
        at = f"{where}: field '{key}'" if not where.startswith("JOBCTL_") else where
        if key == "port":
            try:
                port = int(value)
            except (TypeError, ValueError):
                raise ChannelError(f"{at}: expected a port number") from None
            if not 0 < port < 65536:
                raise ChannelError(f"{at}: port {port} is out of range")
            out["port"] = port
        elif key == "security":
            if value not in ("none", "starttls", "ssl"):
                raise ChannelError(f"{at}: must be none, starttls or ssl (got {value!r})")
            out["security"] = value
        elif key == "verify":
            if not isinstance(value, bool):
                raise ChannelError(f"{at}: expected true or false")
            out["verify"] = value
        elif key == "timeout":
            out["timeout"] = _timeout(value, at)
        elif key == "password_env":
            if not env.get(str(value)):
                raise ChannelError(f"{at}: environment variable {value} is not set")
            out["password"] = env[str(value)]
        elif key == "password_file":
            try:
                out["password"] = Path(os.path.expanduser(str(value))).read_text(encoding="utf-8").strip()
            except OSError as e:
                raise ChannelError(f"{at}: {e.strerror or e}") from None
        else:
            if not isinstance(value, str):
                raise ChannelError(f"{at}: expected a string")
            out["sender" if key == "from" else key] = value
    if "port" not in out:
        out["port"] = {"ssl": 465, "starttls": 587}.get(out.get("security", "none"), 25)
    secrets.add(out.get("password"))
    return SmtpSettings(**out)
