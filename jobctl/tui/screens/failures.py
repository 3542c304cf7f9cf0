"""The failures of one group (class x exception): taggable, filterable; Enter opens a failure."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import DataTable, Footer, Static

from jobctl.safe import visible
from jobctl.tui.failgroups import FailureGroup, FailureRow
from jobctl.tui.keymap import FAILURE_LIST_KEYS
from jobctl.tui.refresh import Snapshot
from jobctl.tui.screens.table_actions import TableActions
from jobctl.tui.widgets.failure_tables import FailureRowsTable
from jobctl.tui.widgets.filter_bar import FilterBar
from jobctl.tui.widgets.meters import Meters


class FailureListScreen(TableActions):
    BINDINGS: ClassVar[list[BindingType]] = [*FAILURE_LIST_KEYS]

    def __init__(self, group: FailureGroup) -> None:
        super().__init__()
        self.group_key = group.key
        self.group = group

    def compose(self) -> ComposeResult:
        yield Meters(id="meters")
        yield Static(id="crumbs")
        yield FailureRowsTable(id="failure-rows")
        yield FilterBar(id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(FailureRowsTable).focus()
        self._show(self.group, self.top.snapshot)

    def show_snapshot(self, snap: Snapshot) -> None:
        for g in snap.groups:
            if g.key == self.group_key:
                self.group = g
                break
        else:
            self.group = FailureGroup(job_class=self.group.job_class, exception=self.group.exception)
        self._show(self.group, snap)

    def _show(self, group: FailureGroup, snap: Snapshot | None) -> None:
        self.query_one(Meters).show(snap, self.top.meter_context())
        crumbs = Text(" failures › ", style="dim", no_wrap=True, end="")
        crumbs.append(visible(group.job_class, max_len=80), style="bold")
        crumbs.append(" × ")
        crumbs.append(visible(group.exception, max_len=60), style="bold red")
        crumbs.append(f"   {group.count:,} failure(s)", style="dim")
        self.query_one("#crumbs", Static).update(crumbs)
        self.query_one(FailureRowsTable).set_rows(group.rows, snap.taken_at if snap else self.top.clock())

    def action_back(self) -> None:
        self.dismiss()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.top.open_failure(str(event.row_key.value))

    def failure_selection(self) -> tuple[list[FailureRow], str]:
        return self.query_one(FailureRowsTable).selection()
