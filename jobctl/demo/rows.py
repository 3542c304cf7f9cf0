"""Demo rows and their states: the times and columns Delayed Job itself would leave behind.

`RowFactory.add(handler, queue, state)` turns one handler into a `DemoRow` in one of the states a
real `delayed_jobs` table holds (docs/delayed-job-format.md §3): ready (run_at = enqueue time),
scheduled (run_at in the future), running (fresh lock), stuck (lock older than max_run_time),
retrying (attempts > 0, last_error, run_at = failure + attempts**4 + 5 s), failed (attempts = 25,
failed_at, lock kept as DJ keeps it) and unloadable (DeserializationError: attempts 0, failed at once).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from jobctl.demo import errors
from jobctl.demo import handlers as h

SEED = 20261127
MAX_ATTEMPTS = 25  # Delayed::Worker.max_attempts default
DEAD_WORKER = "delayed_job.2 host:app-worker-3 pid:1377"  # SIGKILLed: its job keeps a stale lock
WORKERS = ("delayed_job.0 host:app-worker-1 pid:21807", "delayed_job.1 host:app-worker-1 pid:21811",
           "delayed_job.0 host:app-worker-2 pid:3188")
DELETED_USER_IDS = (13, 14)  # referenced by handlers, absent from `users` (their jobs cannot load)
_USERS = (("Ada Lovelace", "ada@example.com", "en"), ("Grace Hopper", "grace@example.com", "en"),
          ("Alan Turing", "alan@example.com", "en"), ("Katherine Johnson", "kj@example.com", "en"),
          ("Edsger Dijkstra", "ewd@example.com", "nl"), ("Barbara Liskov", "liskov@example.com", "en"),
          ("Zoë Martin", "zoe@example.fr", "fr"), ("东京 太郎", None, "ja"),
          ("Margaret Hamilton", "mh@example.com", "en"), ("Frances Allen", "fran@example.com", "en"),
          ("Jürgen Weiß", "jw@example.de", "de"), ("Ken Thompson", "ken@example.com", "en"))


def sqlite_time(t: datetime) -> str:
    """ActiveRecord 6.1's SQLite text form: `2026-11-27 19:53:16.706429` (no fraction when usec == 0)."""
    text = t.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{t.microsecond:06d}" if t.microsecond else text


def aj_time(t: datetime) -> str:
    """Rails 6.1's `enqueued_at`: `Time.now.utc.iso8601` (seconds)."""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class DemoRow:
    handler: str
    queue: str | None
    created_at: datetime
    run_at: datetime
    updated_at: datetime
    priority: int = 0
    attempts: int = 0
    last_error: str | None = None
    locked_at: datetime | None = None
    locked_by: str | None = None
    failed_at: datetime | None = None


def build_users(now: datetime) -> list[h.DemoUser]:
    rng = random.Random(SEED)
    users = []
    for i, (name, email, locale) in enumerate(_USERS, start=1):
        created = now - timedelta(days=rng.randint(40, 400), seconds=rng.randint(0, 86399),
                                  microseconds=rng.randint(1, 999999))
        updated = created + timedelta(days=rng.randint(0, 30), microseconds=rng.randint(1, 999999))
        users.append(h.DemoUser(i, name, email, locale, sqlite_time(created), sqlite_time(updated)))
    return users


@dataclass
class RowFactory:
    now: datetime
    rng: random.Random
    users: list[h.DemoUser]
    rows: list[DemoRow] = field(default_factory=list)
    busy: set[str] = field(default_factory=set)  # workers holding a fresh lock

    def _free_worker(self) -> str:
        name = self.rng.choice([w for w in WORKERS if w not in self.busy])
        self.busy.add(name)
        return name

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def user(self) -> h.DemoUser:
        return self.rng.choice(self.users)

    def ago(self, max_minutes: float, min_minutes: float = 0.5) -> datetime:
        secs = self.rng.uniform(min_minutes * 60, max_minutes * 60)
        return self.now - timedelta(seconds=secs, microseconds=self.rng.randint(1, 999999))

    def add(self, handler: str | Callable[[datetime], str], queue: str | None, state: str, *, priority: int = 0,
            error: Callable[[], str] | None = None) -> None:
        """One row in `state`: ready | scheduled | running | stuck | retrying | failed | unloadable.
        `handler` may take the enqueue time (ActiveJob's `enqueued_at` must equal the row's created_at)."""
        rng, now = self.rng, self.now
        created = self.ago(180)
        row = DemoRow("", queue, created, created, created, priority)
        if state == "running" and len(self.busy) >= len(WORKERS):  # a DJ worker runs one job at a time
            state = "ready"
        if state == "scheduled":
            row.run_at = now + timedelta(minutes=rng.uniform(5, 60 * 24 * 3), microseconds=rng.randint(1, 999999))
        elif state in ("running", "stuck"):
            row.locked_at = now - (timedelta(seconds=rng.uniform(5, 90)) if state == "running"
                                   else timedelta(hours=rng.uniform(5, 9)))
            row.created_at = row.run_at = row.locked_at - timedelta(seconds=rng.uniform(1, 60))
            row.locked_by = self._free_worker() if state == "running" else DEAD_WORKER
            row.updated_at = row.locked_at
        elif state == "retrying":
            row.attempts = rng.randint(1, 6)
            failed = now - timedelta(seconds=rng.uniform(1, row.attempts ** 4))
            row.run_at = failed + timedelta(seconds=row.attempts ** 4 + 5)
            row.created_at = failed - timedelta(minutes=rng.uniform(1, 30))
            row.updated_at, row.last_error = failed, (error or generic_error)()
        elif state in ("failed", "unloadable"):
            row.attempts = MAX_ATTEMPTS if state == "failed" else 0
            row.failed_at = self.ago(60 * 24 * 2, 10)
            row.locked_at = row.failed_at - timedelta(seconds=rng.uniform(0.01, 2))
            row.locked_by = rng.choice(WORKERS)
            span = timedelta(days=20.4) if state == "failed" else timedelta(seconds=rng.uniform(1, 30))
            row.created_at = row.failed_at - span
            row.run_at = row.locked_at - timedelta(seconds=rng.uniform(0, 5))
            row.updated_at, row.last_error = row.failed_at, (error or generic_error)()
        row.handler = handler(row.created_at) if callable(handler) else handler
        self.rows.append(row)


def generic_error() -> str:
    return errors.runtime_error("unexpected response", "/srv/app/app/jobs/base_job.rb:12:in `perform'")
