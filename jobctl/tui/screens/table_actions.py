"""Actions shared by screens made of PanelTables: filter, sort, tag, requeue / discard.

A screen mixes this in and implements `failure_selection()` (which failures r / d act on).
The filter applies to the table that had focus when `/` was pressed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.screen import Screen

from jobctl.tui.failgroups import FailureRow
from jobctl.tui.widgets.filter_bar import FilterBar
from jobctl.tui.widgets.panel_table import PanelTable

if TYPE_CHECKING:
    from jobctl.tui.app import TopApp


class TableActions(Screen[None]):
    """Base for the dashboard and the failure-list screen."""

    _filter_target: PanelTable[Any] | None = None
    _filter_before = ""

    @property
    def top(self) -> TopApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------ hooks
    def focused_table(self) -> PanelTable[Any] | None:
        f = self.focused
        if isinstance(f, PanelTable):
            return f
        tables = list(self.query(PanelTable))
        return tables[0] if tables else None

    def failure_selection(self) -> tuple[list[FailureRow], str]:
        raise NotImplementedError  # pragma: no cover - each screen defines what r/d select

    # ------------------------------------------------------------------ filter
    def action_filter(self) -> None:
        table = self.focused_table()
        if table is None:
            return
        self._filter_target = table
        self._filter_before = table.row_filter.pattern if table.row_filter else ""
        self.query_one(FilterBar).open(self._filter_before)

    def on_filter_bar_updated(self, event: FilterBar.Updated) -> None:
        table = self._filter_target
        if table is None:
            return
        error = table.set_filter(event.text)
        bar = self.query_one(FilterBar)
        bar.border_title = error or None
        if event.final:
            if error:  # Enter on an invalid regex: back to the filter in effect before the prompt
                table.set_filter(self._filter_before)
                self.notify(error, severity="error", markup=False)
            table.focus()

    # ------------------------------------------------------------------ sort / tag
    def action_sort(self) -> None:
        table = self.focused_table()
        if table is not None:
            self.notify(table.cycle_sort(), timeout=2, markup=False)

    def action_sort_reverse(self) -> None:
        table = self.focused_table()
        if table is not None:
            table.reverse_sort()

    def action_tag(self) -> None:
        table = self.focused_table()
        if table is not None and table.TAGGABLE:
            table.toggle_tag()

    def action_untag_all(self) -> None:
        for table in self.query(PanelTable):
            table.untag_all()

    # ------------------------------------------------------------------ mutations
    def action_requeue(self) -> None:
        rows, how = self.failure_selection()
        self.top.request_mutation("requeue", rows, how)

    def action_discard(self) -> None:
        rows, how = self.failure_selection()
        self.top.request_mutation("discard", rows, how)
