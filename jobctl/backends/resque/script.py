"""The verify-then-act Lua script (requeue.lua) and how one batch is sent to it.

`MoveScript.run(list_key, mode, entries)` sends one batch of entries read from one failure list;
Redis runs the script atomically and reports, per entry, whether it acted (the list still held
exactly the bytes jobctl read, at the index it read them) or left it alone. The script is loaded
once and called by SHA (EVALSHA); after a server restart (NOSCRIPT) it is loaded again and resent.

The walk sends a batch with `start()` instead: the call goes out together with the LRANGE of the
next window *ahead of it*, and the two replies are read separately, so jobctl prepares the next
batch while Redis runs the script (walk.py explains why reading ahead is safe).
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

MODES = ("move", "keep", "discard")
HEADER = struct.Struct(">IIIIH")  # per entry for requeue.lua: index, length, payload start/end, target


@dataclass(slots=True)
class Entry:
    """One selected failure entry, as read from the list."""

    index: int  # live index when read (what the script verifies)
    raw: bytes  # exact stored bytes
    id: str  # stable failure id (ids.IdAssigner)
    queue: str | None  # the failure's own queue
    job_class: str
    target: str | None = None  # queue to push to (move/keep)
    span: tuple[int, int] | None = None  # payload byte range [start, end) (move/keep)
    new_raw: bytes | None = None  # keep: the record with retried_at set
    sample: dict[str, Any] | None = field(default=None)  # display fields for the result sample


class Batch:
    """The entries of one script call (ascending index, one list), packed once for requeue.lua.

    Made from Entry objects (`Batch.of`), or directly by a selector's fast path (`packed` given,
    entries made only if some entry must be retried: `make_entries`). `counts` = selected entries
    per (queue, class), when known, for the result's breakdown without a loop per entry."""

    __slots__ = ("mode", "lo", "hi", "n", "records", "names", "new_bytes", "_entries", "_make", "counts")

    def __init__(self, mode: str, lo: int, hi: int, n: int, records: bytes, names: list[str],
                 new_bytes: list[bytes], *, entries: list[Entry] | None = None,
                 make_entries: Callable[[], list[Entry]] | None = None,
                 counts: dict[tuple[str | None, str], int] | None = None) -> None:
        self.mode, self.lo, self.hi, self.n = mode, lo, hi, n
        self.records, self.names, self.new_bytes = records, names, new_bytes
        self._entries, self._make, self.counts = entries, make_entries, counts

    @classmethod
    def of(cls, mode: str, entries: list[Entry]) -> Batch:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        pack = HEADER.pack
        targets: dict[str, int] = {}
        records: list[bytes] = []
        new_bytes: list[bytes] = []
        for e in entries:
            if mode == "discard":
                records += (pack(e.index, len(e.raw), 0, 0, 0), e.raw)
                continue
            assert e.target is not None and e.span is not None
            t = targets.setdefault(e.target, len(targets) + 1)
            records += (pack(e.index, len(e.raw), e.span[0] + 1, e.span[1], t), e.raw)
            if mode == "keep":
                assert e.new_raw is not None
                new_bytes.append(e.new_raw)
        return cls(mode, entries[0].index, entries[-1].index, len(entries), b"".join(records), list(targets),
                   new_bytes, entries=entries)

    def entries(self) -> list[Entry]:
        if self._entries is None:
            assert self._make is not None
            self._entries = self._make()
        return self._entries


def _source() -> str:
    return resources.files("jobctl.backends.resque").joinpath("requeue.lua").read_text(encoding="utf-8")


