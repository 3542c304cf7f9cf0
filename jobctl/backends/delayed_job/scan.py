"""Bounded, keyset-paginated walks over the DJ table (no large OFFSETs, no unbounded SELECTs).

* `iter_rows(...)` yields list-view rows in a fixed order, fetching batches of growing size
  (``WHERE (k1, k2, id) > last-seen``: a row-value comparison or the equivalent OR-chain)
  and stopping after `scan_limit` rows. Filters SQL can express (queue, state, failed_at window,
  ids) go into the WHERE clause; the caller applies the exact Python filters to what comes back.
* Orders: the worker's reserve order ``priority ASC, run_at ASC, id ASC`` (DJ itself has no id
  tie-break; ours makes pages stable) and ``failed_at DESC, id DESC`` for failures.
* Rows with NULL in a sort column (``run_at`` NULL, ``failed_at`` NULL cannot occur in failure
  walks) are walked in a second phase, so keyset comparisons never meet a NULL.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Row
    from sqlalchemy.sql.elements import ColumnElement

    from jobctl.backends.delayed_job.schema import DJTable

FIRST_BATCH = 64
MAX_BATCH = 2000


@dataclass(slots=True)
class SortKey:
    """One column of a keyset order: the SQL expression, its label in the row, direction."""

    expr: ColumnElement[Any]
    label: str
    descending: bool = False


def _after(keys: Sequence[SortKey], values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order `keys` (lexicographic, per-key direction).

    One direction on PostgreSQL/SQLite: a row-value comparison ``(a, b, id) > (:a, :b, :id)``,
    which their planners turn into an index range scan; otherwise (and on MySQL, whose planner
    handles row values poorly) the equivalent OR-chain.
    """
    from sqlalchemy import and_, or_, tuple_

    if dialect in ("postgresql", "sqlite") and len({k.descending for k in keys}) == 1:
        left, right = tuple_(*[k.expr for k in keys]), tuple_(*values)
        return left < right if keys[0].descending else left > right
    ors = []
    for i, k in enumerate(keys):
        eqs = [keys[j].expr == values[j] for j in range(i)]
        cmp = k.expr < values[i] if k.descending else k.expr > values[i]
        ors.append(and_(*eqs, cmp))
    return or_(*ors)


def _order(keys: Sequence[SortKey]) -> list[Any]:
    return [k.expr.desc() if k.descending else k.expr.asc() for k in keys]


def _key_query(t: DJTable, conds: list[ColumnElement[bool]], keys: Sequence[SortKey], batch: int) -> Any:
    """The ordering query: sort keys only, so a sort that cannot use an index carries small rows."""
    from sqlalchemy import and_, select

    q = select(*[k.expr.label(k.label) for k in keys]).select_from(t.table)
    if conds:
        q = q.where(and_(*conds))
    return q.order_by(*_order(keys)).limit(batch)


def _fetch(conn: Connection, t: DJTable, columns: list[ColumnElement[Any]], ids: list[Any]) -> list[Row[Any]]:
    """The full list-view rows for `ids`, in the order of `ids`."""
    from sqlalchemy import select

    if not ids:
        return []
    got = {r.id: r for r in conn.execute(select(*columns).select_from(t.table).where(t.table.c.id.in_(ids)))}
    return [got[i] for i in ids if i in got]


def _skip(conn: Connection, t: DJTable, where: ColumnElement[bool] | None,
          phases: Sequence[tuple[ColumnElement[bool] | None, Sequence[SortKey]]],
          skip: int) -> tuple[int, list[Any] | None] | None:
    """Walk `skip` rows reading only their sort keys; (phase, last keys) to resume after, or None
    when fewer rows exist."""
    seen = 0
    for idx, (phase_where, keys) in enumerate(phases):
        last: list[Any] | None = None
        while True:
            conds = [c for c in (where, phase_where) if c is not None]
            if last is not None:
                conds.append(_after(keys, last, t.dialect))
            batch = min(MAX_BATCH * 5, skip - seen)
            rows = conn.execute(_key_query(t, conds, keys, batch)).fetchall()
            seen += len(rows)
            if rows:
                last = [getattr(rows[-1], k.label) for k in keys]
            if seen >= skip:
                return idx, last
            if len(rows) < batch:
                break
    return None


def iter_rows(conn: Connection, t: DJTable, columns: list[ColumnElement[Any]], where: ColumnElement[bool] | None,
              phases: Sequence[tuple[ColumnElement[bool] | None, Sequence[SortKey]]], *,
              scan_limit: int | None, first_batch: int = FIRST_BATCH, skip: int = 0) -> Iterator[Row[Any]]:
    """Yield rows matching `where`, phase by phase, each phase in its keyset order.

    Each batch is two statements: the ordered keys (`_key_query`, LIMIT batch), then the list
    columns of exactly those ids. `skip` rows are passed over reading keys only, so an offset
    never ships handler text. `columns` must include the row id labelled ``id``.
    """
    start_phase, start_last = 0, None
    if skip:
        resume = _skip(conn, t, where, phases, skip)
        if resume is None:
            return
        start_phase, start_last = resume
    scanned = 0
    for idx, (phase_where, keys) in enumerate(phases):
        if idx < start_phase:
            continue
        last: list[Any] | None = start_last if idx == start_phase else None
        batch = first_batch
        while True:
            if scan_limit is not None:
                remaining = scan_limit - scanned
                if remaining <= 0:
                    return
                batch = min(batch, remaining)
            conds = [c for c in (where, phase_where) if c is not None]
            if last is not None:
                conds.append(_after(keys, last, t.dialect))
            key_rows = conn.execute(_key_query(t, conds, keys, batch)).fetchall()
            for row in _fetch(conn, t, columns, [k.id for k in key_rows]):
                scanned += 1
                yield row
            if len(key_rows) < batch:
                break
            last = [getattr(key_rows[-1], k.label) for k in keys]
            batch = min(batch * 2, MAX_BATCH)


def reserve_phases(t: DJTable) -> list[tuple[ColumnElement[bool] | None, list[SortKey]]]:
    """Worker order: priority, run_at, id; rows with NULL run_at (never due) come last."""
    c = t.table.c
    prio = SortKey(t.int_col("priority"), "priority")
    return [
        (c.run_at.is_not(None), [prio, SortKey(c.run_at, "run_at"), SortKey(c.id, "id")]),
        (c.run_at.is_(None), [prio, SortKey(c.id, "id")]),
    ]


def failure_phases(t: DJTable, newest_first: bool) -> list[tuple[ColumnElement[bool] | None, list[SortKey]]]:
    c = t.table.c
    return [(None, [SortKey(c.failed_at, "failed_at", newest_first), SortKey(c.id, "id", newest_first)])]
