"""Put the hostile corpus into real stores: a private Redis (Resque) and delayed_jobs tables.

Resque (namespace `resque`): queue `hostile` holds every `corpus.resque_jobs()` entry in order;
the `failed` list holds `corpus.resque_failures()`; one queue per hostile name (plus a non-UTF-8
name and a registered name whose key has the wrong type); hostile workers with garbage
started/heartbeat values; garbage `stat:*` counters.

Delayed Job: rows with known ids - every `corpus.dj_handlers()` entry as a ready job of queue
`hostile` (ids from 1), failed copies of some of them with hostile `last_error`s, one row per
hostile queue name locked by a hostile worker, and (SQLite only, where a datetime column can
hold any text) rows whose failed_at / run_at / locked_at are garbage.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hostile.corpus import (
    HOSTILE_NAMES,
    PWNED,
    Entry,
    _job,
    dj_handlers,
    dj_last_errors,
    performable,
    resque_failures,
    resque_jobs,
    worker_entries,
)

HOSTILE_QUEUE = "hostile"
NON_UTF8_QUEUE = b"bytes-\xff\xfe-queue"
WRONG_TYPE_QUEUE = "wrongtype"


# --------------------------------------------------------------------------- Resque


@dataclass
class ResqueCorpus:
    namespace: str
    jobs: list[Entry]
    failures: list[Entry]
    name_queues: dict[str, str]  # family -> queue name
    workers: list[str]

    def job_position(self, name: str) -> int:
        return next(i for i, e in enumerate(self.jobs) if e.name == name)

    def failure_index(self, name: str) -> int:
        return next(i for i, e in enumerate(self.failures) if e.name == name)


def load_resque(client: Any, namespace: str = "resque") -> ResqueCorpus:
    """Write the corpus into `client`'s db (existing keys of the same names are replaced)."""
    ns = namespace
    jobs = resque_jobs()
    failures = resque_failures()
    client.delete(f"{ns}:queue:{HOSTILE_QUEUE}", f"{ns}:failed")
    client.sadd(f"{ns}:queues", HOSTILE_QUEUE)
    for e in jobs:  # one by one: some are 10 MB
        client.rpush(f"{ns}:queue:{HOSTILE_QUEUE}", e.data)
    for e in failures:
        client.rpush(f"{ns}:failed", e.data)
    name_queues = {}
    for family, name in HOSTILE_NAMES.items():
        client.sadd(f"{ns}:queues", name)
        client.delete(f"{ns}:queue:{name}")
        client.rpush(f"{ns}:queue:{name}", _job(f"NameJob::{family}", [name, PWNED]), b"{broken")
        name_queues[family] = name
    client.sadd(f"{ns}:queues", NON_UTF8_QUEUE)
    client.rpush(f"{ns}:queue:".encode() + NON_UTF8_QUEUE, _job("BytesQueueJob", []))
    client.sadd(f"{ns}:queues", WRONG_TYPE_QUEUE)
    client.set(f"{ns}:queue:{WRONG_TYPE_QUEUE}", b"a string where a list should be")
    ids = []
    for wid, job, started, heartbeat in worker_entries():
        client.sadd(f"{ns}:workers", wid)
        if job is not None:
            client.set(f"{ns}:worker:{wid}", job)
        if started is not None:
            client.set(f"{ns}:worker:{wid}:started", started)
        if heartbeat is not None:
            client.hset(f"{ns}:workers:heartbeat", wid, heartbeat)
        ids.append(wid)
    client.set(f"{ns}:stat:processed", b"not a number \x1b[2J")
    client.set(f"{ns}:stat:failed", b"1e999")
    return ResqueCorpus(namespace=ns, jobs=jobs, failures=failures, name_queues=name_queues, workers=ids)


# --------------------------------------------------------------------------- MONITOR capture


_REPR_SPECIAL = {b"\\": b"\\\\", b'"': b'\\"', b"\n": b"\\n", b"\r": b"\\r", b"\t": b"\\t", b"\x07": b"\\a",
                 b"\x08": b"\\b"}