class MoveScript:
    """One registered script per Redis client."""

    def __init__(self, client: Any, namespace: str) -> None:
        self.client = client
        self.ns = namespace
        self._source = _source()
        self._sha: str | None = None
        self.last_server_us = 0
        self.last_removal_us = 0
        self.last_length = 0
        self.last_scanned = 0

    def queue_key(self, name: str) -> str:
        return f"{self.ns}:queue:{name}"

    @property
    def queues_key(self) -> str:
        return f"{self.ns}:queues"

    def _command(self, list_key: str, batch: Batch) -> tuple[Any, ...]:
        keys = [list_key, self.queues_key, *(self.queue_key(n) for n in batch.names)]
        tomb = b"\x00jobctl-tombstone:" + os.urandom(12).hex().encode()
        return ("EVALSHA", self._sha, len(keys), *keys, batch.mode, tomb, batch.lo, batch.hi, batch.records,
                len(batch.names), *batch.names, *batch.new_bytes)

    def _record(self, reply: Any) -> tuple[bytes, int]:
        statuses, removed, usec, removal_usec, length, scanned = reply
        self.last_server_us = int(usec)
        self.last_removal_us = int(removal_usec)
        self.last_length = int(length)  # the list's length after the call
        self.last_scanned = int(scanned)  # entries its LREM passed (0: none, or an LTRIM)
        return statuses, int(removed)

    def run(self, list_key: str, mode: str, entries: list[Entry],
            then_lrange: tuple[str, int, int] | None = None) -> tuple[list[bool], int, list[bytes] | None]:
        """Act on `entries` (ascending index, all from `list_key`), waiting for the reply.

        Returns (acted per entry, removed, rows of `then_lrange`): an LRANGE sent in the same round
        trip, after the script. `last_server_us` then holds how long the script ran on the server
        (it blocks Redis that long).
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if not entries:
            return [], 0, None
        (statuses, removed), fetched = self.run_batch(list_key, Batch.of(mode, entries), then_lrange)
        return [c == 49 for c in statuses], removed, fetched  # b"1" == 49

    def run_batch(self, list_key: str, batch: Batch, then_lrange: tuple[str, int, int] | None = None
                  ) -> tuple[tuple[bytes, int], list[bytes] | None]:
        """One call, waiting for it: ((statuses as b"1"/b"0" per entry, removed), LRANGE rows or None).
        Not redis-py's Script in a pipeline: that asks SCRIPT EXISTS before every call."""
        from redis.exceptions import NoScriptError

        for attempt in (1, 2):
            if self._sha is None:
                self._sha = self.client.script_load(self._source)
            pipe = self.client.pipeline(transaction=False)
            pipe.execute_command(*self._command(list_key, batch))
            if then_lrange is not None:
                pipe.lrange(*then_lrange)
            try:
                res = pipe.execute()
            except NoScriptError:  # the server lost its script cache (restart, SCRIPT FLUSH)
                if attempt == 2:
                    raise
                self._sha = None  # the script did not run: load it and send again
                continue
            return self._record(res[0]), (res[1] if then_lrange is not None else None)
        raise AssertionError("unreachable")

    def start(self, list_key: str, batch: Batch, read_first: tuple[str, int, int] | None) -> Pending:
        """`LRANGE read_first` (if any; its rows: `Pending.first()`), then send the script call
        without waiting for its reply (`Pending.finish()`)."""
        if self._sha is None:
            self._sha = self.client.script_load(self._source)
        return Pending(self, list_key, batch, read_first)


class Pending:
    """A script call whose reply is not read yet (and the LRANGE read just before it). Holds its
    own connection from the client's pool until `finish()`; on any error the connection is closed,
    never reused with unread replies in it.

    The LRANGE is a round trip of its own, not sent with the script in one write: Redis writes a
    large reply 64 KB per event-loop turn and would run the script before the rest of the rows."""

    def __init__(self, script: MoveScript, list_key: str, batch: Batch,
                 read_first: tuple[str, int, int] | None) -> None:
        self.script, self.list_key, self.batch, self.read_first = script, list_key, batch, read_first
        pool = script.client.connection_pool
        self._pool = pool
        self._conn: Any = pool.get_connection()
        self._t0 = time.perf_counter()
        cmds: list[tuple[Any, ...]] = []
        self._rows: list[bytes] | None = None
        conn = self._conn
        if read_first is not None:
            cmds.append(("LRANGE", *read_first))
            self._guard(lambda: conn.send_command(*cmds[0]))
            self._rows = self._guard(conn.read_response)
        cmds.append(script._command(list_key, batch))
        self._cmds = cmds
        self._guard(lambda: conn.send_packed_command(conn.pack_commands(cmds[-1:])))

    def _guard(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except BaseException:
            self._close(broken=True)
            raise

    def abort(self) -> None:
        """Give up on the replies (an error or Ctrl-C while they were pending): close the connection."""
        self._close(broken=True)

    def _close(self, *, broken: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if broken:
            conn.disconnect()
        self._pool.release(conn)

    def first(self) -> list[bytes]:
        """The rows of the LRANGE read just before the script was sent."""
        assert self._rows is not None
        return self._rows

    def finish(self) -> tuple[bytes, int]:
        """(statuses as b"1"/b"0" per entry, removed): waits for the script's reply."""
        from redis.exceptions import NoScriptError

        try:
            reply = self._guard(self._conn.read_response)
        except NoScriptError:  # the script did not run (restart, SCRIPT FLUSH): load it and run it now
            self.script._sha = None
            return self.script.run_batch(self.list_key, self.batch)[0]
        self._close(broken=False)
        self._trace()
        return self.script._record(reply)

    def _trace(self) -> None:
        from jobctl.trace import TRACER

        if not TRACER.enabled:
            return
        from jobctl.backends.resque.connection import format_command
        from jobctl.safe import mask_secrets_in, visible

        what = "2 commands: LRANGE of the next window, then the script call" if len(self._cmds) == 2 else "the script call"
        TRACER.emit("redis", what, time.perf_counter() - self._t0)
        for n, args in enumerate(self._cmds, 1):
            line = visible(mask_secrets_in(format_command(args), []), max_len=300)
            print(f"    {n:>4}/{len(self._cmds)} {line}", file=TRACER.stream, flush=True)
