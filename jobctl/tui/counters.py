"""Lifetime counters for the rate meters, read in one round trip.

Resque keeps `stat:processed` and `stat:failed` as plain string counters. `stats()` would read
them too, but it also re-lists every queue and worker and calls INFO four times, which the tick
has just done (queues(), workers()) or does not need. So for Resque the tick reads the two
counters itself with one pipelined GET through the backend's documented `redis` / `keys`
attributes (read-only commands only). Delayed Job has no such counters: its failed/s comes from
the stored-failure count and processed/s is not available (shown as n/a).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobctl.backends.base import Backend


@dataclass(slots=True, frozen=True)
class Counters:
    processed: int | None = None
    failed: int | None = None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return None


def read_counters(backend: Backend) -> Counters:
    """Resque: GET stat:processed + stat:failed in one pipeline; other backends: unknown."""
    redis = getattr(backend, "redis", None) if backend.kind == "resque" else None
    keys = getattr(backend, "keys", None)
    if redis is None or keys is None:
        return Counters()
    from jobctl.backends.resque.connection import redis_errors

    with redis_errors(backend.target):
        pipe = redis.pipeline(transaction=False)
        pipe.get(keys.stat("processed"))
        pipe.get(keys.stat("failed"))
        processed, failed = pipe.execute()
    return Counters(processed=_int(processed), failed=_int(failed))
