"""ping (reachability, version, latency, format detection), stats and capabilities for Resque."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from jobctl.backends.base import Capabilities
from jobctl.backends.resque import failures as failures_mod
from jobctl.backends.resque import jobs as jobs_mod
from jobctl.backends.resque import workers as workers_mod
from jobctl.model import PingResult, Stats

if TYPE_CHECKING:
    from jobctl.backends.resque.backend import ResqueBackend

DETECT_SCAN_KEYS = 20_000  # SCAN budget for format detection / namespace hints
SCHEDULE_SUM_CAP = 1_000  # delayed timestamps whose lists are summed for Stats.scheduled


def _info(r: Any, section: str) -> dict[str, Any]:
    try:
        return dict(r.info(section))
    except Exception:  # noqa: BLE001 - INFO can be renamed/disabled on managed Redis
        return {}


def _scan_any(r: Any, pattern: str, budget: int = DETECT_SCAN_KEYS) -> list[bytes]:
    cursor, examined, found = 0, 0, []
    while True:
        cursor, keys = r.scan(cursor=cursor, match=pattern, count=1000)
        found.extend(keys)
        examined += 1000
        if found or cursor == 0 or examined >= budget:
            return found


def _other_namespaces(backend: ResqueBackend) -> list[str]:
    """Namespaces that do hold Resque keys (`<ns>:queues` sets), to suggest --namespace."""
    hits = set()
    cursor, examined = 0, 0
    while True:
        cursor, keys = backend.redis.scan(cursor=cursor, match="*:queues", count=1000)
        for key in keys:
            hits.add(key.decode("utf-8", "replace")[: -len(":queues")])
        examined += 1000
        if cursor == 0 or examined >= DETECT_SCAN_KEYS or len(hits) >= 5:
            return sorted(hits)


def ping(backend: ResqueBackend) -> PingResult:
    r = backend.redis
    k = backend.keys
    t0 = time.perf_counter()
    r.ping()
    latency_ms = (time.perf_counter() - t0) * 1000
    version = _info(r, "server").get("redis_version")
    present = int(r.exists(*k.detection_keys()))
    if not present:
        for pattern in k.detection_patterns():
            if _scan_any(r, pattern):
                present = 1
                break
    ns = k.namespace
    if present:
        pipe = r.pipeline(transaction=False)
        pipe.scard(k.queues)
        pipe.llen(k.failed)
        pipe.scard(k.workers)
        nq, nf, nw = pipe.execute()
        detail = f"Resque keys found in namespace {ns!r}: {nq} queue(s), {nf} failure(s) in {k.failed}, {nw} worker(s)"
    else:
        others = [o for o in _other_namespaces(backend) if o != ns]
        hint = f"; Resque keys exist under namespace(s) {', '.join(repr(o) for o in others)} (use --namespace)" \
            if others else ""
        detail = f"reachable, no Resque keys in namespace {ns!r}{hint}"
    return PingResult(url=backend.target.masked_url, backend="resque", server_version=version,
                      latency_ms=round(latency_ms, 3), format_detected=bool(present), detail=detail)


def capabilities(backend: ResqueBackend) -> Capabilities:
    r = backend.redis
    k = backend.keys
    pipe = r.pipeline(transaction=False)
    pipe.exists(k.delayed_schedule)
    pipe.exists(k.statuses)
    pipe.scard(k.failed_queues)
    sched, status, multi = pipe.execute()
    notes = ["latency is known only for ActiveJob payloads (plain Resque jobs carry no enqueue time)"]
    if multi:
        notes.append("RedisMultiQueue failure lists present (<queue>_failed)")
    try:
        from jobctl.backends.resque import follow as _follow  # noqa: F401

        live = True
    except ImportError:
        live = False
    return Capabilities(has_workers=True, has_latency=True, has_processed_counter=True,
                        has_scheduler=bool(sched), has_status=bool(status), has_live_tail=live, notes=notes)


def _db_keys(r: Any, keyspace: dict[str, Any]) -> int | None:
    db = r.connection_pool.connection_kwargs.get("db", 0)
    entry = keyspace.get(f"db{db}")
    return int(entry.get("keys", 0)) if isinstance(entry, dict) else 0


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def scheduled_total(backend: ResqueBackend) -> tuple[int | None, bool]:
    """(delayed jobs waiting in resque-scheduler, capped). None when the scheduler is not in use."""
    r = backend.redis
    k = backend.keys
    n_ts = int(r.zcard(k.delayed_schedule))
    if n_ts == 0:
        return (0, False) if r.exists(k.delayed_schedule) else (None, False)
    members = r.zrange(k.delayed_schedule, 0, SCHEDULE_SUM_CAP - 1)
    pipe = r.pipeline(transaction=False)
    for m in members:
        pipe.llen(k.delayed(m.decode("ascii", "replace")))
    return sum(int(x) for x in pipe.execute()), n_ts > SCHEDULE_SUM_CAP


def _registered(backend: ResqueBackend) -> list[str]:
    return [m.decode("utf-8", "surrogateescape") for m in backend.redis.smembers(backend.keys.workers)]


def stats(backend: ResqueBackend) -> Stats:
    r = backend.redis
    k = backend.keys
    queues = jobs_mod.list_queues(backend)
    lists = failures_mod.failure_lists(backend)
    stored = sum(failures_mod.list_lengths(backend, lists))
    workers = [w for w in workers_mod.list_workers(backend) if w.id in set(_registered(backend))]
    pipe = r.pipeline(transaction=False)
    pipe.get(k.stat("processed"))
    pipe.get(k.stat("failed"))
    processed, failed = pipe.execute()
    working = sum(1 for w in workers if w.state == "working")
    scheduled, _ = scheduled_total(backend)
    server = _info(r, "server")
    memory = _info(r, "memory")
    clients = _info(r, "clients")
    keyspace = _info(r, "keyspace")
    return Stats(
        backend="resque", pending=sum(q.size for q in queues), queues=len(queues), workers=len(workers),
        working=working, processed=_int(processed) or 0, failed_counter=_int(failed) or 0,
        failed_stored=stored, failed_stored_capped=False, scheduled=scheduled,
        server={
            "redis_version": server.get("redis_version"), "redis_mode": server.get("redis_mode"),
            "uptime_s": server.get("uptime_in_seconds"), "used_memory": memory.get("used_memory"),
            "used_memory_human": memory.get("used_memory_human"), "maxmemory": memory.get("maxmemory"),
            "maxmemory_policy": memory.get("maxmemory_policy"),
            "connected_clients": clients.get("connected_clients"),
            "blocked_clients": clients.get("blocked_clients"),
            "keys": _db_keys(r, keyspace),
            "namespace": k.namespace,
        },
    )
