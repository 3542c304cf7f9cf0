"""Queues and queue entries: `queues` (sizes, head latency, failures per queue) and `peek`.

Peek costs O(limit) Redis work whatever the queue length: one `LRANGE offset offset+limit-1`
(Resque's own `peek` semantics: index 0 is the next job a worker LPOPs). With `--class/--grep`
it streams LRANGE windows from `offset` until `limit` matches or `scan_limit` entries were read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from jobctl.backends.resque import failures as failures_mod
from jobctl.backends.resque.scan import iter_oldest_first
from jobctl.errors import NotFound
from jobctl.model import Job, JobFilter, Queue
from jobctl.parse.resque_payload import parse_job
from jobctl.parse.resque_time import parse_epoch

if TYPE_CHECKING:
    from jobctl.backends.resque.backend import ResqueBackend

STRAY_SCAN_KEYS = 200_000  # SCAN budget (keys examined) when looking for queue:* lists not in the set
FAILED_COUNT_CAP = 100_000  # failures scanned for per-queue counts on the shared `failed` list
PEEK_WINDOW = 500


@dataclass(slots=True)
class ScanNote:
    """What the last bounded scan did (the CLI prints a note when `capped`)."""

    scanned: int
    capped: bool
    what: str


def server_now(backend: ResqueBackend) -> datetime:
    """Redis server time (TIME): ages are measured on the server's clock, not this machine's."""
    sec, usec = backend.redis.time()
    t = parse_epoch(int(sec) + int(usec) / 1e6)
    assert t is not None
    return t


def queue_names(backend: ResqueBackend) -> tuple[list[str], list[str]]:
    """(registered names from `<ns>:queues`, stray `<ns>:queue:*` lists not in the set), both sorted."""
    r = backend.redis
    k = backend.keys
    registered = sorted(m.decode("utf-8", "surrogateescape") for m in r.smembers(k.queues))
    known = set(registered)
    candidates: list[str] = []
    examined = 0
    cursor = 0
    while True:
        cursor, found = r.scan(cursor=cursor, match=k.pattern("queue:*"), count=1000)
        examined += 1000
        for key in found:
            name = k.queue_name(key)
            if name is not None and name not in known:
                candidates.append(name)
        if cursor == 0 or examined >= STRAY_SCAN_KEYS:
            break
    strays: list[str] = []
    if candidates:
        pipe = r.pipeline(transaction=False)
        for name in candidates:
            pipe.type(k.queue(name))
        for name, kind in zip(candidates, pipe.execute(), strict=True):
            if kind in (b"list", "list"):
                strays.append(name)
    return registered, sorted(set(strays))


def list_queues(backend: ResqueBackend) -> list[Queue]:
    """Every queue with size (pipelined LLEN), head latency and failure count."""
    r = backend.redis
    k = backend.keys
    registered, strays = queue_names(backend)
    names = registered + strays
    pipe = r.pipeline(transaction=False)
    pipe.time()
    for name in names:
        pipe.llen(k.queue(name))
        pipe.lindex(k.queue(name), 0)
    res = pipe.execute(raise_on_error=False)  # a queue:<name> key of another type must not fail the listing
    sec, usec = res[0]
    now = parse_epoch(int(sec) + int(usec) / 1e6)
    per_queue, capped, _ = failures_mod.failed_per_queue(backend, FAILED_COUNT_CAP)
    out: list[Queue] = []
    for i, name in enumerate(names):
        size_raw, head = res[1 + 2 * i], res[2 + 2 * i]
        size = 0 if isinstance(size_raw, Exception) else int(size_raw)  # WRONGTYPE: not a list, no jobs
        if isinstance(head, Exception):
            head = None
        latency = None
        if head is not None and now is not None:
            job = parse_job(head, queue=name, position=0, id=f"{name}@0")
            if job.enqueued_at is not None:
                latency = max(0.0, (now - job.enqueued_at).total_seconds())
        out.append(Queue(name=name, size=size, latency_s=latency, failed=per_queue.get(name, 0),
                         failed_capped=capped, registered=name not in strays))
    return out


def _missing_queue(backend: ResqueBackend, queue: str) -> NotFound:
    registered, strays = queue_names(backend)
    known = registered + strays
    shown = ", ".join(known[:20]) + (" …" if len(known) > 20 else "")
    return NotFound(f"no queue {queue!r} in namespace {backend.keys.namespace!r} "
                    f"(known: {shown or 'none'})")


def peek(backend: ResqueBackend, queue: str, *, limit: int, offset: int, flt: JobFilter | None,
         scan_limit: int) -> list[Job]:
    """Jobs from position `offset` on, in the order workers will take them."""
    r = backend.redis
    key = backend.keys.queue(queue)
    if limit <= 0:
        return []
    if offset < 0:
        raise NotFound("--offset must be >= 0")
    jobs: list[Job] = []
    if flt is None or flt.is_empty():
        raws = r.lrange(key, offset, offset + limit - 1)
        for i, raw in enumerate(raws):
            pos = offset + i
            jobs.append(parse_job(raw, queue=queue, position=pos, id=f"{queue}@{pos}"))
        backend.last_scan = ScanNote(scanned=len(raws), capped=False, what=f"queue {queue}")
    else:
        scanned = 0
        capped = False
        for pos, raw in iter_oldest_first(r, key, start=offset, window=max(PEEK_WINDOW, limit)):
            if scanned >= scan_limit:
                capped = True
                break
            scanned += 1
            job = parse_job(raw, queue=queue, position=pos, id=f"{queue}@{pos}")
            if flt.matches(job):
                jobs.append(job)
                if len(jobs) >= limit:
                    break
        backend.last_scan = ScanNote(scanned=scanned, capped=capped, what=f"queue {queue}")
    if not jobs and offset == 0:
        pipe = r.pipeline(transaction=False)
        pipe.exists(key)
        pipe.sismember(backend.keys.queues, queue)
        exists, member = pipe.execute()
        if not exists and not member:
            raise _missing_queue(backend, queue)
    return jobs


def job_at(backend: ResqueBackend, queue: str, position: int) -> Job:
    """One queue entry by position (for `show <queue>@<position>`), with its exact raw text."""
    key = backend.keys.queue(queue)
    raw = backend.redis.lindex(key, position)
    if raw is None:
        n = backend.redis.llen(key)
        if n == 0 and not backend.redis.sismember(backend.keys.queues, queue):
            raise _missing_queue(backend, queue)
        raise NotFound(f"queue {queue!r} has {n} job(s); position {position} is empty "
                       "(it may have been taken by a worker)")
    job = parse_job(raw, queue=queue, position=position, id=f"{queue}@{position}")
    job.extra["key"] = key
    return job
