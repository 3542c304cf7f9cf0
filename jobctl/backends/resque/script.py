"""The verify-then-act Lua script (requeue.lua) and how one batch is sent to it.

`MoveScript.run(batch)` sends one batch of entries read from one failure list; Redis runs the
script atomically and reports, per entry, whether it acted (the list still held exactly the
bytes jobctl read, at the index it read them) or left it alone. The script is loaded once and
called by SHA (EVALSHA); redis-py reloads it transparently after a server restart (NOSCRIPT).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

MODES = ("move", "keep", "discard")
_HEADER = struct.Struct(">IIIIH")  # per entry for requeue.lua: index, length, payload start/end, target


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
        self.max_server_us = 0
        self.calls = 0

    def _send(self, keys: list[Any], args: list[Any], then_lrange: tuple[str, int, int] | None) -> tuple[Any, Any]:
        """EVALSHA (+ the LRANGE) in one round trip. Not redis-py's Script in a pipeline: that asks
        SCRIPT EXISTS before every execute, a second round trip per batch."""
        if self._sha is None:
            self._sha = self.client.script_load(self._source)
        pipe = self.client.pipeline(transaction=False)
        pipe.evalsha(self._sha, len(keys), *keys, *args)
        if then_lrange is not None:
            pipe.lrange(*then_lrange)
        res = pipe.execute()
        return res[0], (res[1] if then_lrange is not None else None)

    def queue_key(self, name: str) -> str:
        return f"{self.ns}:queue:{name}"

    @property
    def queues_key(self) -> str:
        return f"{self.ns}:queues"

    def run(self, list_key: str, mode: str, entries: list[Entry],
            then_lrange: tuple[str, int, int] | None = None) -> tuple[list[bool], int, list[bytes] | None]:
        """Act on `entries` (ascending index, all from `list_key`).

        Returns (acted per entry, removed, rows of `then_lrange`): an LRANGE sent in the same round
        trip, after the script (one round trip per window instead of two). `last_server_us` then
        holds how long the script ran on the server (it blocks Redis that long).
        """
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if not entries:
            return [], 0, None
        targets: dict[str, int] = {}
        records: list[bytes] = []
        new_bytes: list[bytes] = []
        for e in entries:
            if mode == "discard":
                records += (_HEADER.pack(e.index, len(e.raw), 0, 0, 0), e.raw)
                continue
            assert e.target is not None and e.span is not None
            t = targets.setdefault(e.target, len(targets) + 1)
            records += (_HEADER.pack(e.index, len(e.raw), e.span[0] + 1, e.span[1], t), e.raw)
            if mode == "keep":
                assert e.new_raw is not None
                new_bytes.append(e.new_raw)
        names = list(targets)
        keys = [list_key, self.queues_key, *(self.queue_key(n) for n in names)]
        lo = entries[0].index
        hi = entries[-1].index
        tomb = b"\x00jobctl-tombstone:" + os.urandom(12).hex().encode()
        args = [mode, tomb, lo, hi, b"".join(records), len(names), *names, *new_bytes]
        from redis.exceptions import NoScriptError

        try:
            (statuses, removed, usec, removal_usec), fetched = self._send(keys, args, then_lrange)
        except NoScriptError:  # the server lost its script cache (restart, SCRIPT FLUSH)
            self._sha = None  # the script did not run: load it and send again
            (statuses, removed, usec, removal_usec), fetched = self._send(keys, args, then_lrange)
        self.last_server_us = int(usec)
        self.last_removal_us = int(removal_usec)
        self.calls += 1
        self.max_server_us = max(self.max_server_us, self.last_server_us)
        return [c == 49 for c in statuses], int(removed), fetched  # b"1" == 49