_REPR_ESCAPE = re.compile(rb'[^\x20-\x7e]|[\\"]')


def _repr_byte(m: re.Match[bytes]) -> bytes:
    c = m.group(0)
    return _REPR_SPECIAL.get(c) or b"\\x%02x" % c[0]


def sdscatrepr(arg: bytes) -> bytes:
    """Redis's sdscatrepr: how MONITOR prints one argument (quotes included)."""
    return b'"' + _REPR_ESCAPE.sub(_repr_byte, arg) + b'"'


def monitor_capture(namespace: str = "resque", *, t0: float = 1795808598.0) -> bytes:
    """A MONITOR log that pushes (and pops) every corpus job and failure, as a real capture shows it."""
    lines = []
    t = t0
    client = b"[0 127.0.0.1:35672] "

    def line(*args: bytes) -> None:
        nonlocal t
        t += 0.001
        lines.append(b"%.6f " % t + client + b" ".join(sdscatrepr(a) for a in args))

    ns = namespace.encode()
    for e in resque_jobs():
        line(b"sadd", ns + b":queues", HOSTILE_QUEUE.encode())
        line(b"rpush", ns + b":queue:" + HOSTILE_QUEUE.encode(), e.data)
        line(b"lpop", ns + b":queue:" + HOSTILE_QUEUE.encode())
    for name in HOSTILE_NAMES.values():
        line(b"rpush", ns + b":queue:" + name.encode(), _job("NameJob", [name]))
    for e in resque_failures():
        line(b"rpush", ns + b":failed", e.data)
        line(b"incrby", ns + b":stat:failed", b"1")
    for wid, job, _, heartbeat in worker_entries():
        if job is not None:
            line(b"set", ns + b":worker:" + wid.encode(), job)
        if heartbeat is not None:
            line(b"hset", ns + b":workers:heartbeat", wid.encode(), heartbeat)
    lines.append(b"garbage line \x1b[2J\xff not a monitor line")
    lines.append(b"1795808599.000000 [0 127.0.0.1:35672] \"rpush\" \"unterminated")
    return b"\n".join(lines) + b"\n"


# --------------------------------------------------------------------------- Delayed Job


@dataclass
class DJCorpus:
    url: str
    handlers: dict[int, Entry]  # ready rows of queue `hostile`
    failed: dict[int, str]  # failed row id -> entry name
    named: dict[str, int]  # hostile queue family -> row id
    garbage_times: list[int] = field(default_factory=list)  # SQLite only

    def id_of(self, name: str) -> int:
        return next(i for i, e in self.handlers.items() if e.name == name)


FAILED_COPIES = ("escape_method_pwned", "yaml_alias_bomb", "python_apply_os_system", "markup_args",
                 "invalid_yaml", "activejob_hostile", "duplicate_a", "duplicate_b")


def _insert_sqlite(path: Path, rows: list[dict[str, Any]]) -> None:
    """SQLite rows may hold non-UTF-8 TEXT (CAST of a blob) and garbage datetimes: raw sqlite3."""
    con = sqlite3.connect(path)
    try:
        for r in rows:
            cols = list(r)
            marks = ", ".join("CAST(? AS TEXT)" if isinstance(r[c], bytes) else "?" for c in cols)
            con.execute(f'INSERT INTO delayed_jobs ({", ".join(cols)}) VALUES ({marks})', [r[c] for c in cols])
        con.commit()
    finally:
        con.close()


def _sa_insert(url: str, rows: list[dict[str, Any]], *, postgres: bool) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    eng = create_engine(url, poolclass=NullPool)
    try:
        with eng.begin() as conn:
            for r in rows:
                cols = list(r)
                conn.execute(text(f'INSERT INTO delayed_jobs ({", ".join(cols)}) VALUES '
                                  f'({", ".join(":" + c for c in cols)})'), r)
            if postgres:
                conn.execute(text("SELECT setval(pg_get_serial_sequence('public.delayed_jobs', 'id'), "
                                  "(SELECT MAX(id) + 1 FROM delayed_jobs), false)"))
    finally:
        eng.dispose()


