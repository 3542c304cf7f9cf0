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

Overlap: a batch's script call is sent with the LRANGE of the next window *ahead of it* (same
connection, one round trip), and jobctl prepares the next batch from those rows while Redis runs
the script. The rows are the same as after the script: it removes entries only at or above its
own window's lowest index, which shifts nothing below. They are used only if (a) the entry read
just above them is still the lowest entry of the current window as read (nothing below shifted
between the two reads; this replaces the anchor check for them) and (b) the script acted on every
entry of its batch. Otherwise they are thrown away — with anything prepared from them, which is
why preparing is pure and the selection is only counted (`commit`) once the rows are used — and
the mismatches are retried first; the next window is then read afresh with the anchor check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from jobctl.backends.resque.ids import IdAssigner, entry_hash
from jobctl.backends.resque.relocate import relocate
from jobctl.backends.resque.script import Batch, Entry, MoveScript
from jobctl.backends.resque.stall import StallGuard
from jobctl.backends.resque.window import WindowSizer

RESYNC_LIMIT = 20  # anchor re-locations per list before giving up (then: "rerun to finish")
RELOCATE_ATTEMPTS = 3


@dataclass(slots=True)
class ListSnap:
    """One failure list as it was when the run (or its preview) started."""

    key: str
    queue: str | None  # the queue a RedisMultiQueue list holds; None for the shared list
    length: int
    last: bytes | None  # the entry at length-1 then (where the walk starts)


@dataclass(slots=True)
class _Ahead:
    """The next window, read before the current batch's script ran (see the module doc)."""

    lo: int
    hi: int
    rows: list[bytes]
    consistent: bool  # the entry just above it was still the lowest entry of the current window
    batch: Batch | None  # prepared from `rows` while the script ran; not counted as selected yet


