"""The header strip of meters: target, backend, server version, pending, processed/s and failed/s
with sparklines, workers busy / idle / stale, failures stored, read-only / paused / disconnected.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from jobctl.safe import visible
from jobctl.tui.refresh import Snapshot
from jobctl.tui.sampling import sparkline
from jobctl.tui.text import count, rate

SPARK = 10


@dataclass(slots=True)
class MeterContext:
    """What the header shows that does not come from a tick."""

    target: str  # label, URL already masked
    backend: str
    read_only: bool
    interval: float
    paused: bool = False


def worker_counts(snap: Snapshot) -> tuple[int, int, int]:
    busy = sum(1 for w in snap.workers if w.state == "working")
    stale = sum(1 for w in snap.workers if w.state == "stale")
    return busy, len(snap.workers) - busy - stale, stale


def render_meters(snap: Snapshot | None, ctx: MeterContext) -> Text:
    t = Text(no_wrap=True, end="")
    t.append(" jobctl top ", style="bold reverse")
    t.append(f"  {visible(ctx.target, max_len=80)}", style="bold")
    t.append(f"  {ctx.backend}")
    if snap is not None and snap.server_version:
        t.append(f"  server {visible(snap.server_version, max_len=40)}", style="dim")
    t.append(f"  every {ctx.interval:g}s", style="dim")
    if ctx.read_only:
        t.append("  ")
        t.append(" READ-ONLY ", style="bold reverse yellow")
    if ctx.paused:
        t.append("  ")
        t.append(" PAUSED ", style="bold reverse")
    if snap is not None and snap.seq:
        t.append(f"  updated {snap.taken_at:%H:%M:%S}Z ({snap.duration_s * 1000:.0f} ms)", style="dim")
    t.append("\n")
    if snap is None or snap.stats is None:
        t.append(" connecting…" if snap is None or snap.error is None else " no data yet", style="dim")
    else:
        st = snap.stats
        t.append(" pending ", style="dim")
        t.append(count(snap.pending), style="bold")
        t.append("   processed/s ", style="dim")
        t.append(rate(snap.processed_rate) if st.processed is not None else "n/a", style="bold")
        t.append(" " + sparkline(snap.processed_history, SPARK), style="green")
        t.append("   failed/s ", style="dim")
        t.append(rate(snap.failed_rate), style="bold red" if snap.failed_rate else "bold")
        t.append(" " + sparkline(snap.failed_history, SPARK), style="red")
        busy, idle, stale = worker_counts(snap)
        t.append("   workers ", style="dim")
        t.append(f"{busy} busy", style="green" if busy else "")
        t.append(f" · {idle} idle", style="dim")
        t.append(f" · {stale} stale", style="red" if stale else "dim")
        t.append("   failures ", style="dim")
        t.append(count(snap.failures_total, capped=snap.failures_capped and snap.failures_total is None),
                 style="bold red" if snap.failures_total else "bold")
    t.append("\n")
    if snap is not None and snap.error:
        t.append(" ⚠ ", style="bold red")
        head = "disconnected, retrying…" if snap.disconnected else "refresh failed, retrying…"
        t.append(head, style="bold red")
        t.append(f" ({visible(snap.error, max_len=160)})", style="red")
    return t


class Meters(Static):
    DEFAULT_CSS = """
    Meters { height: 3; padding: 0 0; }
    """

    def show(self, snap: Snapshot | None, ctx: MeterContext) -> None:
        self.update(render_meters(snap, ctx))
