"""How Delayed Job mutations walk the table: keyset batches by id, one transaction per batch.

Two shapes, both with bounded memory:

* **range batches** (filters SQL decides alone: queue, time window, ids; no `--limit`): per batch
  one index probe finds the id that ends the next BATCH matching rows, then one guarded statement
  acts on the id range ``(last, hi]`` — ``UPDATE/DELETE … WHERE <filter> AND id > :last AND id <=
  :hi … RETURNING id, queue``. No id lists travel, so the cost stays close to a raw UPDATE.
* **parsed batches** (class / exception / error filters, `--limit`): rows are read by id and
  parsed, the exact Python filter picks ids, and a guarded ``… WHERE id IN (:ids) AND <guard>``
  acts on those (PostgreSQL: ``id = ANY(:array)``, one parameter).

MySQL/MariaDB have no ``UPDATE … RETURNING``: the rows are locked with ``SELECT … FOR UPDATE``
first, in the same transaction, and the statement then acts on exactly those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from jobctl.backends.delayed_job.write_result import Acc, Sel, sample_of
from jobctl.model import FailureFilter

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row

    from jobctl.backends.delayed_job.backend import DelayedJobBackend

BATCH = 5000

Build = Callable[[Any], Any]  # WHERE clause -> the UPDATE/DELETE statement for it


def ids_clause(b: DelayedJobBackend, ids: list[int]) -> Any:
    c = b.dj.table.c
    if b.dialect == "postgresql":
        from sqlalchemy import BigInteger, any_, bindparam
        from sqlalchemy.dialects.postgresql import ARRAY

        return c.id == any_(bindparam("ids", ids, type_=ARRAY(BigInteger())))
    return c.id.in_(ids)


def _returning(conn: Connection, b: DelayedJobBackend, build: Build, cond: Any) -> list[tuple[int, Any]]:
    """Run the statement for `cond` inside the caller's transaction; (id, queue) of the rows it hit."""
    from sqlalchemy import select

    t = b.dj
    c = t.table.c
    q = t.col("queue")
    if b.dialect in ("postgresql", "sqlite"):
        return [(int(r[0]), r[1]) for r in conn.execute(build(cond).returning(c.id, q))]
    hit = [(int(r[0]), r[1]) for r in conn.execute(select(c.id, q).where(cond).order_by(c.id).with_for_update())]
    if hit:
        conn.execute(build(ids_clause(b, [i for i, _ in hit])))
    return hit


def apply_ids(conn: Connection, b: DelayedJobBackend, build: Build, guard: Any, batch: list[Sel], res: Acc,
              why: str) -> None:
    """Act on the picked ids of one parsed batch; ids the guard no longer accepts are skipped."""
    from sqlalchemy import and_

    hit = {i for i, _ in _returning(conn, b, build, and_(ids_clause(b, [s.id for s in batch]), guard))}
    res.done_batch([s for s in batch if s.id in hit])
    for s in batch:
        if s.id not in hit:
            res.skip(s, why)


def range_batches(b: DelayedJobBackend, where: Any, build: Build, res: Acc,
                  progress: Callable[[int], None]) -> None:
    """Act on every row matching `where`, BATCH rows per transaction, walking id ranges."""
    from sqlalchemy import and_, select

    c = b.dj.table.c
    last: int | None = None
    with b.connect() as conn:
        while True:
            cond = where if last is None else and_(where, c.id > last)
            hi = conn.execute(select(c.id).where(cond).order_by(c.id).offset(BATCH - 1).limit(1)).scalar()
            conn.commit()
            rng = cond if hi is None else and_(cond, c.id <= hi)
            if res.wants_classes():
                with b.read() as rconn:
                    first = [Sel(id=int(r[0]), queue=r[1]) for r in rconn.execute(
                        select(c.id, b.dj.col("queue")).where(rng).order_by(c.id).limit(res.class_room()))]
                res.classify(b, first)
                known = {s.id: s.job_class for s in first}
            else:
                known = {}
            with conn.begin():
                if b.dialect == "postgresql":
                    groups, classified = _grouped_pg(conn, b, build, rng, known)
                else:
                    hit = _returning(conn, b, build, rng)
                    groups, classified = _group(hit, known)
            res.done_grouped(groups, classified)
            progress(res.scanned)
            if hi is None:
                return
            last = int(hi)


