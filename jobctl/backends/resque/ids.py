"""Stable failure ids for Resque.

Resque addresses a failure by its list index, which shifts whenever an earlier entry is removed
(the known way resque-web retries the wrong job). jobctl's id is derived from what the entry *is*:
the list key and the exact stored bytes: 12 hex digits (48 bits) of BLAKE2b.

The rule (one definition, whatever direction a scan goes)
--------------------------------------------------------
``id(i) = hash(key, raw_i)``, plus ``-N`` when identical entries exist *after* it (nearer the
tail, i.e. newer): ``N = 1 + (number of entries with identical bytes at indexes i+1 … i+HORIZON)``.
So the newest copy is ``<hash>``, the next older identical copy ``<hash>-2``, and so on.

Why counted from the tail: jobctl scans newest-first (the default view, alerting, the TUI), and
the number is then known the moment an entry is read, with no look at the older part of the list.
Removing or appending *other* (non-identical) entries never changes an id; appending an identical
copy renames the older copies (``h`` -> ``h-2``), which is harmless because identical copies are
byte-identical: any of them is the same failure. Identical entries (same second, same worker, same
payload and error) are rare. HORIZON bounds the memory a scan needs (flat memory on long lists):
copies more than 100,000 entries apart are numbered as if unique and so share an id; acting on such
an id affects one of the byte-identical copies.

`show` / `requeue --id` / `discard --id` find an entry by scanning newest-first for the id (the last
known index is a hint) and act only after verifying the bytes at that index, so an id can never hit
a different job.
"""

from __future__ import annotations

import hashlib
from collections import deque

HORIZON = 100_000


def entry_hash(key: bytes | str, raw: bytes) -> str:
    """12-hex BLAKE2b of `key + "\\n" + raw` (the id without its duplicate suffix)."""
    k = key.encode() if isinstance(key, str) else key
    return hashlib.blake2b(k + b"\n" + raw, digest_size=6).hexdigest()


class IdAssigner:
    """Assigns ids while scanning ONE list from the tail to the head (newest first, contiguous).

    Keeps the hashes of the last HORIZON entries read (a sliding window), so memory is bounded.
    """

    __slots__ = ("key", "_prefix", "_window", "_counts", "horizon")

    def __init__(self, key: bytes | str, horizon: int = HORIZON) -> None:
        self.key = key
        self._prefix = (key.encode() if isinstance(key, str) else key) + b"\n"
        self._window: deque[str] = deque()
        self._counts: dict[str, int] = {}
        self.horizon = horizon

    def __call__(self, raw: bytes) -> str:
        h = hashlib.blake2b(self._prefix + raw, digest_size=6).hexdigest()
        counts = self._counts
        n = counts.get(h, 0)
        window = self._window
        if len(window) >= self.horizon:
            old = window.popleft()
            c = counts[old] - 1
            if c:
                counts[old] = c
            else:
                del counts[old]
        window.append(h)
        counts[h] = counts.get(h, 0) + 1
        return h if n == 0 else f"{h}-{n + 1}"


def split_id(failure_id: str) -> tuple[str, int]:
    """`abc123def456-2` -> ("abc123def456", 2); a bare hash is occurrence 1."""
    h, _, occ = failure_id.partition("-")
    return h, int(occ) if occ.isdigit() else 1


def looks_like_id(text: str) -> bool:
    h, sep, occ = text.partition("-")
    return len(h) == 12 and all(c in "0123456789abcdef" for c in h) and (not sep or occ.isdigit())
