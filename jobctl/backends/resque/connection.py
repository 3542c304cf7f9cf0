"""Target -> a redis-py client (RESP2, bytes in/out), with --trace hooks and error mapping.

URL forms (credentials may also come from the target config, see jobctl.targets):

* ``redis://[user:pass@]host[:port][/db][?opts]``, ``rediss://…`` (TLS)
* ``unix:///path/redis.sock[?db=N&password=…]``
* ``redis+sentinel://[user:pass@]host:26379[,host2:26379]/service_name[/db]`` (``rediss+sentinel``
  for TLS); or any of the above with the ``sentinel_service`` option, the host being a sentinel.

Options (target config keys, or URL query parameters of the same name): ``connect_timeout``,
``timeout`` (seconds, default 5), ``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``,
``ssl_cert_reqs`` (``required`` | ``optional`` | ``none``; ``none`` also skips the host-name
check), ``db``, ``sentinel_service``, ``sentinel_password``.

`protocol=2` keeps Redis 5, 6 and 7 alike. Every command goes through `TracedRedis`, which shows
it under ``--trace`` (pipelines: one line per round trip, then every command of it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jobctl.errors import TargetUnreachable, UsageError
from jobctl.safe import mask_secrets_in, visible
from jobctl.targets import Target
from jobctl.trace import TRACER, traced

DEFAULT_TIMEOUT = 5.0
_OPTION_KEYS = ("connect_timeout", "timeout", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs",
                "db", "sentinel_service", "sentinel_password")
_CERT_REQS = {"required": "required", "optional": "optional", "none": "none", "true": "required",
              "false": "none", "yes": "required", "no": "none", "1": "required", "0": "none"}
_ARG_SHOWN = 80
_SECRET_COMMANDS = {b"AUTH", b"HELLO", b"MIGRATE", b"ACL"}


def format_command(args: tuple[Any, ...] | list[Any]) -> str:
    """`("LRANGE", b"resque:queue:low", 0, 49)` -> `LRANGE resque:queue:low 0 49` (args shortened)."""
    parts: list[str] = []
    name = args[0] if args else ""
    head = (name.encode() if isinstance(name, str) else bytes(name) if isinstance(name, bytes) else b"").upper()
    for i, a in enumerate(args):
        if i > 0 and head.split(b" ")[0] in _SECRET_COMMANDS:
            parts.append("***")
            continue
        s = a.decode("utf-8", "backslashreplace") if isinstance(a, bytes) else str(a)
        if len(s) > _ARG_SHOWN:
            s = s[:_ARG_SHOWN] + f"…(+{len(s) - _ARG_SHOWN})"
        if i > 0 and (not s or any(c.isspace() for c in s)):
            s = '"' + s.replace('"', '\\"') + '"'
        parts.append(s)
    return " ".join(parts)


def _client_classes() -> tuple[type, type]:
    import redis
    from redis.client import Pipeline

    class TracedPipeline(Pipeline):  # type: ignore[misc, type-arg]
        """Pipeline that reports each round trip and the commands in it under --trace."""

        def execute(self, raise_on_error: bool = True) -> list[Any]:
            if not TRACER.enabled or not self.command_stack:
                return super().execute(raise_on_error)  # type: ignore[no-any-return]
            stack = [c[0] for c in self.command_stack]
            t0 = time.perf_counter()
            try:
                return super().execute(raise_on_error)  # type: ignore[no-any-return]
            finally:
                kind = "MULTI/EXEC" if self.__dict__.get("transaction") is True else "PIPELINE"
                TRACER.emit("redis", f"{kind} {len(stack)} commands, 1 round trip", time.perf_counter() - t0)
                for n, args in enumerate(stack, 1):
                    line = visible(mask_secrets_in(format_command(args), []), max_len=300)
                    print(f"    {n:>4}/{len(stack)} {line}", file=TRACER.stream, flush=True)

    class TracedRedis(redis.Redis):  # type: ignore[misc, type-arg]
        """redis.Redis whose commands show under --trace (one attribute check when tracing is off)."""

        def execute_command(self, *args: Any, **options: Any) -> Any:
            if not TRACER.enabled:
                return super().execute_command(*args, **options)
            with traced("redis", format_command(args)):
                return super().execute_command(*args, **options)

        def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
            return TracedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)

    return TracedRedis, TracedPipeline


_CLASSES: tuple[type, type] | None = None


def traced_redis_class() -> type:
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _client_classes()
    return _CLASSES[0]


def _float_opt(opts: dict[str, Any], key: str, default: float, target: Target) -> float:
    v = opts.get(key, default)
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise UsageError(f"{key} must be a number of seconds, got {v!r} (target {target.label()})") from None
    if f <= 0:
        raise UsageError(f"{key} must be > 0 (target {target.label()})")
    return f


def connection_options(target: Target) -> dict[str, Any]:
    """Merged options: URL query parameters, overridden by the target's config keys."""
    parts = urlsplit(target.url)
    opts: dict[str, Any] = {}
    for k, vals in parse_qs(parts.query).items():
        if k in ("password", "username"):
            opts[k] = vals[-1]
            continue
        if k not in _OPTION_KEYS:
            raise UsageError(
                f"unknown option {k!r} in {target.masked_url}; known: {', '.join(_OPTION_KEYS)}, password"
            )
        opts[k] = vals[-1]
    for k in _OPTION_KEYS:
        if k in target.options:
            opts[k] = target.options[k]
    return opts


