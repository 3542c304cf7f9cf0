"""The ctrl+p command palette: every action by name, plus "open queue …" / "open failures …"
for what the last tick saw. Queue names are untrusted, so hits are built as plain Content (the
stock `Matcher.highlight` would parse them as markup).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from jobctl.safe import visible

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp

MAX_DYNAMIC = 2_000  # queue / group entries offered (a 1,000-queue Redis stays searchable)


def safe_highlight(matcher: Matcher, candidate: str) -> Content:
    content = Content(candidate)
    _score, offsets = matcher.fuzzy_search.match(matcher.query, candidate)
    for offset in offsets:
        if not candidate[offset].isspace():
            content = content.stylize("bold underline", offset, offset + 1)
    return content


class TopCommands(Provider):
    @property
    def top(self) -> TopApp:
        return self.app  # type: ignore[return-value]

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = self.top
        cmds: list[tuple[str, Callable[[], object], str]] = [
            ("Pause / resume refresh", app.action_toggle_pause, "p"),
            ("Refresh now", app.action_refresh_now, "ctrl+r"),
            ("Refresh faster", app.action_faster, "+"),
            ("Refresh slower", app.action_slower, "-"),
            ("Show queues panel", lambda: app.dashboard_action("panel('queues')"), "1"),
            ("Show workers panel", lambda: app.dashboard_action("panel('workers')"), "2"),
            ("Show failures panel", lambda: app.dashboard_action("panel('failures')"), "3"),
            ("Show all panels", lambda: app.dashboard_action("panel('all')"), "0"),
            ("Requeue selected failures", lambda: app.screen_action("requeue"), "r"),
            ("Discard selected failures", lambda: app.screen_action("discard"), "d"),
            ("Help: keys", app.action_help, "?"),
            ("Quit", app.action_quit, "q"),
        ]
        snap = app.snapshot
        if snap is not None:
            for row in snap.queues[:MAX_DYNAMIC]:
                name = row.queue.name
                cmds.append((f"Open queue {visible(name, max_len=80)}",
                             partial(app.open_queue, name), f"{row.queue.size:,} job(s)"))
            for g in snap.groups[:MAX_DYNAMIC]:
                label = f"Open failures {visible(g.job_class, max_len=60)} × {visible(g.exception, max_len=40)}"
                cmds.append((label, partial(app.open_group, g.key), f"{g.count:,} failure(s)"))
        return cmds

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands()[:12]:
            yield DiscoveryHit(Content(name), callback, text=name, help=help_text.replace("[", "\\["))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, safe_highlight(matcher, name), callback, text=name,
                          help=help_text.replace("[", "\\["))
