"""Workers: registration, current job, heartbeat, per-worker counters (resque-format.md §1.2, §2.4).

One round trip for everything (pipelined GETs + HGETALL + TIME). State:

* ``working``: `worker:<id>` holds a job and the heartbeat is fresh;
* ``idle``: no job, heartbeat fresh;
* ``stale``: heartbeat older than the prune interval (300 s, Resque's `prune_interval`), measured
  on the Redis clock like Resque does; or registered with no heartbeat at all (dead, or a
  pre-1.26 worker); or only present in the heartbeat hash (a ghost Resque would prune, #1751).
  A stale worker may still show the job it was running: that job is lost unless requeued.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobctl.model import Worker
from jobctl.parse.resque_payload import decode_json, describe_payload
from jobctl.parse.resque_time import parse_epoch, parse_resque_time

if TYPE_CHECKING:
    from jobctl.backends.resque.backend import ResqueBackend

PRUNE_INTERVAL_S = 300.0  # Resque::Worker prune_interval default (heartbeat every 60 s)


def parse_worker_id(worker_id: str) -> tuple[str | None, int | None, list[str]]:
    """`host:pid:q1,q2` -> (host, pid, [q1, q2]). Queue names may contain ':' (split at most twice)."""
    parts = worker_id.split(":", 2)
    if len(parts) < 2:
        return worker_id or None, None, []
    host = parts[0] or None
    try:
        pid: int | None = int(parts[1])
    except ValueError:
        pid = None
    queues = [q for q in parts[2].split(",") if q] if len(parts) == 3 else []
    return host, pid, queues


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _current_job(raw: bytes | None) -> tuple[str | None, str | None, datetime | None]:
    """`worker:<id>` JSON {"queue","run_at","payload"} -> (class name, queue, run_at)."""
    if not raw:
        return None, None, None
    try:
        value, _ = decode_json(raw)
    except Exception:  # noqa: BLE001 - shown as an unreadable job, never a crash
        return "?", None, None
    if not isinstance(value, dict):
        return "?", None, None
    try:
        name = describe_payload(value.get("payload"))["name"]
    except Exception:  # noqa: BLE001
        name = "?"
    queue = value.get("queue") if isinstance(value.get("queue"), str) else None
    return name, queue, parse_resque_time(value.get("run_at"))


def list_workers(backend: ResqueBackend, *, prune_interval_s: float = PRUNE_INTERVAL_S) -> list[Worker]:
    r = backend.redis
    k = backend.keys
    pipe = r.pipeline(transaction=False)
    pipe.time()
    pipe.smembers(k.workers)
    pipe.hgetall(k.heartbeat)
    now_raw, members, beats_raw = pipe.execute()
    now = parse_epoch(int(now_raw[0]) + int(now_raw[1]) / 1e6)
    registered = sorted(m.decode("utf-8", "surrogateescape") for m in members)
    beats = {f.decode("utf-8", "surrogateescape"): v.decode("utf-8", "replace") for f, v in beats_raw.items()}
    ghosts = sorted(set(beats) - set(registered))
    ids = registered + ghosts
    pipe = r.pipeline(transaction=False)
    for wid in ids:
        pipe.get(k.worker(wid))
        pipe.get(k.worker_started(wid))
        pipe.get(k.worker_stat("processed", wid))
        pipe.get(k.worker_stat("failed", wid))
    res = pipe.execute() if ids else []
    out: list[Worker] = []
    for i, wid in enumerate(ids):
        job_raw, started_raw, processed, failed = res[4 * i: 4 * i + 4]
        host, pid, queues = parse_worker_id(wid)
        job_class, job_queue, run_at = _current_job(job_raw)
        hb = parse_resque_time(beats.get(wid)) if wid in beats else None
        fresh = hb is not None and now is not None and (now - hb).total_seconds() <= prune_interval_s
        if not fresh or wid in ghosts:
            state = "stale"
        elif job_raw:
            state = "working"
        else:
            state = "idle"
        running_for = (now - run_at).total_seconds() if (run_at is not None and now is not None) else None
        out.append(Worker(
            id=wid, host=host, pid=pid, queues=queues, state=state, job_class=job_class, job_queue=job_queue,
            job_started_at=run_at, running_for_s=running_for,
            started_at=parse_resque_time(started_raw) if started_raw else None, heartbeat_at=hb,
            processed=_int(processed) or 0, failed=_int(failed) or 0,
        ))
    return out
