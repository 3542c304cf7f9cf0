"""Overview reads: queues (per-state counts + latency), stats, workers, ping details.

Definitions (README "On Delayed Job"):
* a queue's ``size`` = pending = every unfailed row (ready + scheduled + running + stuck +
  retrying); ``failed`` counts failed rows separately - retrying rows are never counted as failed;
* ``latency_s`` = age of the oldest *ready* row (now - its run_at), 0 when none is ready;
* a NULL queue is listed as ``(none)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobctl.backends.delayed_job.summary import NULL_QUEUE, QueueCounts, count_by_queue, locks
from jobctl.model import Queue, Stats, Worker

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from jobctl.backends.delayed_job.backend import DelayedJobBackend
    from jobctl.backends.delayed_job.schema import DJTable

PENDING_STATES = ("ready", "scheduled", "running", "stuck", "retrying")
PING_COUNT_CAP = 100_000


def server_version(conn: Connection) -> str | None:
    name = conn.dialect.name
    if name == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    stmt = "SHOW server_version" if name == "postgresql" else "SELECT VERSION()"
    v = conn.exec_driver_sql(stmt).scalar()
    if v is None:
        return None
    label = "PostgreSQL" if name == "postgresql" else ("MariaDB" if "mariadb" in str(v).lower() else "MySQL")
    return f"{label} {v}"


def describe(conn: Connection, t: DJTable) -> str:
    """Ping detail for a recognised table: capped row count and schema notes."""
    from sqlalchemy import func, select

    inner = select(t.table.c.id).limit(PING_COUNT_CAP + 1).subquery()
    n = int(conn.execute(select(func.count()).select_from(inner)).scalar() or 0)
    rows = f"over {PING_COUNT_CAP:,} rows" if n > PING_COUNT_CAP else f"{n} rows"
    notes = []
    if not t.has_queue:
        notes.append("no queue column (DJ 2.x schema)")
    if t.extra_columns:
        notes.append(f"extra columns: {', '.join(t.extra_columns)}")
    tail = f"; {'; '.join(notes)}" if notes else ""
    return f"Delayed Job table {t.label()}: {rows}{tail}"


def _counts(b: DelayedJobBackend, conn: Connection) -> tuple[dict[str | None, QueueCounts], bool, Any]:
    t = b.table_for(conn)
    now = b.now()
    counts, capped = count_by_queue(conn, t, b.codec, b.db_time(now), b.db_time(b.stale_before(now)), b.count_limit)
    return counts, capped, now


def queues(b: DelayedJobBackend) -> list[Queue]:
    with b.read() as conn:
        counts, capped, now = _counts(b, conn)
    out = []
    for name, qc in sorted(counts.items(), key=lambda kv: (kv[0] is not None, kv[0] or "")):
        c = qc.counts
        latency = 0.0
        if c["ready"] and qc.oldest_ready is not None:
            latency = max(0.0, (now - qc.oldest_ready).total_seconds())
        out.append(Queue(
            name=NULL_QUEUE if name is None else name, size=sum(c[s] for s in PENDING_STATES), latency_s=latency,
            failed=c["failed"], failed_capped=capped, ready=c["ready"], scheduled=c["scheduled"],
            running=c["running"], stuck=c["stuck"], retrying=c["retrying"], capped=capped,
        ))
    return out


def workers(b: DelayedJobBackend) -> list[Worker]:
    from sqlalchemy import select

    now = b.now()
    stale = b.stale_before(now)
    with b.read() as conn:
        t = b.table_for(conn)
        infos, _truncated = locks(conn, t, b.codec, stale)
        newest_ids = [i.newest_id for i in infos if i.newest_id is not None]
        jobs: dict[Any, Any] = {}
        for start in range(0, len(newest_ids), 500):
            chunk = newest_ids[start:start + 500]
            q = select(*b.list_columns()).select_from(t.table).where(t.table.c.id.in_(chunk))
            for row in conn.execute(q):
                jobs[row.id] = b.reader.job(conn, row, now=now, stale_before=stale)
    out = []
    for i in sorted(infos, key=lambda i: (i.host or "", i.pid or 0, i.locked_by)):
        job = jobs.get(i.newest_id)
        fresh_job = i.newest_fresh and job is not None
        out.append(Worker(
            id=i.locked_by, host=i.host, pid=i.pid,
            queues=[NULL_QUEUE if q is None else q for q in i.queues],
            state="working" if i.newest_fresh else "stale",
            job_class=job.job_class if job else None, job_queue=(job.queue or NULL_QUEUE) if job else None,
            job_started_at=i.newest_locked_at,
            running_for_s=(now - i.newest_locked_at).total_seconds() if fresh_job and i.newest_locked_at else None,
            heartbeat_at=i.newest_locked_at, jobs_held=i.held, stuck_jobs=i.stuck,
        ))
    return out


def stats(b: DelayedJobBackend) -> Stats:
    with b.read() as conn:
        counts, capped, now = _counts(b, conn)
        t = b.table_for(conn)
        infos, _ = locks(conn, t, b.codec, b.stale_before(now))
        version = server_version(conn)
    total = {s: sum(qc.counts[s] for qc in counts.values()) for s in (*PENDING_STATES, "failed")}
    return Stats(
        backend="delayed_job", pending=sum(total[s] for s in PENDING_STATES), queues=len(counts),
        workers=len(infos), working=sum(1 for i in infos if i.newest_fresh), processed=None,
        failed_counter=None, failed_stored=total["failed"], failed_stored_capped=capped,
        scheduled=total["scheduled"], retrying=total["retrying"], stuck=total["stuck"],
        ready=total["ready"], running=total["running"],
        server={"version": version, "dialect": b.dialect, "table": t.label(),
                "rows": sum(total.values()), "counts_capped": capped,
                "max_run_time_s": b.max_run_time.total_seconds(), "db_timezone": str(b.codec.zone)},
    )
