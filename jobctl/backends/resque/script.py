"""The verify-then-act Lua script (requeue.lua) and how one batch is sent to it.

`MoveScript.run(batch)` sends one batch of entries read from one failure list; Redis runs the
script atomically and reports, per entry, whether it acted (the list still held exactly the
bytes jobctl read, at the index it read them) or left it alone. The script is loaded once and
called by SHA (EVALSHA); redis-py reloads it transparently after a server restart (NOSCRIPT).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from jobctl.trace import traced

MODES = ("move", "keep", "discard")


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
        self._script = client.register_script(_source())

    def queue_key(self, name: str) -> str:
        return f"{self.ns}:queue:{name}"

    @property
    def queues_key(self) -> str:
        return f"{self.ns}:queues"

    def run(self, list_key: str, mode: str, entries: list[Entry]) -> tuple[list[bool], int]:
        """Act on `entries` (ascending index, all from `list_key`). Returns (acted per entry, removed)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        if not entries:
            return [], 0
        targets: dict[str, int] = {}
        per_entry: list[Any] = []
        for e in entries:
            if mode == "discard":
                per_entry += [e.index, e.raw, 0, 0, 0]
                continue
            assert e.target is not None and e.span is not None
            t = targets.setdefault(e.target, len(targets) + 1)
            per_entry += [e.index, e.raw, e.span[0] + 1, e.span[1], t]
            if mode == "keep":
                assert e.new_raw is not None
                per_entry.append(e.new_raw)
        names = list(targets)
        keys = [list_key, self.queues_key, *(self.queue_key(n) for n in names)]
        lo = entries[0].index
        hi = entries[-1].index
        tomb = b"\x00jobctl-tombstone:" + os.urandom(12).hex().encode()
        args = [mode, tomb, lo, hi, len(names), *names, *per_entry]
        with traced("redis", f"EVALSHA requeue.lua {list_key} {mode} {len(entries)} entries [{lo}..{hi}]"):
            statuses, removed = self._script(keys=keys, args=args)
        return [int(s) == 1 for s in statuses], int(removed)
