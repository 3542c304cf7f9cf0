"""What `jobctl tail` does with a stream of events, whatever made them (MONITOR or DJ polling):
select them (`EventFilter`) and sum them up at the end (`TailSummary`). Pure: stdlib only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from jobctl.model import Event
from jobctl.parse.monitor import client_kind, split_client

RATE_KINDS = ("enqueue", "reserve", "start", "done", "fail")


def _is_glob(p: str) -> bool:
    return any(ch in p for ch in "*?[")


def _match(patterns: tuple[str, ...], value: str | None) -> bool:
    if value is None:
        return False
    for p in patterns:
        if p == value or (_is_glob(p) and fnmatchcase(value, p)):
            return True
    return False


def client_matches(pattern: str, client: str | None) -> bool:
    """`10.0.0.5:4242` exact; `10.0.0.5` any port of that host; `::1` = `[::1]:*`; globs; `lua`."""
    if client is None:
        return False
    if pattern == client or (_is_glob(pattern) and fnmatchcase(client, pattern)):
        return True
    if client_kind(client) != "tcp":
        return False
    host, _port = split_client(client)
    return pattern in (host, f"[{host}]")


@dataclass(slots=True)
class EventFilter:
    """Which events to show. Empty tuples mean "any". Queue and class accept globs (* ? [])."""

    kinds: frozenset[str]
    queues: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    db: int | None = None

    def matches(self, e: Event) -> bool:
        if e.kind not in self.kinds:
            return False
        if e.kind == "unparsed":
            return True  # not attributable to a queue/class/client: shown when asked for
        if self.db is not None and e.db is not None and e.db != self.db:
            return False
        if self.queues and not _match(self.queues, e.queue):
            return False
        if self.classes and not _match(self.classes, e.job_class):
            return False
        if self.clients and not any(client_matches(p, e.client) for p in self.clients):
            return False
        return True


@dataclass
class TailSummary:
    """Counts over the events shown: per queue and kind, classes, clients, the time span."""

    by_queue: dict[str, Counter[str]] = field(default_factory=dict)
    by_kind: Counter[str] = field(default_factory=Counter)
    classes: Counter[str] = field(default_factory=Counter)
    clients: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    events: int = 0

    def add(self, e: Event) -> None:
        self.events += 1
        self.by_kind[e.kind] += 1
        if e.kind == "unparsed":
            return
        if e.queue is not None:
            c = self.by_queue.get(e.queue)
            if c is None:
                c = self.by_queue[e.queue] = Counter()
            c[e.kind] += 1
        if e.job_class is not None and e.kind in ("enqueue", "fail", "start", "scheduled"):
            self.classes[e.job_class] += 1
        if e.client is not None:
            self.clients[e.client] += 1
        if self.first is None or e.ts < self.first:
            self.first = e.ts
        if self.last is None or e.ts > self.last:
            self.last = e.ts

    def span_s(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds()

    def report(self, *, lines: int | None, unparsed: int, elapsed_s: float | None = None,
               top: int = 5) -> dict[str, Any]:
        """A JSON-able summary. Rates are per second over `elapsed_s` (live: wall time) or, for a
        capture, over the span between the first and the last event shown."""
        span = elapsed_s if elapsed_s is not None else self.span_s()
        queues = []
        for name in sorted(self.by_queue):
            c = self.by_queue[name]
            row: dict[str, Any] = {"queue": name}
            for k in ("enqueue", "reserve", "fail"):
                row[k] = c.get(k, 0)
                row[f"{k}_per_s"] = round(c.get(k, 0) / span, 2) if span > 0 else None
            row["start"] = c.get("start", 0)
            row["done"] = c.get("done", 0)
            queues.append(row)
        return {
            "lines": lines,
            "unparsed": unparsed,
            "events": self.events,
            "span_s": round(span, 3),
            "by_kind": dict(self.by_kind.most_common()),
            "queues": queues,
            "top_classes": [{"class": k, "count": v} for k, v in self.classes.most_common(top)],
            "top_clients": [{"client": k, "count": v} for k, v in self.clients.most_common(top)],
        }
