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
copies more than 10,000 entries apart are numbered as if unique and so share an id; acting on such
an id affects one of the byte-identical copies.

`show` / `requeue --id` / `discard --id` find an entry by scanning newest-first for the id (the last
known index is a hint) and act only after verifying the bytes at that index, so an id can never hit
a different job.
"""

from __future__ import annotations

import hashlib
from collections import deque

_blake2b = hashlib.blake2b

HORIZON = 10_000


def digest_of(key: bytes | str, raw: bytes) -> bytes:
    """6-byte BLAKE2b of `key + "\\n" + raw`."""
    k = key.encode() if isinstance(key, str) else key
    return _blake2b(k + b"\n" + raw, digest_size=6).digest()


def entry_hash(key: bytes | str, raw: bytes) -> str:
    """12-hex BLAKE2b of `key + "\\n" + raw` (the id without its duplicate suffix)."""
    return digest_of(key, raw).hex()


class IdAssigner:
    """Assigns ids while scanning ONE list from the tail towards the head (newest first).

    Keeps the digests of entries within HORIZON positions (a sliding window keyed by list index),
    so memory is bounded. Entries may be skipped: a caller that only needs ids of entries selected
    by a deterministic function of their bytes (a filter) may feed only those, because identical
    copies are selected alike. `__call__` feeds contiguous entries; hot loops use
    `occurrence(raw, index)` and build the string with `format_id` only for entries they keep.
    """

    __slots__ = ("key", "_prefix", "_window", "_counts", "horizon", "_next")

    def __init__(self, key: bytes | str, horizon: int = HORIZON) -> None:
        self.key = key
        self._prefix = (key.encode() if isinstance(key, str) else key) + b"\n"
        self._window: deque[tuple[int, bytes]] = deque()
        self._counts: dict[bytes, int] = {}
        self.horizon = horizon
        self._next = 0  # pseudo-index for __call__ (contiguous feeding)

    def occurrence(self, raw: bytes, index: int) -> tuple[bytes, int]:
        """(6-byte digest, n) for the entry at `index`: n = 1 + identical entries at index+1 … index+HORIZON
        among those fed so far. Indexes must decrease from call to call."""
        d = _blake2b(self._prefix + raw, digest_size=6).digest()
        counts = self._counts
        window = self._window
        limit = index + self.horizon
        while window and window[0][0] > limit:
            old = window.popleft()[1]
            c = counts[old] - 1
            if c:
                counts[old] = c
            else:
                del counts[old]
        n = counts.get(d, 0) + 1
        window.append((index, d))
        counts[d] = n
        return d, n

    def __call__(self, raw: bytes) -> str:
        self._next -= 1
        return format_id(*self.occurrence(raw, self._next))


def format_id(digest: bytes, n: int) -> str:
    """(digest, copy number) -> `<12 hex>` or `<12 hex>-N`."""
    return digest.hex() if n == 1 else f"{digest.hex()}-{n}"


def split_id(failure_id: str) -> tuple[str, int]:
    """`abc123def456-2` -> ("abc123def456", 2); a bare hash is occurrence 1."""
    h, _, occ = failure_id.partition("-")
    return h, int(occ) if occ.isdigit() else 1


def looks_like_id(text: str) -> bool:
    h, sep, occ = text.partition("-")
    return len(h) == 12 and all(c in "0123456789abcdef" for c in h) and (not sep or occ.isdigit())
