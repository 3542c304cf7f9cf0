"""Stable failure ids for Resque.

Resque addresses a failure by its list index, which shifts whenever an earlier entry is removed
(the known way resque-web retries the wrong job). jobctl's id is derived from what the entry *is*:
the list key and the exact stored bytes. Identical entries in one list (rare: same second, same
worker, same payload) are told apart by occurrence, counted from the head: `<hash>`, `<hash>-2`, …

Ids are 12 hex digits (48 bits of BLAKE2b); `show`/`requeue --id`/`discard --id` find an entry by
scanning for the id (with the last known index as a starting hint) and act only after verifying
the bytes at that index, so an id can never hit a different job.
"""

from __future__ import annotations

import hashlib


def entry_hash(key: bytes | str, raw: bytes) -> str:
    k = key.encode() if isinstance(key, str) else key
    return hashlib.blake2b(k + b"\n" + raw, digest_size=6).hexdigest()


class IdAssigner:
    """Assigns ids while scanning one list from head to tail (keeps a per-hash occurrence count)."""

    __slots__ = ("key", "_seen")

    def __init__(self, key: bytes | str) -> None:
        self.key = key
        self._seen: dict[str, int] = {}

    def __call__(self, raw: bytes) -> str:
        h = entry_hash(self.key, raw)
        n = self._seen.get(h, 0) + 1
        self._seen[h] = n
        return h if n == 1 else f"{h}-{n}"


def split_id(failure_id: str) -> tuple[str, int]:
    """`abc123def456-2` -> ("abc123def456", 2)."""
    h, _, occ = failure_id.partition("-")
    return h, int(occ) if occ.isdigit() else 1
