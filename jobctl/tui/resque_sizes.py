"""Resque queue sizes for the per-tick refresh: one pipelined round trip for every queue.

`ResqueBackend.queues()` is the full listing: it also SCANs the keyspace for stray `queue:*`
lists and reads up to 100,000 failure records to attribute failures to queues. That is right for
`jobctl queues`, but every two seconds it would make a tick cost O(failures) (about 2 s and
megabytes of LRANGE for 20,000 failures, see README "bench"). So `jobctl top` does the full
listing at start, periodically and after changes (Poller decides), and in between reads only
what moves on every tick:

    SMEMBERS <ns>:queues                                   (1 round trip)
    TIME, LLEN <ns>:queue:<q>, LINDEX <ns>:queue:<q> 0 ×N  (1 pipelined round trip)

through the backend's documented `redis` / `keys` attributes (read-only commands only). Head
latency is computed exactly as the backend does (ActiveJob `enqueued_at` of the head entry
against the server's clock); `failed` is left None for the Poller to fill from the last full
listing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobctl.backends.base import Backend
from jobctl.model import Queue


def supports_fast_sizes(backend: Backend) -> bool:
    return backend.kind == "resque" and hasattr(backend, "redis") and hasattr(backend, "keys")


def registered_names(backend: Any) -> list[str]:
    members = backend.redis.smembers(backend.keys.queues)
    return sorted(m.decode("utf-8", "surrogateescape") for m in members)


def fast_queue_sizes(backend: Any, strays: Sequence[str]) -> list[Queue]:
    """Queues in `<ns>:queues` plus the `strays` the last full listing found, sizes and latency."""
    from jobctl.backends.resque.connection import redis_errors
    from jobctl.parse.resque_payload import parse_job
    from jobctl.parse.resque_time import parse_epoch

    with redis_errors(backend.target):
        registered = registered_names(backend)
        known = set(registered)
        extra = [s for s in strays if s not in known]
        names = registered + extra
        pipe = backend.redis.pipeline(transaction=False)
        pipe.time()
        for name in names:
            pipe.llen(backend.keys.queue(name))
            pipe.lindex(backend.keys.queue(name), 0)
        res = pipe.execute()
    sec, usec = res[0]
    now = parse_epoch(int(sec) + int(usec) / 1e6)
    out: list[Queue] = []
    stray_set = set(extra)
    for i, name in enumerate(names):
        size = int(res[1 + 2 * i])
        head = res[2 + 2 * i]
        if name in stray_set and size == 0:
            continue  # a stray list that was emptied is gone (Redis deletes empty lists)
        latency = None
        if head is not None and now is not None:
            try:
                job = parse_job(head, queue=name, position=0, id=f"{name}@0")
            except Exception:  # noqa: BLE001 - a bad head entry only costs its latency
                job = None
            if job is not None and job.enqueued_at is not None:
                latency = max(0.0, (now - job.enqueued_at).total_seconds())
        out.append(Queue(name=name, size=size, latency_s=latency, registered=name not in stray_set))
    return out
