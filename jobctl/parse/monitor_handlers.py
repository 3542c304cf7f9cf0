"""Shared pieces of the MONITOR event decoder: command sets, pairing state, event construction.

`monitor_families` builds on `HandlerBase` with one handler per Resque key family, and
`monitor_events.EventDecoder` on that with the stream state and the dispatch. Pure, no I/O; a
bad payload never raises (the payload parsers return records with `parse_error` instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jobctl.model import Event
from jobctl.parse.monitor import MonitorLine
from jobctl.parse.resque_payload import decode_json, describe_payload, parse_job

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PUSH = frozenset({b"RPUSH", b"LPUSH", b"RPUSHX", b"LPUSHX"})
POP = frozenset({b"LPOP", b"RPOP"})
MOVE = frozenset({b"RPOPLPUSH", b"LMOVE", b"BRPOPLPUSH", b"BLMOVE"})
BPOP = frozenset({b"BLPOP", b"BRPOP"})
SCRIPT = frozenset({b"EVAL", b"EVALSHA", b"EVAL_RO", b"EVALSHA_RO", b"FCALL", b"FCALL_RO"})
READS = frozenset({
    b"GET", b"MGET", b"EXISTS", b"TYPE", b"TTL", b"PTTL", b"STRLEN", b"LLEN", b"LRANGE", b"LINDEX",
    b"LPOS", b"SMEMBERS", b"SCARD", b"SISMEMBER", b"SMISMEMBER", b"SRANDMEMBER", b"SSCAN", b"HGET",
    b"HGETALL", b"HMGET", b"HKEYS", b"HVALS", b"HLEN", b"HEXISTS", b"HSCAN", b"ZRANGE", b"ZRANGEBYSCORE",
    b"ZREVRANGE", b"ZREVRANGEBYSCORE", b"ZCARD", b"ZCOUNT", b"ZSCORE", b"ZRANK", b"ZSCAN", b"KEYS",
    b"SCAN", b"DUMP", b"OBJECT", b"MEMORY", b"GETRANGE", b"DEBUG", b"WATCH",
})
COUNTERS = frozenset({b"INCR", b"INCRBY", b"DECR", b"DECRBY", b"INCRBYFLOAT"})
BOOKKEEPING_PREFIXES = (
    "stat:", "pruning_dead_workers_in_progress", "timestamps:", "schedules_changed",
    "resque_scheduler_master_lock", "status:", "_statuses", "_kill", "resque-retry:", "failure-",
    "failed_queues", "delayed:", "delayed_queue_schedule",
)


@dataclass(slots=True)
class Pop:
    """A pop whose outcome is not known yet (MONITOR shows no replies)."""

    line: MonitorLine
    queue: str
    key: str
    raw: bytes | None


@dataclass(slots=True)
class Run:
    """A job a worker is running (from its SET worker:<id>), for `done`'s class and run time."""

    ts_us: int
    queue: str | None
    job_class: str | None
    args: list[Any] | None
    failed: bool = False


def text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


class HandlerBase:
    """Base of `EventDecoder`: the pairing state, event construction and the shared helpers."""

    def __init__(self, namespace: str, kinds: frozenset[str], keep_raw: bool) -> None:
        self.namespace = namespace
        self.prefix = (namespace + ":").encode() if namespace else b""
        self.kinds = kinds
        self.keep_raw = keep_raw
        self._pending: dict[str, Pop] = {}  # client -> its pop waiting for the next command
        self._running: dict[str, Run] = {}  # worker id -> the job it started
        self._stopping: set[str] = set()  # worker ids just SREM'd (their DEL is not a `done`)
        self._removed_queues: set[str] = set()  # queues just SREM'd (their DEL is part of it)
        self._last_payload: tuple[bytes | None, dict[str, Any]] = (None, {})

    def _want(self, kind: str) -> bool:
        return kind in self.kinds

    def _event(self, kind: str, line: MonitorLine, raw: bytes | None, **fields: Any) -> Event:
        return Event(ts=EPOCH + timedelta(microseconds=line.ts_us), kind=kind, client=line.client,
                     db=line.db, command=text(line.args[0]).upper(),
                     raw=text(raw) if self.keep_raw and raw is not None else None, **fields)

    def _emit_pop(self, kind: str, pop: Pop, out: list[Event], detail: str | None, **fields: Any) -> None:
        if kind in self.kinds:
            out.append(self._event(kind, pop.line, pop.raw, queue=pop.queue, key=pop.key, detail=detail,
                                   **fields))

    def _worker_payload(self, raw: bytes) -> dict[str, Any]:
        """SET worker:<id> value -> queue, class, args (never raises). The same value is asked for
        twice in a row (the reserve it confirms, then the start), so the last answer is kept."""
        if raw is self._last_payload[0]:
            return self._last_payload[1]
        try:
            value, _ = decode_json(raw)
            d = describe_payload(value.get("payload") if isinstance(value, dict) else None)
        except Exception as e:  # noqa: BLE001 - a bad value must not stop the stream
            info: dict[str, Any] = {"detail": f"unreadable worker payload: {e}"}
        else:
            queue = value.get("queue") if isinstance(value.get("queue"), str) else None
            detail = d["name"] if d["name"] != d["job_class"] else None
            info = {"queue": queue, "job_class": d["job_class"], "args": d["args"], "detail": detail}
        self._last_payload = (raw, info)
        return info

    def _generic(self, cmd: bytes, name: str, key: str, line: MonitorLine, raw: bytes | None,
                 out: list[Event]) -> None:
        if cmd in READS:
            kind = "read"
        elif (name == "queues" and cmd == b"SADD") or name.startswith(BOOKKEEPING_PREFIXES) or cmd in SCRIPT or cmd in COUNTERS \
                or name.endswith("resque_scheduler_master_lock") or name == "workers:heartbeat":
            kind = "bookkeeping"
        else:
            kind = "other"
        if self._want(kind):
            out.append(self._event(kind, line, raw, key=key))

    def _job_event(self, kind: str, value: bytes, queue: str | None, key: str, line: MonitorLine,
                   raw: bytes | None, detail: str | None = None) -> Event:
        job = parse_job(value, queue=queue, position=None, id="")
        note = job.parse_error or (job.name if job.name != job.job_class else None)
        return self._event(kind, line, raw, queue=queue, key=key, job_class=job.job_class, args=job.args,
                           detail=detail if detail is not None else note)

    @staticmethod
    def _item_queue(value: bytes) -> str | None:
        try:
            item, _ = decode_json(value)
        except Exception:  # noqa: BLE001
            return None
        q = item.get("queue") if isinstance(item, dict) else None
        return q if isinstance(q, str) else None
