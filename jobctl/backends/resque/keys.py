"""Key names for one Resque namespace (resque-format.md §1).

Every Resque key is ``<namespace>:<name>``; the namespace defaults to ``resque`` and may itself
contain colons (``myapp:resque``), so names are always built by prefixing and parsed by stripping
the exact prefix, never by splitting on ``:``. Keys are returned as ``str``; redis-py encodes them.
"""

from __future__ import annotations

import re

FAILED_SUFFIX = "_failed"  # RedisMultiQueue: "<queue>_failed" lists, listed in the failed_queues set


def wire(key: str) -> str:
    """A key as sent to Redis. Names read from Redis are decoded with surrogateescape, so a name that
    was not valid UTF-8 (e.g. a queue registered by a buggy producer) holds lone surrogates, which
    redis-py/hiredis refuse to encode; such keys go out as the original bytes instead."""
    if key.isascii():
        return key
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return key.encode("utf-8", "surrogateescape")  # type: ignore[return-value]  # bytes: redis-py sends them as is
    return key


def glob_escape(text: str) -> str:
    """Escape Redis glob characters so a namespace with `*?[]\\` matches only itself in SCAN MATCH."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


class ResqueKeys:
    """Key-name helper: ``ResqueKeys("myapp:resque").queue("low")`` -> ``"myapp:resque:queue:low"``."""

    __slots__ = ("namespace", "prefix")

    def __init__(self, namespace: str = "resque") -> None:
        self.namespace = namespace
        self.prefix = f"{namespace}:" if namespace else ""

    def key(self, name: str) -> str:
        return self.prefix + name

    def strip(self, key: str | bytes) -> str | None:
        """Full key -> name inside the namespace, or None when the key is not in it."""
        k = key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key
        return k[len(self.prefix):] if k.startswith(self.prefix) else None

    def pattern(self, name_glob: str) -> str:
        """SCAN MATCH pattern for names inside the namespace (the namespace part is escaped)."""
        return glob_escape(self.prefix) + name_glob

    # ---- queues (§1.2)
    @property
    def queues(self) -> str:
        return self.prefix + "queues"

    def queue(self, name: str) -> str:
        return wire(self.prefix + "queue:" + name)

    def queue_name(self, key: str | bytes) -> str | None:
        """`<ns>:queue:low:x` -> `low:x` (queue names may contain colons and dashes)."""
        name = self.strip(key)
        if name is None or not name.startswith("queue:"):
            return None
        return name[len("queue:"):]

    # ---- failures (§1.2, §1.4)
    @property
    def failed(self) -> str:
        return self.prefix + "failed"

    @property
    def failed_queues(self) -> str:
        return self.prefix + "failed_queues"

    def failed_list(self, member: str) -> str:
        """A member of `failed_queues` (already "<queue>_failed") -> its list key."""
        return self.prefix + member

    def multi_failed(self, queue: str) -> str:
        return self.prefix + queue + FAILED_SUFFIX

    @staticmethod
    def queue_of_failed_member(member: str) -> str | None:
        return member[: -len(FAILED_SUFFIX)] if member.endswith(FAILED_SUFFIX) else None

    # ---- workers (§1.2, §1.5)
    @property
    def workers(self) -> str:
        return self.prefix + "workers"

    def worker(self, worker_id: str) -> str:
        return wire(self.prefix + "worker:" + worker_id)

    def worker_started(self, worker_id: str) -> str:
        return wire(self.prefix + "worker:" + worker_id + ":started")

    @property
    def heartbeat(self) -> str:
        return self.prefix + "workers:heartbeat"

    def stat(self, name: str) -> str:
        return self.prefix + "stat:" + name

    def worker_stat(self, name: str, worker_id: str) -> str:
        return wire(self.prefix + "stat:" + name + ":" + worker_id)

    @property
    def pause_all(self) -> str:
        return self.prefix + "pause-all-workers"

    # ---- resque-scheduler (§1.6)
    @property
    def delayed_schedule(self) -> str:
        return self.prefix + "delayed_queue_schedule"

    def delayed(self, ts: int | str) -> str:
        return self.prefix + f"delayed:{ts}"

    @property
    def persistent_schedules(self) -> str:
        return self.prefix + "persistent_schedules"

    @property
    def legacy_schedules(self) -> str:
        return self.prefix + "schedules"

    @property
    def scheduler_lock_candidates(self) -> tuple[str, str]:
        """The master lock as seen on the wire (double prefix, §1.6) and the single-prefix form."""
        return (self.prefix + self.prefix + "resque_scheduler_master_lock",
                self.prefix + "resque_scheduler_master_lock")

    # ---- resque-status (§1.8)
    def status(self, uuid: str) -> str:
        return self.prefix + "status:" + uuid

    @property
    def statuses(self) -> str:
        return self.prefix + "_statuses"

    @property
    def kill_set(self) -> str:
        return self.prefix + "_kill"

    # ---- format detection (ping)
    def detection_keys(self) -> tuple[str, ...]:
        return (self.queues, self.failed, self.workers, self.stat("processed"), self.stat("failed"),
                self.failed_queues)

    def detection_patterns(self) -> tuple[str, ...]:
        return (self.pattern("queue:*"), self.pattern("stat:*"))
