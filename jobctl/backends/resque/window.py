"""How many failure entries one requeue/discard script call takes: sized by the server's own clock.

Each call blocks Redis while it runs, so the walk keeps it short: the script measures its own run
time inside Redis (a busy client machine does not skew it) and the next window is sized from that.
The per-entry work scales with the window; a removal scan deep inside a long list does not (it
costs its distance from the list's end whatever the batch), so when the scan alone is over the
target the window grows instead — fewer scans for the same entries — as long as the batch's own
work, doubled, stays within the target. With a stall limit (stall.py) the target is at most half
of it, leaving the other half for a scan.
"""

from __future__ import annotations

TARGET_US = 3000  # aim for ~3 ms of server time per script call (1.5-6 ms band)
MIN_WINDOW, MAX_WINDOW = 50, 2000


class WindowSizer:
    def __init__(self, window: int = 250, target_us: float = TARGET_US) -> None:
        self.window = window
        self.target_us = int(target_us)

    def measured(self, server_us: int, removal_us: int, size: int) -> None:
        """A call's server time came back. `size` = rows of the window its batch came from: the
        next window is already read (and sized) by then, so the new size is set from the measured
        one, not from `self.window` (which would double twice on one measurement)."""
        target = self.target_us
        per_batch = server_us - removal_us
        if per_batch > target * 2 and size > MIN_WINDOW:
            self.window = max(MIN_WINDOW, size // 2)
        elif removal_us > target and per_batch * 2 <= target:  # doubled, the batch work stays in budget
            self.window = min(MAX_WINDOW, size * 2)
        elif server_us < target // 2 and size < MAX_WINDOW:
            self.window = min(MAX_WINDOW, size * 2)
        elif size >= MIN_WINDOW:
            self.window = size
