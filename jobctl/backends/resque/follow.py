"""Live `jobctl tail` on Resque: Redis MONITOR on a dedicated connection, decoded into job events.

MONITOR makes the server format every command for us (monitor-format.md §3: measured 0.3-0.9x of
the throughput without it) and, worse, a consumer that falls behind makes the server buffer the
lines without limit (`client-output-buffer-limit normal 0 0 0`: 75 MB in the measurement). So:

* the MONITOR connection is our own (`pool.make_connection()`: same auth/TLS/Sentinel as the
  backend), never a pooled one;
* a guard thread reads that connection's `omem` with `CLIENT LIST ID <id>` from the backend's
  ordinary client every `interval` seconds and, past `max_omem`, ends it server-side with
  `CLIENT KILL ID <id>` (which frees the buffer at once, even if this process is stuck writing
  to a paused pager), then the reader stops with a clear message;
* where CLIENT LIST is not allowed (ACLs, managed Redis), the reader's lag (the server's clock,
  from TIME at the start, minus the timestamps on the lines being read) is the second guard
  (`max_lag`): past it, jobctl ends MONITOR too.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from jobctl.backends.resque.connection import redis_errors, unreachable_message
from jobctl.errors import JobctlError, TargetUnreachable
from jobctl.model import Event
from jobctl.parse.monitor_events import EventDecoder, decode_lines
from jobctl.trace import traced

if TYPE_CHECKING:
    from jobctl.backends.resque.backend import ResqueBackend

DEFAULT_MAX_OMEM = 64 * 1024 * 1024
DEFAULT_MAX_LAG_S = 60.0
COST_WARNING = (
    "warning: MONITOR makes Redis copy every command to jobctl (measured 0.3-0.9x of normal throughput "
    "on a busy server). Keep sessions short (--count, --duration); jobctl disconnects itself if it "
    "falls behind (--max-omem)."
)
_OMEM = re.compile(rb"(?:^| )omem=(\d+)")
_ID = re.compile(rb"(?:^|\n)id=(\d+) ")
_CHECK_EVERY = 256  # lines between checks of stop() and the guards


class MonitorStopped(JobctlError):
    """The guard ended MONITOR to protect the server (exit 1, with the reason)."""


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


class OmemGuard(threading.Thread):
    """Watches the MONITOR connection's server-side output buffer from a second connection."""

    def __init__(self, client: Any, client_id: int, max_omem: int, interval: float) -> None:
        super().__init__(name="jobctl-monitor-guard", daemon=True)
        self.client = client
        self.client_id = client_id
        self.max_omem = max_omem
        self.interval = max(0.05, interval)
        self.tripped: str | None = None  # the reason, once it ended MONITOR
        self.unavailable: str | None = None  # why omem cannot be read (the lag guard remains)
        self.peak = 0
        self._stop_event = threading.Event()

    def stop(self) -> None:
        self._stop_event.set()

    def omem(self) -> int | None:
        """The MONITOR connection's omem in bytes; None when that client is gone."""
        try:
            raw = self.client.execute_command("CLIENT", "LIST", "ID", self.client_id)
        except Exception as e:  # noqa: BLE001 - Redis < 6.2 has no CLIENT LIST ID: scan the list
            if "syntax" not in str(e).lower() and "unknown" not in str(e).lower():
                raise
            raw = self.client.execute_command("CLIENT", "LIST")
            raw = b"\n".join(ln for ln in raw.split(b"\n") if ln.startswith(b"id=%d " % self.client_id))
        if isinstance(raw, str):
            raw = raw.encode()
        m = _OMEM.search(raw)
        return int(m.group(1)) if m else None

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                omem = self.omem()
            except Exception as e:  # noqa: BLE001 - no permission, connection trouble: lag guard only
                self.unavailable = f"cannot read CLIENT LIST ({type(e).__name__}: {e})"
                return
            if omem is None:
                return
            self.peak = max(self.peak, omem)
            if omem > self.max_omem:
                self.tripped = (
                    f"stopped MONITOR: the server was holding {_mb(omem)} of output for jobctl "
                    f"(over --max-omem {_mb(self.max_omem)}); jobctl could not keep up, so it "
                    "disconnected to protect the server"
                )
                try:
                    self.client.execute_command("CLIENT", "KILL", "ID", self.client_id)
                except Exception:  # noqa: BLE001 - the reader will stop on the flag anyway
                    pass
                return


