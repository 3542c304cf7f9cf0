"""What each Resque key family's commands mean, as events (resque-format.md §1-2; the table in
`monitor_events`' docstring). Each handler appends zero or more events to `out`; none raises.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from jobctl.model import Event
from jobctl.parse.monitor import MonitorLine
from jobctl.parse.monitor_handlers import (
    BPOP,
    EPOCH,
    MOVE,
    POP,
    PUSH,
    READS,
    HandlerBase,
    Pop,
    Run,
    text,
)
from jobctl.parse.resque_payload import parse_failure


class ResqueKeyHandlers(HandlerBase):
    """One method per key family: queues, worker keys, the workers set, failed lists, scheduler."""

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
