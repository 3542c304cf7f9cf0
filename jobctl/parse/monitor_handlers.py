"""The per-key-family handlers of `monitor_events.EventDecoder` (a mixin; pure, no I/O).

Split out so each module stays small: `monitor_events` owns the stream state and dispatch, this
module knows what each Resque key family's commands mean (resque-format.md §1-2; the table in
`monitor_events`' docstring). Every handler appends zero or more events to `out` and never raises
on bad payloads (the payload parsers return records with `parse_error` instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jobctl.model import Event
from jobctl.parse.monitor import MonitorLine
from jobctl.parse.resque_payload import decode_json, describe_payload, parse_failure, parse_job

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


class ResqueKeyHandlers:
    """Base of `EventDecoder`: event construction, the pairing state, and one handler per key family."""

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

    def _queue_command(self, cmd: bytes, queue: str, key: str, line: MonitorLine, raw: bytes | None,
                       out: list[Event]) -> None:
        args = line.args
        if cmd in PUSH:
            if self._want("enqueue"):
                for value in args[2:]:
                    out.append(self._job_event("enqueue", value, queue, key, line, raw))
        elif cmd in POP:
            if len(args) > 2:  # LPOP key count (6.2+): the count, not one job, is all we can tell
                if self._want("reserve"):
                    out.append(self._event("reserve", line, raw, queue=queue, key=key,
                                           detail=f"up to {text(args[2])} jobs"))
            else:
                self._pending[line.client] = Pop(line, queue, key, raw)
        elif cmd in MOVE or cmd in BPOP:
            if self._want("reserve"):
                out.append(self._event("reserve", line, raw, queue=queue, key=key,
                                       detail=f"{text(args[0]).upper()} (reply not visible)"))
        elif cmd == b"LREM":
            if self._want("dequeue"):
                value = args[3] if len(args) > 3 else b""
                out.append(self._job_event("dequeue", value, queue, key, line, raw))
        elif cmd in (b"DEL", b"UNLINK"):
            if queue in self._removed_queues:
                self._removed_queues.discard(queue)
                kind = "bookkeeping"
            else:
                kind = "queue-cleared"
            if self._want(kind):
                out.append(self._event(kind, line, raw, queue=queue, key=key))
        else:
            kind = "read" if cmd in READS else "other"
            if self._want(kind):
                out.append(self._event(kind, line, raw, queue=queue, key=key))

    def _job_event(self, kind: str, value: bytes, queue: str | None, key: str, line: MonitorLine,
                   raw: bytes | None, detail: str | None = None) -> Event:
        job = parse_job(value, queue=queue, position=None, id="")
        note = job.parse_error or (job.name if job.name != job.job_class else None)
        return self._event(kind, line, raw, queue=queue, key=key, job_class=job.job_class, args=job.args,
                           detail=detail if detail is not None else note)

    def _worker_key(self, cmd: bytes, wid: str, key: str, line: MonitorLine, raw: bytes | None,
                    out: list[Event]) -> None:
        args = line.args
        if wid.endswith(":started"):
            kind = "read" if cmd in READS else "bookkeeping"
            if self._want(kind):
                out.append(self._event(kind, line, raw, key=key, worker=wid[:-8]))
            return
        if cmd == b"SET" and len(args) > 2:
            info = self._worker_payload(args[2])
            self._running[wid] = Run(line.ts_us, info.get("queue"), info.get("job_class"), info.get("args"))
            self._stopping.discard(wid)
            if self._want("start"):
                out.append(self._event("start", line, raw, key=key, worker=wid, queue=info.get("queue"),
                                       job_class=info.get("job_class"), args=info.get("args"),
                                       detail=info.get("detail")))
        elif cmd in (b"DEL", b"UNLINK"):
            run = self._running.pop(wid, None)
            if wid in self._stopping:
                self._stopping.discard(wid)
                kind = "bookkeeping"
            else:
                kind = "done"
            if self._want(kind):
                fields: dict[str, Any] = {"key": key, "worker": wid}
                if run is not None and kind == "done":
                    took = (line.ts_us - run.ts_us) / 1e6
                    fields.update(queue=run.queue, job_class=run.job_class, args=run.args,
                                  detail=f"{'failed' if run.failed else 'ok'}, ran {took:.3f} s")
                out.append(self._event(kind, line, raw, **fields))
        else:
            kind = "read" if cmd in READS else "other"
            if self._want(kind):
                out.append(self._event(kind, line, raw, key=key, worker=wid))

    def _workers_set(self, cmd: bytes, key: str, line: MonitorLine, raw: bytes | None,
                     out: list[Event]) -> None:
        if cmd not in (b"SADD", b"SREM"):
            kind = "read" if cmd in READS else "other"
            if self._want(kind):
                out.append(self._event(kind, line, raw, key=key))
            return
        kind = "worker-start" if cmd == b"SADD" else "worker-stop"
        for member in line.args[2:]:
            wid = text(member)
            if kind == "worker-stop":
                self._stopping.add(wid)
            if self._want(kind):
                parts = wid.split(":", 2)
                detail = f"queues {parts[2]}" if len(parts) == 3 else None
                out.append(self._event(kind, line, raw, key=key, worker=wid, detail=detail))

    def _failed_command(self, cmd: bytes, name: str, key: str, line: MonitorLine, raw: bytes | None,
                        out: list[Event]) -> None:
        args = line.args
        if cmd in PUSH:
            for value in args[2:]:
                f = parse_failure(value, key=name, index=-1, id="")
                run = self._running.get(f.worker or "")
                if run is not None:
                    run.failed = True
                if self._want("fail"):
                    detail = f.parse_error or f"{f.exception}: {f.error}"
                    out.append(self._event("fail", line, raw, key=key, queue=f.queue, job_class=f.job_class,
                                           args=f.args, worker=f.worker, detail=detail))
        elif cmd == b"LSET" and len(args) > 3:
            value = args[3]
            if not value or value[:1] == b"\x00":  # a removal marker (Resque: "", jobctl: NUL-led)
                if self._want("bookkeeping"):
                    out.append(self._event("bookkeeping", line, raw, key=key, detail=f"mark index {text(args[2])}"))
                return
            f = parse_failure(value, key=name, index=int(args[2]) if args[2].lstrip(b"-").isdigit() else -1, id="")
            if self._want("requeue"):
                out.append(self._event("requeue", line, raw, key=key, queue=f.queue, job_class=f.job_class,
                                       args=f.args, worker=f.worker, detail=f"index {text(args[2])}"))
        elif cmd == b"LREM" and len(args) > 3:
            if self._want("remove"):
                value = args[3]
                count = text(args[2])
                if not value or value[:1] == b"\x00":
                    out.append(self._event("remove", line, raw, key=key, detail=f"{count.lstrip('-')} marked"))
                else:
                    f = parse_failure(value, key=name, index=-1, id="")
                    out.append(self._event("remove", line, raw, key=key, queue=f.queue, job_class=f.job_class,
                                           args=f.args, worker=f.worker, detail=f"by value (count {count})"))
        elif cmd == b"LTRIM" and len(args) > 3:
            if self._want("remove"):
                out.append(self._event("remove", line, raw, key=key,
                                       detail=f"trim to {text(args[2])}..{text(args[3])}"))
        elif cmd in (b"DEL", b"UNLINK"):
            if self._want("remove"):
                out.append(self._event("remove", line, raw, key=key, detail="whole list deleted"))
        else:
            self._generic(cmd, name, key, line, raw, out)

    def _scheduler_command(self, cmd: bytes, name: str, key: str, line: MonitorLine, raw: bytes | None,
                           out: list[Event]) -> None:
        args = line.args
        if name.startswith("delayed:") and name[8:].isdigit():
            at = EPOCH + timedelta(seconds=int(name[8:]))
            when = at.isoformat().replace("+00:00", "Z")
            if cmd in PUSH:
                if self._want("scheduled"):
                    for value in args[2:]:
                        queue = self._item_queue(value)
                        out.append(self._job_event("scheduled", value, queue, key, line, raw, f"run at {when}"))
                return
            if cmd == b"LREM" and len(args) > 3:
                if self._want("unscheduled"):
                    value = args[3]
                    out.append(self._job_event("unscheduled", value, self._item_queue(value), key, line, raw,
                                               f"was due {when}"))
                return
        elif name == "delayed_queue_schedule" and cmd in (b"DEL", b"UNLINK"):
            if self._want("unscheduled"):
                out.append(self._event("unscheduled", line, raw, key=key, detail="all delayed jobs cleared"))
            return
        elif name in ("persistent_schedules", "schedules") and cmd in (b"HSET", b"HMSET", b"HDEL"):
            if self._want("schedule"):
                verb = "removed" if cmd == b"HDEL" else "set"
                names = args[2::2] if cmd != b"HDEL" else args[2:]
                detail = f"{verb} {', '.join(text(n) for n in names)}"
                out.append(self._event("schedule", line, raw, key=key, detail=detail))
            return
        self._generic(cmd, name, key, line, raw, out)

    @staticmethod
    def _item_queue(value: bytes) -> str | None:
        try:
            item, _ = decode_json(value)
        except Exception:  # noqa: BLE001
            return None
        q = item.get("queue") if isinstance(item, dict) else None
        return q if isinstance(q, str) else None
