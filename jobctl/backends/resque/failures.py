"""Reading failures: the default backend (`<ns>:failed`) and RedisMultiQueue (`<ns>:<q>_failed` lists
named in the `<ns>:failed_queues` set), newest first by default, streamed in LRANGE windows.

`iter_entries()` is the one scan every consumer shares (failed, count, show, requeue/discard by the
write module): it yields `Entry(key, index, raw, failure)` for entries the FailureFilter selects.

Speed (bench/resque_failed_scan.py): per entry we hash the bytes (stable id), then
* `--id`: compare ids before parsing anything;
* exact `--class/--exception/--queue` values made of plain identifier characters, and the longest
  mandatory literal of an `--error` regex, must occur verbatim in the stored bytes (JSON never
  escapes those characters), so entries that lack them are skipped without decoding;
* ids are computed only for selected entries (identical copies are selected alike, ids.py);
* `--since` newest-first: failures are appended in time order, so the scan of a list stops at the
  first entry older than `since - SINCE_SKEW` (the skew tolerates workers with different clocks);
* everything else: orjson decode + FailureFilter.matches (the same predicate requeue uses).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobctl.backends.resque.ids import IdAssigner, digest_of, format_id, split_id
from jobctl.backends.resque.scan import WINDOW, iter_newest_first, iter_oldest_first
from jobctl.model import Failure, FailureFilter
from jobctl.parse.resque_payload import ACTIVEJOB_WRAPPERS, BAD_CLASS, decode_json, parse_failure
from jobctl.parse.resque_time import parse_resque_time

if TYPE_CHECKING:
    from jobctl.backends.resque.backend import ResqueBackend

SINCE_SKEW = timedelta(hours=1)
_PLAIN = re.compile(r"^[A-Za-z0-9_:.\-]+$")
_FAILED_AT_PREFIX = b'{"failed_at":"'
_MIN_TS = float("-inf")
_RETRIED = b'"retried_at"'  # a retried record always holds this key (necessary, not sufficient)


@dataclass(slots=True)
class Entry:
    key: str
    index: int
    raw: bytes
    failure: Failure


@dataclass(slots=True)
class ScanStats:
    scanned: int = 0
    matched: int = 0
    capped: bool = False  # stopped by scan_limit before the lists were exhausted


def failure_lists(backend: ResqueBackend) -> list[tuple[str, str | None]]:
    """[(list key, queue it holds or None for the shared `failed` list)] per the failure backend.

    `failure_backend` option: "redis" (only `failed`), "redis_multi_queue" (only `<q>_failed`),
    default "auto" = both, whichever exist.
    """
    mode = str(backend.target.options.get("failure_backend", "auto")).lower()
    r = backend.redis
    k = backend.keys
    out: list[tuple[str, str | None]] = []
    if mode in ("auto", "redis"):
        out.append((k.failed, None))
    if mode in ("auto", "redis_multi_queue", "multi_queue", "redismultiqueue"):
        members = sorted(m.decode("utf-8", "surrogateescape") for m in r.smembers(k.failed_queues))
        for m in members:
            out.append((k.failed_list(m), k.queue_of_failed_member(m)))
    return out


def list_lengths(backend: ResqueBackend, lists: list[tuple[str, str | None]]) -> list[int]:
    pipe = backend.redis.pipeline(transaction=False)
    for key, _ in lists:
        pipe.llen(key)
    return [int(n) for n in pipe.execute()] if lists else []


def _plain_terms(values: tuple[str, ...]) -> list[bytes] | None:
    """Byte strings that must occur in a matching entry, or None when no safe byte test exists."""
    if not values:
        return None
    terms = []
    for v in values:
        if not _PLAIN.match(v) or "#" in v:
            return None
        terms.append(v.encode())
    return terms


def prefilter_terms(flt: FailureFilter) -> list[list[bytes]]:
    """Byte tests: a matching entry contains at least one term of every group (empty = no test)."""
    groups = [t for t in (_plain_terms(flt.classes), _plain_terms(flt.exceptions), _plain_terms(flt.queues))
              if t]
    literal = required_literal(flt.error) if flt.error is not None else None
    if literal is not None:
        groups.append([literal])
    return groups


def make_prefilter(flt: FailureFilter) -> Callable[[bytes], bool] | None:
    """`prefilter_terms` as a predicate (for callers outside the hot loop)."""
    groups = prefilter_terms(flt)
    if not groups:
        return None

    def ok(raw: bytes) -> bool:
        return all(any(t in raw for t in terms) for terms in groups)

    return ok


def quick_failed_at(raw: bytes) -> datetime | None:
    """failed_at of a Resque-written record (its first field) without decoding the JSON."""
    if raw.startswith(_FAILED_AT_PREFIX):
        end = raw.find(b'"', 14)
        if end > 0:
            return parse_resque_time(raw[14:end].decode("utf-8", "replace"))
    return None


def _wanted_pairs(flt: FailureFilter) -> frozenset[tuple[bytes, int]] | None:
    """`--id` values as (digest bytes, copy number); malformed ids match nothing."""
    if not flt.ids:
        return None
    out = set()
    for fid in flt.ids:
        h, n = split_id(fid)
        try:
            out.add((bytes.fromhex(h), n))
        except ValueError:
            continue
    return frozenset(out)


def _scan_list(backend: ResqueBackend, key: str, length: int, flt: FailureFilter, newest_first: bool,
               stats: ScanStats, scan_limit: int | None) -> Iterator[Entry]:
    r = backend.redis
    groups = prefilter_terms(flt)
    groups_ok = False
    retried_only = flt.retried is True
    wanted = _wanted_pairs(flt)
    stop_before = flt.since - SINCE_SKEW if (newest_first and flt.since is not None) else None
    assign = IdAssigner(key)
    occurrence = assign.occurrence
    dups: dict[int, int] = {}
    if newest_first:
        source = iter_newest_first(r, key, length=length)
    else:
        stop = length if scan_limit is None else min(length, max(0, scan_limit - stats.scanned))
        dups = _duplicate_ids(r, key, length, stop)
        source = iter_oldest_first(r, key, stop=stop)
    timed = flt.since is not None or flt.until is not None
    err_rx = re.compile(flt.error) if flt.error is not None else None
    for index, raw in source:
        if scan_limit is not None and stats.scanned >= scan_limit:
            stats.capped = True
            return
        stats.scanned += 1
        if wanted is not None:  # --id: every entry's id is needed
            digest, n = occurrence(raw, index) if newest_first else (digest_of(key, raw), dups.get(index, 1))
            if (digest, n) not in wanted:
                continue
        if timed:  # the time window from the first field, before any decoding
            t = quick_failed_at(raw)
            if t is not None:
                if stop_before is not None and t < stop_before:
                    return
                if (flt.since is not None and t < flt.since) or (flt.until is not None and t > flt.until):
                    continue
        if retried_only and _RETRIED not in raw:
            continue
        if groups:  # byte pre-filter: each group needs one of its terms (inlined: hot loop)
            for terms in groups:
                for term in terms:
                    if term in raw:
                        break
                else:
                    break
            else:
                groups_ok = True
            if not groups_ok:
                continue
            groups_ok = False
        try:
            decoded: tuple[Any, str | None] | None = decode_json(raw)
        except Exception:  # noqa: BLE001 - parse_failure turns it into a marked bad row
            decoded = None
        if err_rx is not None and decoded is not None and type(decoded[0]) is dict:
            message = decoded[0].get("error")
            if type(message) is str and err_rx.search(message) is None:
                continue
        f = parse_failure(raw, key=key, index=index, id=format_id(digest, n) if wanted is not None else "",
                          decoded=decoded)
        if stop_before is not None and f.failed_at is not None and f.failed_at < stop_before:
            return
        if flt.matches(f):
            # Ids only for selected entries: identical copies are selected alike (same bytes), so
            # counting copies among selected entries gives the same number as among all (ids.py).
            if wanted is None:
                digest, n = occurrence(raw, index) if newest_first else (digest_of(key, raw), dups.get(index, 1))
                f.id = format_id(digest, n)
            stats.matched += 1
            yield Entry(key, index, raw, f)


def _duplicate_ids(r: Any, key: str, length: int, stop: int) -> dict[int, int]:
    """For an oldest-first scan of [0, stop): copy numbers (>= 2) of entries with identical newer copies.

    Ids count identical copies towards the tail (ids.py), so a hash-only newest-first pre-pass
    over [0, stop + HORIZON) finds them; memory stays bounded (only copies are kept).
    """
    if stop <= 0:
        return {}
    assign = IdAssigner(key)
    top = min(length - 1, stop - 1 + assign.horizon)
    out: dict[int, int] = {}
    for index, raw in iter_newest_first(r, key, length=length, start=top, window=WINDOW * 2):
        _, n = assign.occurrence(raw, index)
        if index < stop and n > 1:
            out[index] = n
    return out


def _ts(e: Entry) -> float:
    t = e.failure.failed_at
    return t.timestamp() if t is not None else _MIN_TS


def iter_entries(backend: ResqueBackend, flt: FailureFilter | None = None, *, newest_first: bool = True,
                 scan_limit: int | None = None, stats: ScanStats | None = None) -> Iterator[Entry]:
    """Every stored failure the filter selects, across all failure lists, newest (or oldest) first.

    Stops after `flt.limit` matches or `scan_limit` examined entries (then `stats.capped` is True).
    With several lists (RedisMultiQueue) the per-list streams are merged by failed_at.
    """
    flt = flt or FailureFilter()
    stats = stats if stats is not None else ScanStats()
    lists = failure_lists(backend)
    if flt.queues:
        lists = [(k, q) for k, q in lists if q is None or q in flt.queues]
    lengths = list_lengths(backend, lists)
    streams = [_scan_list(backend, key, n, flt, newest_first, stats, scan_limit)
               for (key, _), n in zip(lists, lengths, strict=True) if n > 0]
    if not streams:
        return
    merged: Iterator[Entry]
    if len(streams) == 1:
        merged = streams[0]
    else:
        merged = heapq.merge(*streams, key=(lambda e: -_ts(e)) if newest_first else _ts)
    produced = 0
    for e in merged:
        yield e
        produced += 1
        if flt.limit is not None and produced >= flt.limit:
            return


def count(backend: ResqueBackend, flt: FailureFilter | None, *, cap: int | None,
          scan_limit: int | None = None) -> tuple[int, bool]:
    """(count, capped). No filter: exact sum of LLEN. Otherwise a scan that stops at `cap` matches."""
    if flt is None or flt.is_empty():
        lists = failure_lists(backend)
        total = sum(list_lengths(backend, lists))
        if cap is not None and total > cap:
            return cap, True
        return total, False
    stats = ScanStats()
    n = 0
    bounded = FailureFilter(**{**_as_kwargs(flt), "limit": cap})
    for _ in iter_entries(backend, bounded, newest_first=True, scan_limit=scan_limit, stats=stats):
        n += 1
    return n, stats.capped or (cap is not None and n >= cap)


def _as_kwargs(flt: FailureFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in flt.__slots__}  # type: ignore[attr-defined]


def find(backend: ResqueBackend, failure_id: str) -> Entry | None:
    """The entry with this stable id (scans newest-first; None when it is gone)."""
    for e in iter_entries(backend, FailureFilter(ids=(failure_id,), limit=1)):
        return e
    return None


def failed_per_queue(backend: ResqueBackend, cap: int) -> tuple[dict[str, int], bool, int]:
    """({queue: failures}, capped, stored total) for the `queues` view.

    Multi-queue lists: exact LLEN. The shared `failed` list: a newest-first scan of at most `cap`
    entries (capped=True when the list is longer).
    """
    lists = failure_lists(backend)
    lengths = list_lengths(backend, lists)
    counts: dict[str, int] = {}
    capped = False
    for (key, queue), n in zip(lists, lengths, strict=True):
        if queue is not None:
            counts[queue] = counts.get(queue, 0) + n
            continue
        take = min(n, cap)
        capped = capped or n > take
        cap -= take
        if take == 0:
            continue
        for seen, (_, raw) in enumerate(iter_newest_first(backend.redis, key, length=n), 1):
            if seen > take:
                break
            try:
                q = decode_json(raw)[0].get("queue")
            except Exception:  # noqa: BLE001 - bad entries count for no queue
                continue
            if isinstance(q, str):
                counts[q] = counts.get(q, 0) + 1
    return counts, capped, sum(lengths)


def find_at(backend: ResqueBackend, key: str, index: int, raw: bytes | None = None) -> Entry | None:
    """The entry at `key[index]` with its stable id (reads the newer entries within the id horizon)."""
    r = backend.redis
    length = int(r.llen(key))
    if not 0 <= index < length:
        return None
    assign = IdAssigner(key)
    top = min(length - 1, index + assign.horizon)
    for i, data in iter_newest_first(r, key, length=length, start=top, window=WINDOW * 2):
        fid = format_id(*assign.occurrence(data, i))
        if i == index:
            if raw is not None and data != raw:
                return None
            return Entry(key, i, data, parse_failure(data, key=key, index=i, id=fid))
    return None


_SAFE_LITERAL = re.compile(r"^[A-Za-z0-9 _:.,;!?#$%'()*+=@^`|~\-\[\]{}]{3,}$")


def required_literal(pattern: str) -> bytes | None:
    """A literal every match of `pattern` must contain, usable as a byte test on the stored JSON.

    Only top-level literal runs of a pattern without alternation or flags count, and only when made of
    characters no JSON encoder escapes (so the bytes appear verbatim in the record); else None.
    """
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse  # type: ignore[no-redef]
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:  # noqa: BLE001
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    runs: list[str] = []
    current: list[str] = []
    for op, arg in parsed:
        if op is sre_parse.LITERAL:
            current.append(chr(arg))
            continue
        if op is sre_parse.BRANCH:
            return None
        runs.append("".join(current))
        current = []
    runs.append("".join(current))
    best = max(runs, key=len)
    return best.encode() if _SAFE_LITERAL.match(best) else None


class _Light:
    """The fields `model.group_failures` reads, taken straight from a decoded record (no Failure)."""

    __slots__ = ("job_class", "exception", "queue", "error", "worker", "failed_at")

    def __init__(self, value: dict[str, Any], failed_at: datetime | None) -> None:
        payload = value.get("payload")
        klass = payload.get("class") if type(payload) is dict else None
        if klass in ACTIVEJOB_WRAPPERS:
            args = payload.get("args")  # type: ignore[union-attr]
            aj = args[0] if type(args) is list and args and type(args[0]) is dict else {}
            klass = aj.get("job_class") if type(aj.get("job_class")) is str else klass
        self.job_class = klass if type(klass) is str and klass else BAD_CLASS
        self.exception = _text(value.get("exception"))
        self.queue = _text(value.get("queue"))
        error = _text(value.get("error"))
        self.error = error.partition("\n")[0] if error is not None else None
        self.worker = _text(value.get("worker"))
        self.failed_at = failed_at


def _text(v: Any) -> str | None:
    if v is None or type(v) is str:
        return v
    import json

    return json.dumps(v, ensure_ascii=False)


def light_groupable(flt: FailureFilter) -> bool:
    """True when `group_records` can apply the filter without building Failure objects."""
    return not (flt.ids or flt.classes or flt.exceptions or flt.error is not None or flt.retried is not None)


def group_records(backend: ResqueBackend, flt: FailureFilter, *, newest_first: bool = True,
                  scan_limit: int | None = None, stats: ScanStats | None = None) -> Iterator[Any]:
    """Records for `model.group_failures`, fast: decode + pick six fields, no ids, no Failure objects.

    Only for filters `light_groupable` accepts (queue and time window); anything else goes through
    `iter_entries`. Entries that do not decode become their parse_failure bad rows (class "?").
    """
    stats = stats if stats is not None else ScanStats()
    lists = failure_lists(backend)
    if flt.queues:
        lists = [(k, q) for k, q in lists if q is None or q in flt.queues]
    queues = frozenset(flt.queues)
    for (key, _), length in zip(lists, list_lengths(backend, lists), strict=True):
        source = iter_newest_first(backend.redis, key, length=length) if newest_first else \
            iter_oldest_first(backend.redis, key)
        stop_before = flt.since - SINCE_SKEW if (newest_first and flt.since is not None) else None
        for index, raw in source:
            if scan_limit is not None and stats.scanned >= scan_limit:
                stats.capped = True
                return
            stats.scanned += 1
            t = quick_failed_at(raw)
            if t is not None and stop_before is not None and t < stop_before:
                break
            try:
                value, _ = decode_json(raw)
                ok = type(value) is dict
            except Exception:  # noqa: BLE001
                ok = False
            if not ok:
                rec: Any = parse_failure(raw, key=key, index=index, id="")
            else:
                rec = _Light(value, t if t is not None else parse_resque_time(value.get("failed_at")))
            if queues and (rec.queue or "") not in queues:
                continue
            if flt.since is not None and (rec.failed_at is None or rec.failed_at < flt.since):
                continue
            if flt.until is not None and (rec.failed_at is None or rec.failed_at > flt.until):
                continue
            stats.matched += 1
            yield rec
