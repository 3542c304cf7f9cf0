"""Walk one Resque failure list newest-first and act on what the filter selects, batch by batch.

Order and indexes: the walk starts at the snapshot's last entry and goes towards the head in
LRANGE windows. New failures are RPUSHed (appended at the tail), so they never shift an index
below the snapshot's end and are never read: appends during the run are never touched. Our own
removals only shift entries *above* the window (already processed), never the unprocessed ones.
Ids are assigned exactly like the read side (ids.IdAssigner, newest-first), so `--id` and
`--limit N` mean the same entries `jobctl failed` shows.

Concurrent removals by someone else (resque-web, another tool) shift entries below them. Two
checks catch that: (1) each window also reads the entry just above it, which must be the lowest
entry we kept (the "anchor"); if not, the walk re-locates the anchor and continues from there;
(2) the Lua script verifies every entry's bytes at its index and leaves mismatches alone; those
are re-located by their exact bytes (nearby first, then LPOS) and retried. An entry that cannot be
found any more (changed or removed by someone else) is reported as skipped, never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from jobctl.backends.resque.ids import IdAssigner
from jobctl.backends.resque.script import Entry, MoveScript

TARGET_US = 3000  # aim for ~3 ms of server time per script call (1.5-6 ms band)
MIN_WINDOW, MAX_WINDOW = 50, 2000
RESYNC_LIMIT = 20  # anchor re-locations per list before giving up (then: "rerun to finish")
RELOCATE_ATTEMPTS = 3


@dataclass(slots=True)
class ListSnap:
    """One failure list as it was when the run (or its preview) started."""

    key: str
    queue: str | None  # the queue a RedisMultiQueue list holds; None for the shared list
    length: int
    last: bytes | None  # the entry at length-1 then (where the walk starts)


class Sink(Protocol):
    """Where a walk reports what happened to the selected entries (bounded: nothing is kept here)."""

    def done(self, entries: list[Entry]) -> None: ...
    def skipped(self, e: Entry, reason: str) -> None: ...
    def note(self, text: str) -> None: ...
    def incomplete(self, text: str) -> None: ...
    def uncertain(self) -> None: ...


Select = Callable[[int, bytes, str], Entry | None]  # (index, raw, id) -> entry to act on, or None
Call = Callable[[Callable[[], Any], bool], tuple[Any, bool]]  # (fn, is_write) -> (result, retried)


class Walker:
    """Newest-first walk of one list. `select` decides; `script` acts (None = dry run)."""

    def __init__(self, r: Any, snap: ListSnap, select: Select, script: MoveScript | None, mode: str,
                 call: Call, sink: Sink, *, window: int = 250, stop: Callable[[], bool] = lambda: False,
                 on_scanned: Callable[[int], None] = lambda n: None,
                 stop_at: Callable[[bytes], bool] | None = None, ids: bool = True) -> None:
        self.r = r
        self.snap = snap
        self.select = select
        self.script = script
        self.mode = mode
        self.call = call
        self.window = window
        self.stop = stop  # True when the selection limit is reached
        self.on_scanned = on_scanned
        self.stop_at = stop_at or (lambda raw: False)  # True: this entry and all older ones are out (--since)
        self.plain = stop_at is None  # no --since cut-off
        self.ids = ids  # False: the selector needs no ids (no --id filter); it hashes the few it reports
        self.out = sink
        self._acted_keep: set[int] = set()  # keep mode: indexes rewritten in the current window

    # ------------------------------------------------------------------ walk
    def run(self) -> None:
        key = self.snap.key
        hi = self._start()
        assign = IdAssigner(key)
        anchor: bytes | None = None
        resyncs = 0
        prefetched: tuple[int, int, list[bytes]] | None = None
        while hi >= 0 and not self.stop():
            # read [lo, hi] plus the entry just above (the anchor check)
            if prefetched is not None and prefetched[1] == hi + 1:
                lo, _, rows = prefetched
            else:
                lo = max(0, hi - self.window + 1)
                rows, _ = self.call(partial(self.r.lrange, key, lo, hi + 1), False)
            prefetched = None
            above = rows[hi - lo + 1] if len(rows) > hi - lo + 1 else None
            rows = rows[: hi - lo + 1]
            if anchor is not None and above != anchor:
                resyncs += 1
                found = self._relocate(anchor, hi + 1) if resyncs <= RESYNC_LIMIT else None
                if found is None:
                    self.out.incomplete(
                        f"{key}: the list changed under the walk (entries removed by someone else); "
                        "stopped early — rerun the same command to finish")
                    return
                hi = found - 1
                continue
            if not rows:
                break
            picked: list[Entry] = []
            done_scan = False
            select = self.select
            if not self.ids and self.plain:  # `--all`: nothing can stop the window early
                for i in range(len(rows) - 1, -1, -1):
                    e = select(lo + i, rows[i], "")
                    if e is not None:
                        picked.append(e)
            else:
                for i in range(len(rows) - 1, -1, -1):
                    raw = rows[i]
                    if self.stop_at(raw):
                        done_scan = True
                        break
                    e = select(lo + i, raw, assign(raw) if self.ids else "")
                    if e is not None:
                        picked.append(e)
                        if self.stop():
                            break
            self.on_scanned(len(rows))
            picked.reverse()  # ascending index, as the script wants
            more = lo > 0 and not done_scan and not self.stop()
            nxt = (max(0, lo - self.window), lo) if more else None
            removed: set[int] = set()
            if picked:
                removed, fetched = self._act(picked, nxt)
                if fetched is not None and nxt is not None:
                    prefetched = (nxt[0], nxt[1], fetched)
            anchor = self._next_anchor(rows, lo, removed, anchor, picked)
            hi = lo - 1
            if done_scan:
                break

    def _start(self) -> int:
        """Index of the snapshot's last entry now (it can have moved if someone removed entries)."""
        snap = self.snap
        if snap.length == 0 or snap.last is None:
            return -1
        at, _ = self.call(lambda: self.r.lindex(snap.key, snap.length - 1), False)
        if at == snap.last:
            return snap.length - 1
        found = self._relocate(snap.last, snap.length - 1)
        if found is None:
            self.out.note(f"{snap.key}: the newest entry of the snapshot is gone; starting from "
                                  "the snapshot's length instead")
            return snap.length - 1
        return found

    def _next_anchor(self, rows: list[bytes], lo: int, removed: set[int], anchor: bytes | None,
                     picked: list[Entry]) -> bytes | None:
        """The lowest entry of this window still in the list (it sits at index lo afterwards)."""
        rewritten = {e.index: e.new_raw for e in picked if self.mode == "keep" and e.new_raw is not None}
        for i, raw in enumerate(rows):
            idx = lo + i
            if idx not in removed:
                if idx in rewritten and idx in self._acted_keep:
                    return rewritten[idx]
                return raw
        return anchor

    # ------------------------------------------------------------------ act
    def _act(self, entries: list[Entry], prefetch: tuple[int, int] | None) -> tuple[set[int], list[bytes] | None]:
        """Run the script on one batch (pipelined with the LRANGE of the next window, which our
        removals above it cannot shift); retry mismatches after re-locating them.

        Returns (indexes removed, the next window's rows or None when they must be re-read)."""
        self._acted_keep = set()
        if self.script is None:  # dry run
            self.out.done(entries)
            return set(), None
        removed: set[int] = set()
        script = self.script
        ahead = (self.snap.key, *prefetch) if prefetch is not None else None
        (statuses, _, fetched), retried = self.call(lambda: script.run(self.snap.key, self.mode, entries, ahead), True)
        self._tune(script.last_server_us, script.last_removal_us)
        acted = [e for e, ok in zip(entries, statuses, strict=True) if ok]
        self.out.done(acted)
        if self.mode == "keep":
            self._acted_keep.update(e.index for e in acted)
        else:
            removed.update(e.index for e in acted)
        clean = len(acted) == len(entries)
        for e, ok in zip(entries, statuses, strict=True):
            if not ok:
                self._retry_one(e, removed, uncertain=retried)
        return removed, fetched if clean else None

    def _mark(self, e: Entry, removed: set[int]) -> None:
        if self.mode == "keep":
            self._acted_keep.add(e.index)
        else:
            removed.add(e.index)

    def _retry_one(self, e: Entry, removed: set[int], *, uncertain: bool) -> None:
        original = e.index
        for _ in range(RELOCATE_ATTEMPTS):
            found = self._relocate(e.raw, e.index)
            if found is None:
                if uncertain:
                    # The reply of a call that included this entry was lost and the entry is gone:
                    # the atomic script ran (it is the only thing here that removes it).
                    self.out.done([e])
                    self.out.uncertain()
                    self._mark(e, removed)
                    e.index = original
                    return
                self.out.skipped(e, "changed or removed by someone else after it was read")
                return
            e.index = found
            (statuses, _, _), retried = self.call(lambda: self.script.run(self.snap.key, self.mode, [e]), True)  # type: ignore[union-attr]
            uncertain = uncertain or retried
            if statuses[0]:
                self.out.done([e])
                # Removal at `found` shifts entries above it, which the walk already passed.
                if self.mode == "keep":
                    self._acted_keep.add(original)
                else:
                    removed.add(original)
                e.index = original
                return
        self.out.skipped(e, "kept changing while jobctl retried it")

    def _relocate(self, raw: bytes, near: int) -> int | None:
        """Current index of an entry with exactly these bytes: nearest to `near`, else anywhere."""
        key = self.snap.key
        span = max(self.window, 100) * 2
        lo = max(0, near - span)
        rows, _ = self.call(lambda: self.r.lrange(key, lo, near + span), False)
        best: int | None = None
        for i, v in enumerate(rows):
            if v == raw and (best is None or abs(lo + i - near) < abs(best - near)):
                best = lo + i
        if best is not None:
            return best
        pos, _ = self.call(lambda: self.r.lpos(key, raw, rank=-1), False)
        return int(pos) if pos is not None else None

    def _tune(self, server_us: int, removal_us: int) -> None:
        """Keep each script call short (it blocks Redis): size the window by the script's own
        server time, measured inside the script, so a busy client machine does not skew it.

        The per-entry part scales with the window; a removal scan deep inside a long list does
        not (it costs its distance from the list's end whatever the batch), so when the scan
        alone is over budget the window grows instead: fewer scans for the same entries."""
        per_batch = server_us - removal_us
        if removal_us > TARGET_US:
            self.window = min(MAX_WINDOW, self.window * 2)
        elif per_batch > TARGET_US * 2 and self.window > MIN_WINDOW:
            self.window = max(MIN_WINDOW, self.window // 2)
        elif server_us < TARGET_US // 2 and self.window < MAX_WINDOW:
            self.window = min(MAX_WINDOW, self.window * 2)
