"""Which Resque failure entries a requeue/discard acts on, and what the script needs for each.

The selector is called once per entry during the walk (walk.py). With a filter it parses the
record (`parse_failure`) and applies `FailureFilter.matches` — the predicate `jobctl failed` uses,
so both select the same entries. Without one (`--all`) it takes the light path: one orjson decode,
the payload span found by `rawspan.fast_payload_span`, and no ids (the few entries a result reports
are hashed on demand), which keeps a 100k-entry requeue close to a plain LRANGE/RPUSH loop.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from jobctl.backends.resque import failures as failures_mod
from jobctl.backends.resque.ids import entry_hash
from jobctl.backends.resque.rawspan import (
    SpanError,
    fast_payload_span,
    payload_span,
    resque_stamp,
    with_retried_at,
)
from jobctl.backends.resque.script import HEADER, Batch, Entry
from jobctl.backends.resque.walk import ListSnap
from jobctl.model import FailureFilter
from jobctl.parse.resque_payload import ACTIVEJOB_WRAPPERS, parse_failure

if TYPE_CHECKING:
    from jobctl.backends.resque.backend import ResqueBackend

SAMPLE = 5


def since_stop(flt: FailureFilter) -> Callable[[bytes], bool] | None:
    """Newest-first, failures are in time order: stop a list at the first entry well before --since."""
    if flt.since is None or flt.ids:
        return None
    bound = flt.since - failures_mod.SINCE_SKEW

    def stop(raw: bytes) -> bool:
        t = failures_mod.quick_failed_at(raw)
        return t is not None and t < bound

    return stop


def limit_across_lists(backend: ResqueBackend, flt: FailureFilter,
                        snap: list[ListSnap]) -> dict[str, set[str]] | None:
    """--limit over several lists (RedisMultiQueue): the newest N across lists, chosen up front
    with the read side's merged scan, as {list key: ids}. None when no such pre-selection is needed."""
    if flt.limit is None or len([s for s in snap if s.length]) <= 1:
        return None
    chosen: dict[str, set[str]] = {}
    for e in failures_mod.iter_entries(backend, flt):
        chosen.setdefault(e.key, set()).add(e.failure.id)
    return chosen


# ---------------------------------------------------------------------------- selection


def _light(raw: bytes) -> tuple[str | None, str, tuple[int, int] | None] | None:
    """(queue, job_class, payload span or None) straight from orjson, for runs without a filter;
    None when the record is unusual (then the full parser decides)."""
    try:
        d = orjson.loads(raw)
        payload = d["payload"]
        klass = payload["class"]
    except Exception:  # noqa: BLE001 - anything unusual takes the full parser
        return None
    if not isinstance(klass, str) or not klass:
        return None
    if klass in ACTIVEJOB_WRAPPERS:
        klass = _wrapped_class(payload, klass)
    q = d.get("queue")
    return (q if isinstance(q, str) else None), klass, fast_payload_span(raw, payload)


def _wrapped_class(payload: dict[str, Any], klass: str) -> str:
    """The job_class an ActiveJob wrapper carries (else the wrapper's own name)."""
    args = payload.get("args")
    if isinstance(args, list) and args and isinstance(args[0], dict) and isinstance(args[0].get("job_class"), str):
        return args[0]["job_class"]  # type: ignore[no-any-return]
    return klass


def selector(flt: FailureFilter, ls: ListSnap, mode: str, to_queue: str | None, now: datetime,
              acc: Any, backend: ResqueBackend, wanted: set[str] | None) -> Callable[[int, bytes, str], Entry | None]:
    """The per-entry decision for one list. Without a filter (`--all`) it is the light path: one
    orjson decode and no ids (ids are hashed only for the entries a result reports)."""
    key = ls.key
    light = uses_light_path(flt, wanted)
    prefilter = failures_mod.make_prefilter(flt)
    ids = frozenset(flt.ids) if flt.ids else None
    stamp = resque_stamp(now, with_zone=(key == backend.keys.failed)) if mode == "keep" else ""

    def select(index: int, raw: bytes, fid: str) -> Entry | None:
        if acc.full():
            return None
        if ids is not None and fid not in ids:
            return None
        if wanted is not None and fid not in wanted:
            return None
        if prefilter is not None and not prefilter(raw):
            return None
        fields = _light(raw) if light else None
        failure = None
        span = None
        if fields is None:
            failure = parse_failure(raw, key=key, index=index, id=fid or entry_hash(key, raw))
            if not light and not flt.matches(failure):
                return None
            queue, klass = failure.queue, failure.job_class
        else:
            queue, klass, span = fields
        e = Entry(index=index, raw=raw, id=fid, queue=queue, job_class=klass, span=span)
        if acc.wants_sample():
            e.id = e.id or entry_hash(key, raw)
            f = failure or parse_failure(raw, key=key, index=index, id=e.id)
            e.sample = {"id": e.id, "queue": f.queue, "class": f.job_class, "failed_at": f.failed_at,
                        "exception": f.exception, "error": f.error, "location": f"{key}[{index}]"}
        reason = _prepare(e, mode, to_queue, stamp)
        if reason is not None:
            e.id = e.id or entry_hash(key, raw)
        acc.selected(e, reason)
        return e if reason is None else None

    if not (light and mode == "move" and acc.limit is None):
        return select
    return LightMove(to_queue, acc, select)