def client_kwargs(target: Target) -> dict[str, Any]:
    """redis.Redis keyword arguments (for direct, non-sentinel targets) — also used by tests."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    parts = urlsplit(target.url)
    scheme = parts.scheme.lower()
    opts = connection_options(target)
    kw: dict[str, Any] = {
        "protocol": 2, "decode_responses": False,
        "socket_connect_timeout": _float_opt(opts, "connect_timeout", DEFAULT_TIMEOUT, target),
        "socket_timeout": _float_opt(opts, "timeout", DEFAULT_TIMEOUT, target),
        "retry": Retry(NoBackoff(), 1),
    }
    if parts.username:
        kw["username"] = unquote(parts.username)
    if parts.password is not None:
        kw["password"] = unquote(parts.password)
    elif parts.username and not parts.password and scheme != "unix":
        # redis://secret@host: a bare userinfo is the password (redis-cli / Resque convention)
        kw["password"] = unquote(parts.username)
        kw.pop("username")
    if "password" in opts:
        kw["password"] = opts["password"]
    if "username" in opts:
        kw["username"] = opts["username"]
    db: Any = opts.get("db")
    base = scheme.split("+", 1)[0]
    if base == "unix":
        if not parts.path:
            raise UsageError(f"unix:// URL needs a socket path: {target.masked_url}")
        kw["unix_socket_path"] = unquote(parts.path)
    else:
        kw["host"] = parts.hostname or "127.0.0.1"
        try:
            kw["port"] = parts.port or 6379
        except ValueError:
            raise UsageError(f"invalid port in {target.masked_url}") from None
        if db is None and "+sentinel" not in scheme:
            path = parts.path.strip("/")
            db = path or 0
    try:
        kw["db"] = int(db or 0)
    except ValueError:
        raise UsageError(f"database index must be an integer, got {db!r} in {target.masked_url}") from None
    wants_tls = any(k in opts for k in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"))
    if base == "rediss" or (wants_tls and base != "unix"):
        kw["ssl"] = True
        for k in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
            if k in opts:
                kw[k] = str(opts[k])
        reqs = str(opts.get("ssl_cert_reqs", "required")).strip().lower()
        if reqs not in _CERT_REQS:
            raise UsageError(f"ssl_cert_reqs must be required, optional or none, got {reqs!r}")
        kw["ssl_cert_reqs"] = _CERT_REQS[reqs]
        kw["ssl_check_hostname"] = _CERT_REQS[reqs] == "required"
    return kw


def _sentinel_spec(target: Target, opts: dict[str, Any]) -> tuple[list[tuple[str, int]], str, int] | None:
    parts = urlsplit(target.url)
    scheme = parts.scheme.lower()
    service = opts.get("sentinel_service")
    if "+sentinel" not in scheme and not service:
        return None
    hostpart = parts.netloc.rsplit("@", 1)[-1]
    hosts: list[tuple[str, int]] = []
    for h in hostpart.split(","):
        h = h.strip()
        if not h:
            continue
        host, _, port = h.rpartition(":") if h.count(":") == 1 or h.startswith("[") else (h, "", "")
        try:
            hosts.append(((host or h).strip("[]"), int(port) if port else 26379))
        except ValueError:
            raise UsageError(f"invalid sentinel address {h!r} in {target.masked_url}") from None
    segs = [s for s in parts.path.split("/") if s]
    db = opts.get("db")
    if "+sentinel" in scheme:
        if segs:
            service = service or unquote(segs[0])
            if len(segs) > 1 and db is None:
                db = segs[1]
    elif segs and db is None:
        db = segs[0]
    if not service:
        raise UsageError(
            f"{target.masked_url}: Sentinel needs a service name (redis+sentinel://host:26379/SERVICE/db "
            "or the sentinel_service option)"
        )
    try:
        return hosts or [("127.0.0.1", 26379)], str(service), int(db or 0)
    except ValueError:
        raise UsageError(f"database index must be an integer, got {db!r}") from None


def connect(target: Target) -> Any:
    """Build the (lazily connecting) client for a Resque target. No network I/O happens here."""
    opts = connection_options(target)
    cls = traced_redis_class()
    spec = _sentinel_spec(target, opts)
    if spec is None:
        return cls(**client_kwargs(target))
    from redis.sentinel import Sentinel

    hosts, service, db = spec
    kw = client_kwargs(target)
    for k in ("host", "port", "unix_socket_path"):
        kw.pop(k, None)
    kw["db"] = db
    sentinel_kwargs: dict[str, Any] = {k: kw[k] for k in ("socket_connect_timeout", "socket_timeout", "protocol") if k in kw}
    if "sentinel_password" in opts:
        sentinel_kwargs["password"] = str(opts["sentinel_password"])
    for k in ("ssl", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs", "ssl_check_hostname"):
        if k in kw:
            sentinel_kwargs[k] = kw[k]
    sentinel = Sentinel(hosts, sentinel_kwargs=sentinel_kwargs)
    client = sentinel.master_for(service, redis_class=cls, **kw)
    client._jobctl_sentinel = sentinel  # keep a reference (closing, tests)
    return client


def unreachable_message(target: Target, exc: BaseException) -> str:
    detail = mask_secrets_in(str(exc) or type(exc).__name__, [target.url])
    return f"cannot reach Redis at {target.masked_url}: {detail}"


def is_connection_error(exc: BaseException) -> bool:
    import redis.exceptions as rx

    if isinstance(exc, (rx.ConnectionError, rx.TimeoutError, rx.AuthenticationError, OSError)):
        return True
    if isinstance(exc, rx.ResponseError):
        msg = str(exc)
        return msg.startswith(("NOAUTH", "WRONGPASS", "NOPERM", "LOADING", "MASTERDOWN")) or "invalid password" in msg
    return False


@contextmanager
def redis_errors(target: Target) -> Iterator[None]:
    """Driver connection/auth errors -> TargetUnreachable (exit 3), with the URL masked."""
    try:
        yield
    except Exception as e:
        if is_connection_error(e):
            raise TargetUnreachable(unreachable_message(target, e)) from None
        raise
