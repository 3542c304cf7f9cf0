"""Read-only views of two Resque plugins (resque-format.md §1.6, §1.8).

resque-scheduler: `delayed_queue_schedule` ZSET (member = score = unix time) and one
`delayed:<ts>` LIST per due time holding `{"class","args","queue"}` items (RPUSH order).
resque-status: `status:<uuid>` JSON strings and the `_statuses` ZSET (score = creation time).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobctl.backends.resque.jobs import server_now
from jobctl.errors import NotFound
from jobctl.model import Job
from jobctl.parse.resque_payload import decode_json, parse_job, preview
from jobctl.parse.resque_time import parse_epoch, parse_resque_time

if TYPE_CHECKING:
    from jobctl.backends.resque.backend import ResqueBackend

STATUS_STATES = ("queued", "working", "completed", "failed", "killed")


def _ts(member: bytes) -> int | None:
    try:
        return int(float(member.decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        return None


def scheduled_slots(backend: ResqueBackend, *, limit: int, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Due times, soonest first: [{"due_at","in_s","jobs","queues","key"}], and the number of due times."""
    r = backend.redis
    k = backend.keys
    pipe = r.pipeline(transaction=False)
    pipe.time()
    pipe.zcard(k.delayed_schedule)
    pipe.zrange(k.delayed_schedule, offset, offset + max(limit, 1) - 1, withscores=True)
    (sec, usec), total, members = pipe.execute()
    now = parse_epoch(int(sec) + int(usec) / 1e6)
    members = members[:limit] if limit > 0 else []
    pipe = r.pipeline(transaction=False)
    for m, _ in members:
        key = k.delayed(m.decode("ascii", "replace"))
        pipe.llen(key)
        pipe.lrange(key, 0, 19)
    res = pipe.execute() if members else []
    out = []
    for i, (m, score) in enumerate(members):
        ts = _ts(m)
        due = parse_epoch(ts if ts is not None else score)
        queues: dict[str, int] = {}
        for raw in res[2 * i + 1]:
            try:
                q = decode_json(raw)[0].get("queue")
            except Exception:  # noqa: BLE001
                q = None
            q = q if isinstance(q, str) else "?"
            queues[q] = queues.get(q, 0) + 1
        out.append({
            "due_at": due, "in_s": (due - now).total_seconds() if (due and now) else None,
            "jobs": int(res[2 * i]), "queues": queues, "key": k.delayed(m.decode("ascii", "replace")),
        })
    return out, int(total)


def scheduled_jobs(backend: ResqueBackend, *, limit: int, offset: int = 0, per_slot: int = 100) -> list[Job]:
    """Delayed jobs, soonest first (state "scheduled", run_at = due time, queue from the item)."""
    r = backend.redis
    k = backend.keys
    jobs: list[Job] = []
    start = offset
    while len(jobs) < limit:
        members = r.zrange(k.delayed_schedule, start, start + 49)
        if not members:
            break
        pipe = r.pipeline(transaction=False)
        for m in members:
            pipe.lrange(k.delayed(m.decode("ascii", "replace")), 0, per_slot - 1)
        for m, raws in zip(members, pipe.execute(), strict=True):
            ts_text = m.decode("ascii", "replace")
            due = parse_epoch(_ts(m) or 0)
            for i, raw in enumerate(raws):
                job = parse_job(raw, queue=None, position=i, id=f"delayed:{ts_text}[{i}]")
                q = job.extra.pop("queue", None)
                job.queue = q if isinstance(q, str) else None
                job.state = "scheduled" if job.state != "bad" else "bad"
                job.run_at = due
                job.extra["key"] = k.delayed(ts_text)
                jobs.append(job)
                if len(jobs) >= limit:
                    return jobs
        start += len(members)
    return jobs


def _status_record(uuid: str, raw: bytes | None, score: float | None, killing: bool,
                   now: datetime | None) -> dict[str, Any]:
    rec: dict[str, Any] = {"uuid": uuid, "status": "expired", "name": None, "message": None, "num": None,
                           "total": None, "pct": None, "time": parse_epoch(score) if score is not None else None,
                           "age_s": None, "kill_requested": killing, "options": None, "parse_error": None}
    if raw is not None:
        try:
            value, _ = decode_json(raw)
            if not isinstance(value, dict):
                raise ValueError("not a JSON object")
        except Exception as e:  # noqa: BLE001 - shown as a bad row
            rec.update(status="bad", parse_error=str(e), message=preview(raw))
        else:
            num, total = value.get("num"), value.get("total")
            pct = None
            if isinstance(num, (int, float)) and isinstance(total, (int, float)) and total:
                pct = round(100.0 * num / total, 1)
            t = parse_resque_time(value.get("time")) or rec["time"]
            rec.update(status=str(value.get("status") or "?"), name=value.get("name"),
                       message=value.get("message"), num=num, total=total, pct=pct, time=t,
                       options=value.get("options"))
    if rec["time"] is not None and now is not None:
        rec["age_s"] = (now - rec["time"]).total_seconds()
    return rec


def statuses(backend: ResqueBackend, *, limit: int, states: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], int]:
    """resque-status entries, newest first (by `_statuses` score), optionally only some states."""
    r = backend.redis
    k = backend.keys
    now = server_now(backend)
    total = int(r.zcard(k.statuses))
    out: list[dict[str, Any]] = []
    start = 0
    while len(out) < limit and start < total:
        members = r.zrevrange(k.statuses, start, start + 199, withscores=True)
        if not members:
            break
        pipe = r.pipeline(transaction=False)
        for m, _ in members:
            pipe.get(k.status(m.decode("utf-8", "replace")))
            pipe.sismember(k.kill_set, m)
        res = pipe.execute()
        for i, (m, score) in enumerate(members):
            rec = _status_record(m.decode("utf-8", "replace"), res[2 * i], score, bool(res[2 * i + 1]), now)
            if states and rec["status"] not in states:
                continue
            out.append(rec)
            if len(out) >= limit:
                break
        start += len(members)
    return out, total


def status(backend: ResqueBackend, uuid: str) -> dict[str, Any]:
    r = backend.redis
    k = backend.keys
    pipe = r.pipeline(transaction=False)
    pipe.get(k.status(uuid))
    pipe.zscore(k.statuses, uuid)
    pipe.sismember(k.kill_set, uuid)
    raw, score, killing = pipe.execute()
    if raw is None and score is None:
        raise NotFound(f"no resque-status entry {uuid!r} in namespace {k.namespace!r}")
    rec = _status_record(uuid, raw, score, bool(killing), server_now(backend))
    if raw is not None:
        rec["raw"] = raw.decode("utf-8", "backslashreplace")
    return rec