class LightMove:
    """`requeue --all` (move, no limit): an ordinary Resque record needs one orjson decode.

    Per entry (`__call__`, the walk's per-entry path) or a whole window at once: `prepare(rows, lo)`
    decodes every row and packs the script's argument directly (no Entry objects; pure, so the walk
    may run it while Redis still runs the previous batch and throw it away), `commit` then counts the
    batch as selected. A window with an unusual record, or while the result's sample is still being
    filled, is left to the per-entry path (`prepare` returns None)."""

    __slots__ = ("to_queue", "acc", "full")

    def __init__(self, to_queue: str | None, acc: Any, full: Callable[[int, bytes, str], Entry | None]) -> None:
        self.to_queue = to_queue
        self.acc = acc
        self.full = full  # the general selector: unusual records, the sample

    def __call__(self, index: int, raw: bytes, fid: str) -> Entry | None:
        fields = _light(raw)
        if fields is None or fields[2] is None or len(self.acc.res.sample) < SAMPLE:
            return self.full(index, raw, fid)  # unusual record, or one of the sample: the full path
        queue, klass, span = fields
        target = self.to_queue or queue
        if not target:
            return self.full(index, raw, fid)
        self.acc.n_selected += 1
        return Entry(index, raw, "", queue, klass, target, span)

    def prepare(self, rows: list[bytes], lo: int) -> Batch | None:
        if not rows or len(self.acc.res.sample) < SAMPLE:
            return None
        to_queue = self.to_queue
        pack = HEADER.pack
        targets: dict[str, int] = {}
        counts: dict[tuple[str | None, str], int] = {}
        parts: list[bytes] = []
        for i, raw in enumerate(rows):
            fields = _light(raw)
            if fields is None:
                return None  # unusual: the per-entry path decides
            q, klass, span = fields
            target = to_queue or q
            if not target:
                return None
            if span is None:
                try:
                    span = payload_span(raw)
                except SpanError:
                    return None
            t = targets.get(target)
            if t is None:
                t = targets[target] = len(targets) + 1
            key = (q, klass)
            counts[key] = counts.get(key, 0) + 1
            parts.append(pack(lo + i, len(raw), span[0] + 1, span[1], t))
            parts.append(raw)
        n = len(rows)

        def make_entries() -> list[Entry]:  # only when some entry must be retried
            out = []
            for i, raw in enumerate(rows):
                queue, klass, span = _light(raw) or (None, "", None)
                out.append(Entry(lo + i, raw, "", queue, klass, to_queue or queue, span or payload_span(raw)))
            return out

        return Batch("move", lo, lo + n - 1, n, b"".join(parts), list(targets), [],
                     make_entries=make_entries, counts=counts)

    def commit(self, batch: Batch) -> None:
        self.acc.n_selected += batch.n


def uses_light_path(flt: FailureFilter, wanted: set[str] | None) -> bool:
    return flt.is_empty() and wanted is None


def _prepare(e: Entry, mode: str, to_queue: str | None, stamp: str) -> str | None:
    """Fill what the script needs; a reason string when this entry cannot be acted on."""
    if mode == "discard":
        return None
    try:
        if e.span is None:
            e.span = payload_span(e.raw)
        if mode == "keep":
            e.new_raw = with_retried_at(e.raw, stamp)
    except SpanError as err:
        return f"unreadable failure record: {err}"
    e.target = to_queue or e.queue
    if not e.target:
        return "no queue in the failure record (use --to-queue)"
    if e.sample is not None:
        e.sample["target"] = e.target
    return None