def _group(hit: list[tuple[int, Any]], known: dict[int, str | None]) -> tuple[dict[Any, int], list[str]]:
    groups: dict[Any, int] = {}
    for _, q in hit:
        groups[q] = groups.get(q, 0) + 1
    return groups, [cls for i, _ in hit if (cls := known.get(i)) is not None]


def _grouped_pg(conn: Connection, b: DelayedJobBackend, build: Build, cond: Any,
                known: dict[int, str | None]) -> tuple[dict[Any, int], list[str]]:
    """PostgreSQL: the statement and its per-queue counts in one round trip, no rows shipped:
    ``WITH u AS (UPDATE … RETURNING id, queue) SELECT queue, count(*), ids-we-parsed FROM u GROUP BY queue``."""
    from sqlalchemy import BigInteger, any_, bindparam, func, literal, select
    from sqlalchemy.dialects.postgresql import ARRAY

    c = b.dj.table.c
    u = build(cond).returning(c.id.label("id"), b.dj.col("queue").label("queue")).cte("u")
    parsed = [i for i, cls in known.items() if cls is not None]
    hits: Any = (func.array_agg(u.c.id).filter(u.c.id == any_(bindparam("parsed", parsed, type_=ARRAY(BigInteger()))))
                 if parsed else literal(None))
    rows = conn.execute(select(u.c.queue, func.count(), hits).group_by(u.c.queue)).all()
    groups = {r[0]: int(r[1]) for r in rows}
    done_parsed = [i for r in rows for i in (r[2] or [])]
    return groups, [cls for i in done_parsed if (cls := known.get(int(i))) is not None]


def parsed_batches(b: DelayedJobBackend, where: Any, f: FailureFilter | None, res: Acc) -> Iterator[list[Sel]]:
    """Batches of selected rows in id order; rows are parsed only when `f` needs Python checks."""
    from sqlalchemy import and_, select

    from jobctl.backends.delayed_job.rows import ERROR_HEAD_FAILURES

    t = b.dj
    c = t.table.c
    last = None
    while not res.full():
        cond = where if last is None else and_(where, c.id > last)
        if f is None:
            cols: list[Any] = [c.id.label("id"), t.col("queue").label("queue")]
        else:
            cols = b.list_columns(error_head=ERROR_HEAD_FAILURES)
        with b.read() as conn:
            rows = conn.execute(select(*cols).select_from(t.table).where(cond).order_by(c.id).limit(BATCH)).fetchall()
            if not rows:
                return
            last = rows[-1].id
            res.scanned += len(rows)
            out: list[Sel] = []
            for row in rows:
                sel = _pick(b, conn, row, f, res)
                if sel is not None:
                    out.append(sel)
                    if res.full():
                        break
        if out:
            yield out
        if len(rows) < BATCH:
            return


def _pick(b: DelayedJobBackend, conn: Connection, row: Row[Any], f: FailureFilter | None, res: Acc) -> Sel | None:
    if f is None:
        sel = Sel(id=int(row.id), queue=row.queue)
        res.selected(sel, None)
        return sel
    reader = b.reader
    error = reader.error_text(conn, row)
    if f.error is not None and not error[1]:  # the regex must see the whole message
        full = reader._fetch_text(conn, "last_error", row.id)
        if full is not None:
            error = (full, True)
    failure = reader.failure(conn, row, error=error)
    if not f.matches(failure):
        return None
    sel = Sel(id=int(row.id), queue=row.queue, job_class=failure.job_class)
    res.selected(sel, sample_of(failure))
    return sel