class Sink(Protocol):
    """Where a walk reports what happened to the selected entries (bounded: nothing is kept here)."""

    def done(self, entries: list[Entry]) -> None: ...
    def done_counts(self, counts: dict[tuple[str | None, str], int], n: int) -> None: ...
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
                 stop_at: Callable[[bytes], bool] | None = None, ids: bool = True,
                 guard: StallGuard | None = None) -> None:
        self.r = r
        self.guard = guard if mode != "keep" else None  # keep rewrites in place: nothing is removed
        self.sizer = WindowSizer(window, self.guard.batch_us) if self.guard is not None else WindowSizer(window)
        self.snap = snap
        self.select = select
        self.script = script
        self.mode = mode
        self.call = call
        self.stop = stop  # True when the selection limit is reached
        self.on_scanned = on_scanned
        self.stop_at = stop_at or (lambda raw: False)  # True: this entry and all older ones are out (--since)
        self.plain = stop_at is None  # no --since cut-off
        self.ids = ids  # False: the selector needs no ids (no --id filter); it hashes the few it reports
        self.out = sink
        self._acted_keep: set[int] = set()  # keep mode: indexes rewritten in the current window
        # A selector that can take a whole window at once (write_select.LightMove): prepare(rows, lo)
        # -> Batch | None is pure; commit(batch) counts it as selected. Only without ids/--since.
        prepare = getattr(select, "prepare", None) if not ids and stop_at is None else None
        self.prepare: Callable[[list[bytes], int], Batch | None] | None = prepare
        self.commit: Callable[[Batch], None] = getattr(select, "commit", lambda b: None)

    # ------------------------------------------------------------------ walk
    def run(self) -> None:
        key = self.snap.key
        hi = self._start()
        assign = IdAssigner(key)
        anchor: bytes | None = None
        resyncs = 0
        ahead: _Ahead | None = None
        while hi >= 0 and not self.stop():
            prepared: Batch | None = None
            if ahead is not None and ahead.hi == hi and ahead.consistent:
                lo, rows, prepared = ahead.lo, ahead.rows, ahead.batch
            else:
                # read [lo, hi] plus the entry just above (the anchor check)
                lo = max(0, hi - self.sizer.window + 1)
                rows, _ = self.call(partial(self.r.lrange, key, lo, hi + 1), False)
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
                    ahead = None
                    continue
            ahead = None
            if not rows:
                break
            batch, done_scan = self._select(rows, lo, prepared, assign)
            self.on_scanned(len(rows))
            more = lo > 0 and not done_scan and not self.stop()
            nxt = (max(0, lo - self.sizer.window), lo - 1) if more else None
            removed: set[int] = set()
            if batch is not None and self.guard is not None and not self.guard.allows(batch.lo, batch.hi, batch.n):
                self._skip(batch, self.guard.reason(batch.lo, batch.hi, batch.n))
            elif batch is not None:
                removed, ahead = self._act(batch, nxt, rows)
            anchor = self._next_anchor(rows, lo, removed, anchor, batch)
            hi = lo - 1
            if done_scan:
                break

    def _select(self, rows: list[bytes], lo: int, prepared: Batch | None,
                assign: IdAssigner) -> tuple[Batch | None, bool]:
        """The batch of one window (None: nothing selected), and whether the scan ends here (--since)."""
        if self.prepare is not None:
            batch = prepared if prepared is not None else self.prepare(rows, lo)
            if batch is not None:
                self.commit(batch)
                return batch, False
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
        if not picked:
            return None, done_scan
        picked.reverse()  # ascending index, as the script wants
        return Batch.of(self.mode, picked), done_scan

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
                     batch: Batch | None) -> bytes | None:
        """The lowest entry of this window still in the list (it sits at index lo afterwards).
        `removed`: indexes (as read) of entries acted on, or found gone/changed on retry."""
        if len(removed) == len(rows):  # all of it (removed holds indexes of this window only)
            return anchor
        rewritten: dict[int, bytes] = {}
        if self.mode == "keep" and batch is not None:
            rewritten = {e.index: e.new_raw for e in batch.entries() if e.new_raw is not None}
        for i, raw in enumerate(rows):
            idx = lo + i
            if idx not in removed:
                if idx in rewritten and idx in self._acted_keep:
                    return rewritten[idx]
                return raw
        return anchor

    # ------------------------------------------------------------------ act
    def _done(self, batch: Batch) -> None:
        if batch.counts is not None:
            self.out.done_counts(batch.counts, batch.n)
        else:
            self.out.done(batch.entries())

    def _skip(self, batch: Batch, reason: str) -> None:
        """The stall guard refused this batch: its entries stay failed, reported as skipped."""
        for e in batch.entries():
            e.id = e.id or entry_hash(self.snap.key, e.raw)
            self.out.skipped(e, reason)

    def _act(self, batch: Batch, nxt: tuple[int, int] | None, rows: list[bytes]) -> tuple[set[int], _Ahead | None]:
        """Run the script on one batch of the window `rows`, with the next window [nxt] read ahead
        of it and prepared while the script runs; retry mismatches after re-locating them.

        Returns (indexes removed, the next window or None when it must be read afresh)."""
        self._acted_keep = set()
        if self.script is None:  # dry run
            self._done(batch)
            if self.guard is not None:
                self.guard.simulate(batch.n)
            return set(), None
        script = self.script
        key = self.snap.key
        prepare = self.prepare
        top = rows[0]  # the lowest entry of this window as read

        def exchange() -> tuple[tuple[bytes, int], _Ahead | None]:
            pending = script.start(key, batch, (key, nxt[0], nxt[1] + 1) if nxt is not None else None)
            try:
                ahead = None
                if nxt is not None:
                    nlo, nhi = nxt
                    rows = pending.first()
                    above = rows[nhi - nlo + 1] if len(rows) > nhi - nlo + 1 else None
                    rows = rows[: nhi - nlo + 1]
                    consistent = above == top and len(rows) == nhi - nlo + 1
                    prepared = prepare(rows, nlo) if prepare is not None and consistent else None
                    ahead = _Ahead(nlo, nhi, rows, consistent, prepared)
                return pending.finish(), ahead
            except BaseException:
                pending.abort()
                raise

        ((statuses, _), ahead), retried = self.call(exchange, True)
        self.sizer.measured(script.last_server_us, script.last_removal_us, len(rows))
        if self.guard is not None:
            self.guard.learn(script.last_scanned, script.last_removal_us, script.last_length)
        if b"0" not in statuses:  # every entry acted: the rows read ahead are good
            self._done(batch)
            entries = None if batch.n == batch.hi - batch.lo + 1 else batch.entries()
            indexes = set(range(batch.lo, batch.hi + 1)) if entries is None else {e.index for e in entries}
            if self.mode == "keep":
                self._acted_keep = indexes
                return set(), ahead
            return indexes, ahead
        removed: set[int] = set()
        entries = batch.entries()
        acted = [e for e, c in zip(entries, statuses, strict=True) if c == 49]  # b"1"
        self.out.done(acted)
        if self.mode == "keep":
            self._acted_keep.update(e.index for e in acted)
        else:
            removed.update(e.index for e in acted)
        for e, c in zip(entries, statuses, strict=True):
            if c != 49:
                self._retry_one(e, removed, uncertain=retried)
        return removed, None

    def _mark(self, e: Entry, removed: set[int]) -> None:
        if self.mode == "keep":
            self._acted_keep.add(e.index)
        else:
            removed.add(e.index)

    def _retry_one(self, e: Entry, removed: set[int], *, uncertain: bool) -> None:
        """Re-locate a missed entry and act on it there. `removed` gets its index (as read) when it
        is done, or when it is gone or kept changing: either way it is no anchor for the walk."""
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
                removed.add(original)  # not where it was read any more: never the next anchor
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
        removed.add(original)  # not where it was read any more: never the next anchor

    def _relocate(self, raw: bytes, near: int) -> int | None:
        """Current index of an entry with exactly these bytes: nearest to `near`, else anywhere."""
        return relocate(self.r, self.call, self.snap.key, raw, near, max(self.sizer.window, 100) * 2)