def monitor_lines(backend: ResqueBackend, *, stop: Callable[[], bool] | None = None, interval: float = 1.0,
                  max_omem: int = DEFAULT_MAX_OMEM, max_lag: float | None = DEFAULT_MAX_LAG_S,
                  tick: float = 0.25, notice: Callable[[str], None] | None = None) -> Iterator[bytes | None]:
    """Raw MONITOR lines as Redis sends them; `None` every `tick` seconds of silence (so the
    caller can resolve pending pops and check its own stop conditions)."""
    target = backend.target
    client = backend.redis
    say = notice or (lambda m: print(f"jobctl: {m}", file=sys.stderr, flush=True))
    conn = client.connection_pool.make_connection()
    with redis_errors(target):
        offset = _clock_offset(client) if max_lag else 0.0  # before MONITOR: our TIME stays out of it
        with traced("redis", "CLIENT ID  (dedicated MONITOR connection)"):
            conn.connect()
            conn.send_command("CLIENT", "ID")
            client_id = int(conn.read_response())
        with traced("redis", "MONITOR"):
            conn.send_command("MONITOR")
            try:
                ok = conn.read_response()
            except Exception as e:  # noqa: BLE001 - NOPERM and friends: say what MONITOR needs
                conn.disconnect()
                if type(e).__name__ not in ("ResponseError", "NoPermissionError"):
                    raise
                raise JobctlError(
                    f"MONITOR refused by {target.masked_url}: {e} (it needs the @admin ACL category; "
                    "decode a capture with --from instead)") from None
    if ok not in (b"OK", "OK", True):
        conn.disconnect()
        raise JobctlError(f"MONITOR refused by {target.masked_url}: {ok!r}")
    guard = OmemGuard(client, client_id, max_omem, interval)
    guard.start()
    read = _reader(conn)
    n = 0
    try:
        while True:
            n += 1
            if n % _CHECK_EVERY == 0 or n == 1:
                if stop is not None and stop():
                    return
                if guard.tripped:
                    raise MonitorStopped(guard.tripped)
            try:
                line = read(tick)
            except Idle:
                if stop is not None and stop():
                    return
                if guard.tripped:
                    raise MonitorStopped(guard.tripped) from None
                yield None
                continue
            except Exception as e:
                if guard.tripped:
                    raise MonitorStopped(guard.tripped) from None
                raise TargetUnreachable("lost the MONITOR connection: " + unreachable_message(target, e)) from None
            if isinstance(line, str):
                line = line.encode("utf-8", "surrogateescape")
            if max_lag and n % _CHECK_EVERY == 0:
                lag = _lag(line, offset)
                if lag is not None and lag > max_lag:
                    _kill(client, client_id)
                    raise MonitorStopped(
                        f"stopped MONITOR: jobctl fell {lag:.1f} s behind the server "
                        f"(over --max-lag {max_lag:g} s); disconnected to protect the server")
            yield line
    finally:
        guard.stop()
        conn.disconnect()
        if guard.unavailable and not guard.tripped:
            say(f"note: output-buffer guard was off ({guard.unavailable}); the lag guard was on")


class Idle(Exception):
    """Nothing arrived within the tick."""


def _reader(conn: Any) -> Callable[[float], Any]:
    """read(tick) -> the next reply, or raises Idle after `tick` seconds of silence.

    With hiredis, a reply already buffered is returned without touching the socket and a timeout
    keeps partial data (so `read_response(timeout=…)` is safe and ~20% faster than asking
    `can_read` first); with redis-py's pure-Python parser, `can_read` guards each read."""
    from redis.exceptions import TimeoutError as RedisTimeout

    if type(getattr(conn, "_parser", None)).__name__ == "_HiredisParser":
        def read(tick: float) -> Any:
            try:
                return conn.read_response(timeout=tick, disconnect_on_error=False)
            except RedisTimeout:
                raise Idle from None
        return read

    def read_guarded(tick: float) -> Any:
        if not conn.can_read(timeout=tick):
            raise Idle
        return conn.read_response()
    return read_guarded


def _clock_offset(client: Any) -> float:
    """Server clock minus ours (Redis TIME), so lag is measured on the server's clock."""
    try:
        t0 = time.time()
        sec, usec = client.time()
        return sec + usec / 1e6 - (t0 + time.time()) / 2
    except Exception:  # noqa: BLE001 - TIME refused: assume synchronised clocks
        return 0.0


def _lag(line: bytes, offset: float) -> float | None:
    """How old a line is: server 'now' minus the time Redis stamped on it."""
    sp = line.find(b" ")
    try:
        return time.time() + offset - float(line[:sp])
    except ValueError:
        return None


def _kill(client: Any, client_id: int) -> None:
    try:
        client.execute_command("CLIENT", "KILL", "ID", client_id)
    except Exception:  # noqa: BLE001 - we disconnect our side right after anyway
        pass


def follow(backend: ResqueBackend, **kwargs: Any) -> Iterator[Event]:
    """Live events from MONITOR (the Backend protocol's `follow`).

    Keyword arguments: `interval` (guard period, s), `stop` (callable: end when it returns True),
    `max_omem` (bytes), `max_lag` (s; 0/None = off), `decoder` (an `EventDecoder`, to read its
    counters afterwards; else one for the target's namespace is made with `namespace`,
    `all_keys`, `kinds`, `keep_raw`), `notice` (callable for one-line notes; default stderr),
    `warn` (False to skip the MONITOR cost warning).
    """
    decoder: EventDecoder | None = kwargs.get("decoder")
    if decoder is None:
        decoder = EventDecoder(kwargs.get("namespace") or backend.target.namespace,
                               all_keys=bool(kwargs.get("all_keys")), kinds=kwargs.get("kinds"),
                               keep_raw=bool(kwargs.get("keep_raw")))
    notice: Callable[[str], None] = kwargs.get("notice") or (
        lambda m: print(f"jobctl: {m}", file=sys.stderr, flush=True))
    if kwargs.get("warn", True):
        notice(COST_WARNING)
    lines = monitor_lines(
        backend, stop=kwargs.get("stop"), interval=float(kwargs.get("interval") or 1.0),
        max_omem=int(kwargs.get("max_omem") or DEFAULT_MAX_OMEM),
        max_lag=kwargs.get("max_lag", DEFAULT_MAX_LAG_S), notice=notice)
    yield from decode_lines(lines, decoder)
