"""The stall guard: never block Redis longer than `max_stall_ms` in one requeue/discard call.

Why it exists: Redis has no remove-by-index. requeue.lua removes a batch with LTRIM when the batch
is exactly the head or the tail of the failed list (no scan, any list size), and otherwise marks
the entries and removes the marks with one LREM from the nearer end of the list, which compares
every entry it passes (measured ~0.1 µs per entry, monitor-format.md §4). A selection scattered
deep inside a very long list (every 10th of 1,000,000 failures) therefore costs tens of
milliseconds per call, during which Redis serves nobody. That cost depends only on the distance
from the nearer end, not on the batch size, so no batch sizing can keep it short; the other ways
to remove from the middle (rebuilding the list, leaving visible placeholders, reordering) would
hide failures or change what others see.

So before each such call the guard predicts its scan (distance x the learned cost per entry). A
call is the scan plus the batch's own work, which the window sizer (window.py) keeps near 3 ms and
at most half the limit; a scan may take what is left of 80% of the limit (5 ms of the default 10).
Over that, the walk leaves the batch alone and reports its entries as skipped, with the
predicted stall and how to accept it (`--max-stall-ms`, or the target's `max_stall_ms` key).
Everything else goes on: entries near either end of the list, and every `--all` batch (an LTRIM),
are still acted on. Skipped entries stay failed, untouched: a rerun with a higher limit, or at a
quiet hour, finishes them. The cost per entry starts from a conservative prior and follows what
the script measures on the server (`removal_usec` / `scanned`); a dry run uses the prior.
"""

from __future__ import annotations

import statistics
from typing import Any

from jobctl.backends.resque.window import TARGET_US

DEFAULT_MAX_STALL_MS = 10.0  # Redis' own slowlog threshold (slowlog-log-slower-than 10000 µs)
MARGIN = 0.8  # predictions vary ~20% call to call (measured): act only below 80% of the limit
PRIOR_US_PER_ENTRY = 0.12  # LREM scan cost before a call measured it (measured here: 0.09 for 500-byte records)


def max_stall_ms(target: Any, given: float | None) -> float:
    """The limit for a run: the option, else the target's `max_stall_ms` config key, else the default."""
    from jobctl.errors import UsageError

    value: Any = given if given is not None else getattr(target, "options", {}).get("max_stall_ms")
    if value is None:
        return DEFAULT_MAX_STALL_MS
    try:
        ms = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"max_stall_ms must be a number of milliseconds, not {value!r}") from None
    if not ms > 0:
        raise UsageError(f"max_stall_ms must be more than 0 (got {value!r})")
    return ms


class StallGuard:
    """Per list: predicts the removal scan of a batch and says whether it may run."""

    def __init__(self, max_ms: float, length: int) -> None:
        self.max_us = max_ms * 1000.0
        self.budget_us = self.max_us * MARGIN
        # The batch's own work: what the window sizer aims at (window.TARGET_US, at most half the
        # budget; walk.py hands it this value); what is left is what a scan may take.
        self.batch_us = min(TARGET_US, self.budget_us / 2)
        self.scan_budget_us = self.budget_us - self.batch_us
        self.length = length  # the list's length now (from the last call, or simulated in a dry run)
        self.us_per_entry = PRIOR_US_PER_ENTRY
        self._recent: list[float] = []  # the last few measured costs per entry (their median is used)

    @staticmethod
    def distance(lo: int, hi: int, n: int, length: int) -> int:
        """Entries the script's LREM will pass for a batch lo..hi of n entries (0: an LTRIM)."""
        if n == hi - lo + 1 and (lo == 0 or hi >= length - 1):
            return 0
        return min(hi + 1, max(length - lo, 0))

    def predict_us(self, lo: int, hi: int, n: int) -> float:
        """The removal scan of a batch (0 for an LTRIM)."""
        return self.distance(lo, hi, n, self.length) * self.us_per_entry

    def allows(self, lo: int, hi: int, n: int) -> bool:
        return self.predict_us(lo, hi, n) <= self.scan_budget_us

    def reason(self, lo: int, hi: int, n: int) -> str:
        d = self.distance(lo, hi, n, self.length)
        total = (self.predict_us(lo, hi, n) + self.batch_us) / 1000
        return (f"{d:,} entries from the nearer end of a {self.length:,}-entry list: removing it would block "
                f"Redis ~{total:.0f} ms in one call, over --max-stall-ms {self.max_us / 1000:g}; rerun with a "
                "higher --max-stall-ms (or at a quiet hour) to finish")

    def learn(self, scanned: int, removal_us: int, length: int) -> None:
        """After a call: the list's new length and, when its LREM scanned far enough to time it,
        the cost per entry: the median of the last five measurements (the script times itself
        with the server's clock, so a call during which the machine was busy elsewhere reads slow;
        one such reading must not close the gate, nor one fast reading open it)."""
        self.length = length
        if scanned >= 5000 and removal_us > 0:
            self._recent.append(removal_us / scanned)
            del self._recent[:-5]
            self.us_per_entry = statistics.median(self._recent)

    def simulate(self, removed: int) -> None:
        """Dry run: the batch would have been removed."""
        self.length = max(self.length - removed, 0)