def load_dj(url: str, canary: Path, *, now: datetime | None = None) -> DJCorpus:
    """Create delayed_jobs at `url` (real DDL) and insert the corpus rows with known ids."""
    from dj_data import dialect_tag, load_fixture, sqlite_path, sqlite_time

    tag = dialect_tag(url)
    load_fixture(url, rows=[])
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    sqlite = tag == "sqlite"

    def ts(dt: datetime) -> Any:
        return sqlite_time(dt) if sqlite else dt.replace(tzinfo=None)

    def text(data: bytes) -> Any:
        try:
            s = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        return data if (sqlite and "\x00" in s) else s

    rows: list[dict[str, Any]] = []
    handlers: dict[int, Entry] = {}
    next_id = 1
    for e in dj_handlers(canary):
        if not e.sql_safe and not sqlite:
            continue
        handlers[next_id] = e
        rows.append({"id": next_id, "priority": 0, "attempts": 0, "handler": text(e.data), "queue": HOSTILE_QUEUE,
                     "run_at": ts(now - timedelta(hours=1)), "created_at": ts(now - timedelta(hours=1)),
                     "updated_at": ts(now - timedelta(hours=1))})
        next_id += 1
    errors = dj_last_errors()
    failed: dict[int, str] = {}
    by_name = {e.name: e for e in handlers.values()}
    for i, name in enumerate(FAILED_COPIES):
        e = by_name[name]
        err = errors["big"] if name == "markup_args" else errors["markup"] if name == "invalid_yaml" else errors["hostile"]
        rows.append({"id": next_id, "priority": 0, "attempts": 2, "handler": text(e.data), "queue": HOSTILE_QUEUE,
                     "last_error": err, "run_at": ts(now - timedelta(minutes=30 + i)),
                     "failed_at": ts(now - timedelta(minutes=10 + i)), "locked_at": ts(now - timedelta(minutes=10 + i)),
                     "locked_by": f"host:evil\x1b[2J pid:{100 + i}", "created_at": ts(now - timedelta(hours=2)),
                     "updated_at": ts(now - timedelta(minutes=10 + i))})
        failed[next_id] = name
        next_id += 1
    named: dict[str, int] = {}
    for family, qname in HOSTILE_NAMES.items():
        rows.append({"id": next_id, "priority": 2**31 - 1, "attempts": 0,
                     "handler": performable(":run", [f'"{family}"']), "queue": qname,
                     "run_at": ts(now - timedelta(minutes=5)), "locked_at": ts(now - timedelta(minutes=1)),
                     "locked_by": f"host:{qname} pid:{next_id}", "created_at": ts(now - timedelta(minutes=5)),
                     "updated_at": ts(now - timedelta(minutes=1))})
        named[family] = next_id
        next_id += 1
    garbage: list[int] = []
    if sqlite:
        for col, value in (("failed_at", "garbage \x1b[2J"), ("failed_at", "2026-13-45 99:99:99"),
                           ("run_at", "not a date"), ("locked_at", "yesterday"), ("failed_at", "")):
            row = {"id": next_id, "priority": 0, "attempts": 1, "handler": performable(":garbage_time"),
                   "queue": HOSTILE_QUEUE, "run_at": ts(now - timedelta(hours=1)), "last_error": "garbage time row",
                   "created_at": ts(now - timedelta(hours=1)), "updated_at": ts(now)}
            row[col] = value
            if col == "locked_at":
                row["locked_by"] = "host:garbage pid:1"
            rows.append(row)
            garbage.append(next_id)
            next_id += 1
        _insert_sqlite(sqlite_path(url), rows)
    else:
        _sa_insert(url, rows, postgres=tag == "pg")
    return DJCorpus(url=url, handlers=handlers, failed=failed, named=named, garbage_times=garbage)
