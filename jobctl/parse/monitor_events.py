"""Resque traffic seen by Redis MONITOR -> job events (`model.Event`). Pure: no redis, no I/O.

What each event is made from (namespace `resque`; resque-format.md §1-2, monitor-format.md §1.5):

| kind | command(s) |
|---|---|
| enqueue | RPUSH/LPUSH `<ns>:queue:<q>` (one event per pushed value; class/args from the payload) |
| reserve | LPOP/RPOP `<ns>:queue:<q>` followed, on the same connection, by SET `<ns>:worker:<id>` |
| poll | a pop NOT followed by that SET: an empty poll (MONITOR never shows replies). Hidden by default |
| start | SET `<ns>:worker:<id>` `{"queue","run_at","payload"}` |
| done | DEL `<ns>:worker:<id>` after a job (then INCRBY stat:processed); run time when its start was seen |
| fail | RPUSH `<ns>:failed` / `<ns>:<q>_failed` (class, exception, error from the record) |
| requeue | LSET of a failure record (Resque marks it with retried_at; the new job is an enqueue) |
| remove | LREM / LTRIM / DEL on a failed list (Resque's remove is LSET "" + LREM 1 "": one event) |
| dequeue | LREM `<ns>:queue:<q>` (Resque.dequeue / Job.destroy) |
| worker-start / worker-stop | SADD / SREM `<ns>:workers` |
| heartbeat | HSET `<ns>:workers:heartbeat` (hidden by default) |
| scheduled / unscheduled / schedule | resque-scheduler: RPUSH / LREM `delayed:<ts>`, DEL of the schedule; HSET/HDEL persistent_schedules |
| queue-removed / queue-cleared | SREM `<ns>:queues` (+ its DEL) / DEL `<ns>:queue:<q>` alone |
| pause / resume | SET / DEL `<ns>:pause-all-workers` |
| bookkeeping | namespace writes that are part of one of the above (SADD queues, INCRBY stat:*, …). Hidden |
| read | namespace reads (GET, LRANGE, LLEN, SMEMBERS, …: dashboards, workers polling). Hidden |
| other | a namespace command not understood; with `all_keys`, every command outside the namespace |

Guesses (MONITOR shows no replies): a pop is called a reserve only when the worker's SET follows,
which is what Resque does right after a successful LPOP; a pop left unresolved for a second of
stream time, or at the end, is a `poll`. A DEL of `worker:<id>` right after the worker's SREM (an
unregister or prune) is bookkeeping, not `done`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta

from jobctl.model import Event
from jobctl.parse.monitor import MonitorLine, parse_line
from jobctl.parse.monitor_families import ResqueKeyHandlers
from jobctl.parse.monitor_handlers import COUNTERS, EPOCH, READS, SCRIPT, Pop, text

KINDS: tuple[str, ...] = (
    "enqueue", "reserve", "start", "done", "fail", "requeue", "remove", "dequeue", "worker-start",
    "worker-stop", "heartbeat", "poll", "scheduled", "unscheduled", "schedule", "queue-removed",
    "queue-cleared", "pause", "resume", "bookkeeping", "read", "other", "unparsed",
)
HIDDEN_BY_DEFAULT = frozenset({"heartbeat", "poll", "bookkeeping", "read", "unparsed"})
DEFAULT_KINDS = frozenset(k for k in KINDS if k not in HIDDEN_BY_DEFAULT)
POP_GRACE_US = 1_000_000  # a pop not followed by the worker's SET within 1 s of stream time = empty
_NO_SET = "no worker SET followed (empty poll, or not a Resque worker)"


class EventDecoder(ResqueKeyHandlers):
    """Feed parsed MONITOR lines in order; get events back. Keeps the little state that pairing
    needs (pending pops per connection, running jobs per worker, workers being unregistered).

    `kinds` limits which events are built at all (the state is kept either way, so filtering
    never changes what the wanted events say)."""

    def __init__(self, namespace: str = "resque", *, all_keys: bool = False,
                 kinds: frozenset[str] | set[str] | None = None, keep_raw: bool = False) -> None:
        super().__init__(namespace, frozenset(kinds) if kinds is not None else frozenset(KINDS), keep_raw)
        self.all_keys = all_keys
        # Commands whose only possible event is an unwanted kind and that change no pairing state:
        # skipped before any decoding (most of a busy stream is workers' GETs and INCRBYs).
        self._unwanted = (READS if "read" not in self.kinds else frozenset()) | (
            COUNTERS if "bookkeeping" not in self.kinds else frozenset())
        self.lines = 0  # parsed lines fed
        self.unparsed = 0  # lines that were not MONITOR lines (counted by decode_lines)
        self._last_sweep_us = 0
        self._last_ts_us = 0

    # ------------------------------------------------------------------ public
    def feed(self, line: MonitorLine, raw: bytes | None = None) -> list[Event]:
        self.lines += 1
        self._last_ts_us = line.ts_us
        out: list[Event] = []
        if self._pending:
            pop = self._pending.pop(line.client, None)
            if pop is not None:
                self._resolve(pop, line, out)
            if line.ts_us - self._last_sweep_us > POP_GRACE_US:
                self._sweep(line.ts_us, out)
        args = line.args
        cmd = args[0].upper()
        key = args[1] if len(args) > 1 else b""
        if cmd in SCRIPT:
            key = self._script_key(args)
        elif cmd == b"SCAN" or cmd == b"KEYS":
            key = self._pattern_arg(cmd, args)
        prefix = self.prefix
        if key.startswith(prefix) and (prefix or key):
            if cmd not in self._unwanted:
                self._namespace_command(cmd, key[len(prefix):], line, raw, out)
        elif self.all_keys and "other" in self.kinds:
            out.append(self._event("other", line, raw, key=text(key) if key else None))
        return out

    def flush(self) -> list[Event]:
        """End of stream (or an idle live stream): pops still waiting for a SET were empty polls."""
        out: list[Event] = []
        for pop in list(self._pending.values()):
            self._emit_pop("poll", pop, out, _NO_SET)
        self._pending.clear()
        return out

    def unparsed_event(self, raw: bytes) -> Event:
        """A line that is not MONITOR output, as an event (time = the last parsed line's)."""
        return Event(ts=EPOCH + timedelta(microseconds=self._last_ts_us), kind="unparsed",
                     detail=f"{len(raw)} bytes", raw=text(raw))

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _script_key(args: list[bytes]) -> bytes:
        try:
            return args[3] if len(args) > 3 and int(args[2]) > 0 else b""
        except ValueError:
            return b""

    @staticmethod
    def _pattern_arg(cmd: bytes, args: list[bytes]) -> bytes:
        if cmd == b"KEYS":
            return args[1] if len(args) > 1 else b""
        for i in range(2, len(args) - 1):
            if args[i].upper() == b"MATCH":
                return args[i + 1]
        return b""

    def _sweep(self, now_us: int, out: list[Event]) -> None:
        self._last_sweep_us = now_us
        for client, pop in list(self._pending.items()):
            if now_us - pop.line.ts_us > POP_GRACE_US:
                del self._pending[client]
                self._emit_pop("poll", pop, out, "no worker SET followed within 1 s (empty poll)")

    def _resolve(self, pop: Pop, line: MonitorLine, out: list[Event]) -> None:
        """The connection that popped sent its next command: a worker SET means a job was taken."""
        args = line.args
        if len(args) >= 3 and args[0].upper() == b"SET" and args[1].startswith(self.prefix):
            name = text(args[1][len(self.prefix):])
            if name.startswith("worker:") and not name.endswith(":started"):
                info = self._worker_payload(args[2])
                self._emit_pop("reserve", pop, out, info.get("detail"), worker=name[7:],
                               job_class=info.get("job_class"), args=info.get("args"))
                return
        self._emit_pop("poll", pop, out, _NO_SET)

    # ------------------------------------------------------------------ namespace commands
    def _namespace_command(self, cmd: bytes, name_b: bytes, line: MonitorLine, raw: bytes | None,
                           out: list[Event]) -> None:
        name = text(name_b)
        key = text(self.prefix) + name
        args = line.args
        if name.startswith("queue:"):
            self._queue_command(cmd, name[6:], key, line, raw, out)
        elif name.startswith("worker:"):
            self._worker_key(cmd, name[7:], key, line, raw, out)
        elif name == "failed" or name.endswith("_failed"):
            self._failed_command(cmd, name, key, line, raw, out)
        elif name == "workers":
            self._workers_set(cmd, key, line, raw, out)
        elif name == "workers:heartbeat" and cmd == b"HSET":
            if self._want("heartbeat"):
                out.append(self._event("heartbeat", line, raw, key=key,
                                       worker=text(args[2]) if len(args) > 2 else None,
                                       detail=text(args[3]) if len(args) > 3 else None))
        elif name == "queues" and cmd == b"SREM":
            for q in args[2:]:
                queue = text(q)
                self._removed_queues.add(queue)
                if self._want("queue-removed"):
                    out.append(self._event("queue-removed", line, raw, key=key, queue=queue))
        elif name.startswith("delayed:") or name == "delayed_queue_schedule" or name in (
                "persistent_schedules", "schedules"):
            self._scheduler_command(cmd, name, key, line, raw, out)
        elif name == "pause-all-workers" and cmd in (b"SET", b"DEL"):
            kind = "pause" if cmd == b"SET" else "resume"
            if self._want(kind):
                out.append(self._event(kind, line, raw, key=key,
                                       detail=text(args[2]) if len(args) > 2 else None))
        else:
            self._generic(cmd, name, key, line, raw, out)



def decode_lines(lines: Iterable[bytes | None], decoder: EventDecoder) -> Iterator[Event]:
    """Raw MONITOR lines -> events, in order. `None` in the input means "the stream is idle": the
    pops still waiting are resolved as polls. Unparseable lines are counted in
    `decoder.unparsed` and come out as `unparsed` events only when that kind is wanted."""
    feed = decoder.feed
    want_unparsed = "unparsed" in decoder.kinds
    for raw in lines:
        if raw is None:
            yield from decoder.flush()
            continue
        line = parse_line(raw)
        if line is None:
            decoder.unparsed += 1
            if want_unparsed:
                yield decoder.unparsed_event(raw)
            continue
        events = feed(line, raw)
        if events:
            yield from events
    yield from decoder.flush()
