"""Load the real Resque fixture (shared/fixtures/resque/redis_dump.json) into a real Redis.

For every engineer's Resque tests:

    from resque_data import load_dump, dump_by_key, summary, set_worker_clock
    load_dump(redis_client)                          # exact bytes, namespace "resque"
    load_dump(redis_client, namespace="myapp:resque")  # same data under another namespace

The dump was taken at 2026-11-27 19:51:57 UTC. `set_worker_clock` rewrites the heartbeat hash as
if time had passed since then: live workers kept beating (heartbeat = now), dead ones stopped
(heartbeat = now - dead_age_s); that is what makes "dead / idle / busy" tell apart in a test run at
any date. Values are written byte-for-byte as stored (lists by RPUSH in order, index 0 = head).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from servers import FIXTURES

DUMP_PATH: Path = FIXTURES / "resque" / "redis_dump.json"
SUMMARY_PATH: Path = FIXTURES / "resque" / "summary.json"
DUMP_NAMESPACE = "resque"


@cache
def _entries() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(DUMP_PATH.read_text(encoding="utf-8")))


def dump_entries() -> list[dict[str, Any]]:
    """All `{"key","type","ttl","value"}` records, as in the dump (keys in the `resque` namespace)."""
    return [dict(e) for e in _entries()]


def dump_by_key() -> dict[str, dict[str, Any]]:
    """Dump records keyed by their key *without* the namespace prefix (e.g. "queue:low", "failed")."""
    prefix = DUMP_NAMESPACE + ":"
    return {e["key"][len(prefix):]: e for e in _entries()}


def summary() -> dict[str, Any]:
    return json.loads(SUMMARY_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def renamed(key: str, namespace: str) -> str:
    """`resque:queue:low` -> `<namespace>:queue:low`."""
    prefix = DUMP_NAMESPACE + ":"
    assert key.startswith(prefix), key
    return f"{namespace}:{key[len(prefix):]}"


def load_dump(client: Any, namespace: str = DUMP_NAMESPACE, *, only: Iterable[str] | None = None) -> int:
    """Write the dump into `client`'s current db under `namespace`; returns the number of keys written.

    `only`: restrict to these un-prefixed keys (e.g. {"failed", "queues"}). Existing keys of the
    same name are replaced. TTLs are restored (the pruning lock has one).
    """
    wanted = set(only) if only is not None else None
    pipe = client.pipeline(transaction=False)
    n = 0
    for e in _entries():
        short = e["key"][len(DUMP_NAMESPACE) + 1:]
        if wanted is not None and short not in wanted:
            continue
        key = renamed(e["key"], namespace)
        pipe.delete(key)
        value = e["value"]
        kind = e["type"]
        if kind == "string":
            pipe.set(key, value.encode("utf-8"))
        elif kind == "list":
            for i in range(0, len(value), 500):
                pipe.rpush(key, *[v.encode("utf-8") for v in value[i:i + 500]])
        elif kind == "set":
            pipe.sadd(key, *value)
        elif kind == "hash":
            pipe.hset(key, mapping=value)
        elif kind == "zset":
            pipe.zadd(key, {m: s for m, s in value})
        else:
            raise ValueError(f"unknown type {kind!r} for {e['key']}")
        if isinstance(e.get("ttl"), int) and e["ttl"] > 0:
            pipe.expire(key, e["ttl"])
        n += 1
    pipe.execute()
    return n


def set_worker_clock(client: Any, now: datetime, *, namespace: str = DUMP_NAMESPACE,
                     dead: Iterable[str] = (), dead_age_s: int = 600) -> None:
    """Rewrite `<ns>:workers:heartbeat` as if the workers had lived on until `now`.

    Live workers: heartbeat = now. Workers in `dead`: heartbeat = now - dead_age_s (stopped beating).
    Heartbeats are written the way Resque writes them: `Time#iso8601`, second precision.
    """
    dead_set = set(dead)
    key = f"{namespace}:workers:heartbeat"
    ids = [k.decode() for k in client.hkeys(key)]
    stamp = now.replace(microsecond=0)
    mapping = {}
    for wid in ids:
        t = stamp if wid not in dead_set else stamp.fromtimestamp(stamp.timestamp() - dead_age_s, stamp.tzinfo)
        mapping[wid] = t.isoformat()
    if mapping:
        client.hset(key, mapping=mapping)


def shift_worker_times(client: Any, delta: timedelta, *, namespace: str = DUMP_NAMESPACE) -> None:
    """Move the running jobs' `run_at` and the workers' `:started` times by `delta`, as if the
    fixture run had happened `delta` later (tests whose backend reads the server's clock, e.g.
    "stuck": a job running longer than 4 h, would otherwise change their answer as real time
    passes). Only those timestamps change; every other byte stays as Resque wrote it."""
    import re

    for key in client.scan_iter(match=f"{namespace}:worker:*"):
        raw = client.get(key)
        if raw is None:
            continue
        if key.endswith(b":started"):  # "2026-11-27 19:51:54 +0000"
            t = datetime.strptime(raw.decode(), "%Y-%m-%d %H:%M:%S %z") + delta
            client.set(key, t.strftime("%Y-%m-%d %H:%M:%S %z"))
            continue

        def moved(m: re.Match[bytes]) -> bytes:
            t = datetime.strptime(m.group(1).decode(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) + delta
            return b'"run_at":"' + t.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + b'"'

        client.set(key, re.sub(rb'"run_at":"([^"]+)"', moved, raw, count=1))


def fixture_workers() -> dict[str, str]:
    """{"dead": id, "idle": id, "busy": id} from summary.json (what the fixture generator did)."""
    return dict(summary()["workers"])
