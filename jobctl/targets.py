"""Targets: where jobctl connects. URL / --target / env -> Target.

Resolution order (first that applies):
  1. `--url/-u URL` (or `JOBCTL_URL`)
  2. `--target/-t NAME` (or `JOBCTL_TARGET`) from the config file
  3. `default_target` from the config file
Global `--namespace`, `--table` and `--read-only` (or `JOBCTL_READ_ONLY=1`) override the target's.

Config: `$XDG_CONFIG_HOME/jobctl/config.toml` (default `~/.config/jobctl/config.toml`), or
`JOBCTL_CONFIG`:

    default_target = "prod"

    [targets.prod]
    url = "redis://cache.internal:6379/0"
    namespace = "myapp:resque"
    read_only = true
    password_env = "PROD_REDIS_PASSWORD"      # or password_file = "/run/secrets/redis"

    [targets.dj]
    url = "postgresql://app@db/app_production"
    table = "delayed_jobs"
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from jobctl.errors import ConfigError, UsageError
from jobctl.safe import mask_url

RESQUE_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel")
DJ_SCHEMES = ("postgresql", "postgres", "mysql", "mariadb", "sqlite")

_TARGET_KEYS = {
    "url", "namespace", "table", "read_only", "password_env", "password_file", "description",
    "max_run_time", "db_timezone", "connect_timeout", "timeout", "ssl_ca_certs", "ssl_certfile",
    "ssl_keyfile", "ssl_cert_reqs", "sentinel_service", "failure_backend", "max_stall_ms",
}


@dataclass(slots=True)
class Target:
    url: str
    name: str | None = None
    namespace: str = "resque"
    table: str = "delayed_jobs"
    read_only: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # the rest of the target's config keys

    @property
    def kind(self) -> str:
        return backend_kind(self.url)

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    def label(self) -> str:
        return self.name or self.masked_url


def backend_kind(url: str) -> str:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    base = scheme.split("+", 1)[0]
    if scheme in RESQUE_SCHEMES or base in ("redis", "rediss", "unix"):
        return "resque"
    if base in DJ_SCHEMES:
        return "delayed_job"
    raise UsageError(
        f"unsupported URL scheme {scheme + '://' if scheme else '(none)'} in {mask_url(url)!r}: use redis://, "
        "rediss://, unix://, redis+sentinel:// (Resque) or postgresql://, mysql://, mariadb://, "
        "sqlite:///path (Delayed Job)"
    )


def config_path() -> Path:
    env = os.environ.get("JOBCTL_CONFIG")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "jobctl" / "config.toml"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "jobctl"


@dataclass(slots=True)
class Config:
    path: Path
    default_target: str | None = None
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # whole file: [keymap], [alert] … for other parts
    warnings: list[str] = field(default_factory=list)


def load_config(path: Path | None = None) -> Config:
    p = path or config_path()
    if not p.exists():
        return Config(path=p)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config {p}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"invalid TOML in {p}: {e}") from None
    cfg = Config(path=p, raw=data)
    dt = data.get("default_target")
    if dt is not None and not isinstance(dt, str):
        raise ConfigError(f"{p}: default_target must be a string")
    cfg.default_target = dt
    targets = data.get("targets", {})
    if not isinstance(targets, dict):
        raise ConfigError(f"{p}: [targets] must be a table of [targets.NAME] tables")
    for name, t in targets.items():
        if not isinstance(t, dict):
            raise ConfigError(f"{p}: targets.{name} must be a table")
        if "url" not in t or not isinstance(t["url"], str):
            raise ConfigError(f"{p}: targets.{name}.url is missing (a redis://, postgresql://, mysql:// or sqlite:/// URL)")
        unknown = set(t) - _TARGET_KEYS
        if unknown:
            raise ConfigError(f"{p}: targets.{name}: unknown key(s) {', '.join(sorted(unknown))}")
        if "read_only" in t and not isinstance(t["read_only"], bool):
            raise ConfigError(f"{p}: targets.{name}.read_only must be true or false")
        cfg.targets[name] = t
    if cfg.default_target and cfg.default_target not in cfg.targets:
        raise ConfigError(f"{p}: default_target {cfg.default_target!r} is not a defined target")
    if _holds_secret(data) and _others_can_read(p):
        cfg.warnings.append(
            f"config {p} holds a password but is readable by other users; run: chmod 600 {p}"
        )
    return cfg


def _url_has_password(url: str) -> bool:
    """A password in the userinfo (`redis://:pw@`, `postgresql://u:pw@`) or a secret query parameter.
    A bare `redis://user@host` is a user name (ACL) whose password comes from password_env/_file."""
    try:
        parts = urlsplit(url)
        if parts.password:
            return True
    except ValueError:
        return mask_url(url) != url
    return re.search(r"(?i)(?:^|&)(?:password|passwd|pass|pwd|secret|token)=", parts.query) is not None


def _holds_secret(data: dict[str, Any]) -> bool:
    for t in (data.get("targets") or {}).values():
        if isinstance(t, dict) and isinstance(t.get("url"), str) and _url_has_password(t["url"]):
            return True
    text = repr(data).lower()
    return "password\": " in text or "'password':" in text or "smtp_password" in text


def _others_can_read(p: Path) -> bool:
    try:
        mode = p.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def _inject_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    user = ""
    if "@" in parts.netloc:
        user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
    netloc = f"{user}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _secret_from(t: dict[str, Any], name: str) -> str | None:
    env = t.get("password_env")
    if env:
        val = os.environ.get(env)
        if val is None:
            raise ConfigError(f"targets.{name}.password_env: environment variable {env} is not set")
        return val
    pf = t.get("password_file")
    if pf:
        try:
            return Path(os.path.expanduser(pf)).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"targets.{name}.password_file: {e}") from None
    return None


def resolve_target(
    *,
    url: str | None = None,
    target: str | None = None,
    namespace: str | None = None,
    table: str | None = None,
    read_only: bool | None = None,
    config: Config | None = None,
) -> Target:
    """Build the Target one command runs against (see module docstring for the order)."""
    url = url or os.environ.get("JOBCTL_URL") or None
    target = target or os.environ.get("JOBCTL_TARGET") or None
    cfg = config
    t_conf: dict[str, Any] = {}
    name: str | None = None
    if url is None:
        cfg = cfg or load_config()
        name = target or cfg.default_target
        if name is None:
            raise UsageError(
                "no target: pass --url/-u URL, set JOBCTL_URL, or define targets in "
                f"{cfg.path} (try `jobctl demo` for a local demo database)"
            )
        if name not in cfg.targets:
            known = ", ".join(sorted(cfg.targets)) or "none defined"
            raise UsageError(f"unknown target {name!r} (known: {known}; config: {cfg.path})")
        t_conf = dict(cfg.targets[name])
        url = t_conf.pop("url")
        secret = _secret_from(t_conf, name)
        if secret is not None:
            url = _inject_password(url, secret)
    elif target:
        raise UsageError("pass either --url or --target, not both")
    else:
        pw_env = os.environ.get("JOBCTL_PASSWORD")
        if pw_env and "@" not in url.split("//", 1)[-1].split("/", 1)[0]:
            url = _inject_password(url, pw_env)
    assert url is not None
    backend_kind(url)  # validates the scheme early, exit 2
    env_ro = os.environ.get("JOBCTL_READ_ONLY", "").strip().lower() in ("1", "true", "yes", "on")
    tgt = Target(
        url=url,
        name=name,
        namespace=t_conf.pop("namespace", "resque"),
        table=t_conf.pop("table", "delayed_jobs"),
        read_only=bool(t_conf.pop("read_only", False)),
        options=t_conf,
    )
    if namespace is not None:
        tgt = replace(tgt, namespace=namespace)
    if table is not None:
        tgt = replace(tgt, table=table)
    if read_only or env_ro:
        tgt = replace(tgt, read_only=True)
    return tgt


def print_config_warnings(cfg: Config) -> None:
    for w in cfg.warnings:
        print(f"jobctl: warning: {w}", file=sys.stderr)
