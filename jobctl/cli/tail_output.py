"""How `jobctl tail` prints: one line per event (pretty, coloured per kind), JSON lines, the raw
MONITOR lines, and the summary at the end.

Every string that came from a queue goes through `safe.visible()` (pretty, raw, summary) or
`render.output.json_dumps` (jsonl). Colour comes from `rich.text.Text` styles (no markup is ever
parsed), and only when stdout is a terminal without NO_COLOR; otherwise lines are written plainly,
which is also much faster for a busy stream.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from jobctl.model import Event
from jobctl.render.fields import short_args
from jobctl.render.output import json_dumps, make_console
from jobctl.safe import visible

KIND_STYLES: dict[str, str] = {
    "enqueue": "cyan", "reserve": "blue", "start": "magenta", "done": "green", "fail": "bold red",
    "requeue": "yellow", "remove": "red", "dequeue": "dark_orange", "retry": "yellow", "lock": "magenta",
    "unlock": "yellow", "worker-start": "green", "worker-stop": "dark_orange", "heartbeat": "dim",
    "poll": "dim", "scheduled": "bright_blue", "unscheduled": "bright_blue", "schedule": "bright_blue",
    "queue-removed": "red", "queue-cleared": "red", "pause": "bold yellow", "resume": "yellow",
    "bookkeeping": "dim", "read": "dim", "other": "white", "unparsed": "reverse red",
}


def _time(e: Event) -> str:
    return e.ts.strftime("%H:%M:%S.%f")


def event_parts(e: Event) -> list[tuple[str, str | None]]:
    """(text, style) pieces of one pretty line; texts are already `visible()`."""
    parts: list[tuple[str, str | None]] = [(_time(e) + " ", "dim"), (f"{e.kind:<13} ", KIND_STYLES.get(e.kind))]
    if e.kind == "unparsed":
        parts.append((visible(e.raw, max_len=300), None))
        return parts
    parts.append((f"{visible(e.queue or '-', max_len=24):<12} ", "bold"))
    if e.job_class:
        call = e.job_class + (f"({short_args(e.args)})" if e.args is not None and e.job_class != "?" else "")
        parts.append((visible(call, max_len=160) + " ", None))
    elif e.command and e.kind in ("other", "read", "bookkeeping"):
        parts.append((visible(e.command, max_len=40) + " ", None))
    if e.key and not e.job_class and e.kind in ("other", "read", "bookkeeping", "remove", "pause", "resume"):
        parts.append((visible(e.key, max_len=100) + " ", "dim"))
    if e.detail:
        parts.append(("· " + visible(e.detail.split("\n", 1)[0], max_len=140) + " ", "yellow" if e.kind == "fail" else "dim"))
    if e.worker:
        parts.append((f"worker {visible(e.worker, max_len=80)} ", "dim"))
    if e.client:
        parts.append((f"[{visible(e.client, max_len=80)}]", "dim"))
    return parts


class EventWriter:
    """Writes events as they come: `pretty`, `jsonl` or `raw` (the MONITOR line itself)."""

    def __init__(self, mode: str, out: IO[str] | None = None) -> None:
        self.mode = mode
        self.out = out or sys.stdout
        self.console = make_console(file=self.out) if mode == "pretty" else None
        self.color = bool(self.console is not None and self.console.is_terminal and not self.console.no_color)
        self._last_raw: str | None = None

    def write(self, e: Event) -> None:
        if self.mode == "jsonl":
            self.out.write(json_dumps(e.to_dict()) + "\n")
        elif self.mode == "raw":
            if e.raw is None or e.raw is self._last_raw:  # a variadic push: several events, one line
                return
            self._last_raw = e.raw
            self.out.write(visible(e.raw) + "\n")
        elif self.color and self.console is not None:
            from rich.text import Text

            text = Text()
            for piece, style in event_parts(e):
                text.append(piece, style=style)
            self.console.print(text, soft_wrap=True)
        else:
            self.out.write("".join(p for p, _ in event_parts(e)).rstrip() + "\n")
        self.out.flush()


def summary_lines(rep: dict[str, Any]) -> list[str]:
    """The end-of-tail summary as plain text lines (for stderr)."""
    span = rep["span_s"]
    kinds = ", ".join(f"{k} {v}" for k, v in rep["by_kind"].items()) or "none"
    read = f"{rep['lines']} lines read, {rep['unparsed']} unparsed, " if rep["lines"] is not None else ""
    lines = [f"--- tail summary: {read}{rep['events']} events shown over {span:.1f} s ({kinds})"]
    if rep["queues"]:
        lines.append(f"{'queue':<20} {'enqueue':>8} {'/s':>7} {'reserve':>8} {'/s':>7} {'start':>6} "
                     f"{'done':>6} {'fail':>6} {'/s':>7}")

        def rate(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f}"

        for q in rep["queues"]:
            lines.append(f"{visible(q['queue'], max_len=20):<20} {q['enqueue']:>8} {rate(q['enqueue_per_s']):>7} "
                         f"{q['reserve']:>8} {rate(q['reserve_per_s']):>7} {q['start']:>6} {q['done']:>6} "
                         f"{q['fail']:>6} {rate(q['fail_per_s']):>7}")
    if rep["top_classes"]:
        lines.append("top classes: " + ", ".join(f"{visible(c['class'], max_len=60)} {c['count']}"
                                                 for c in rep["top_classes"]))
    if rep["top_clients"]:
        lines.append("top clients: " + ", ".join(f"{visible(c['client'], max_len=60)} {c['count']}"
                                                 for c in rep["top_clients"]))
    return lines
