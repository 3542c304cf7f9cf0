"""The dashboard: meters on top, the queue table, workers and failure groups below.

`1` `2` `3` focus and maximise a panel (the same key again, or `0`, restores all three); tab moves
between panels. Enter on a queue opens its jobs, on a failure group its failures.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer

from jobctl.tui.failgroups import FailureRow
from jobctl.tui.keymap import DASHBOARD_KEYS
from jobctl.tui.refresh import Snapshot
from jobctl.tui.screens.table_actions import TableActions
from jobctl.tui.widgets.failure_tables import FailureGroupsTable
from jobctl.tui.widgets.filter_bar import FilterBar
from jobctl.tui.widgets.meters import Meters
from jobctl.tui.widgets.queue_table import QueueTable
from jobctl.tui.widgets.workers_table import WorkersTable

PANELS = {"queues": "#queues", "workers": "#workers", "failures": "#failures"}


class MainScreen(TableActions):
    BINDINGS: ClassVar[list[BindingType]] = [*DASHBOARD_KEYS]

    def compose(self) -> ComposeResult:
        yield Meters(id="meters")
        with Vertical(id="panels"):
            yield QueueTable(id="queues")
            with Horizontal(id="lower"):
                yield WorkersTable(id="workers")
                yield FailureGroupsTable(id="failures")
        yield FilterBar(id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(QueueTable).focus()
        self.show_meters()
        if self.top.snapshot is not None:
            self.show_snapshot(self.top.snapshot)

    # ------------------------------------------------------------------ data
    def show_meters(self) -> None:
        self.query_one(Meters).show(self.top.snapshot, self.top.meter_context())

    def show_snapshot(self, snap: Snapshot) -> None:
        now = snap.taken_at
        self.show_meters()
        self.query_one(QueueTable).set_rows(snap.queues, now)
        self.query_one(WorkersTable).set_rows(snap.workers, now)
        groups = self.query_one(FailureGroupsTable)
        if snap.failures_total is not None and snap.failures_scanned < snap.failures_total:
            groups.note = f"newest {snap.failures_scanned:,} of {snap.failures_total:,}"
        else:
            groups.note = ""
        groups.set_rows(snap.groups, now)

    # ------------------------------------------------------------------ panels
    def action_panel(self, name: str) -> None:
        if name == "all":
            self.minimize()
            return
        table = self.query_one(PANELS[name], DataTable)
        if self.maximized is table:
            self.minimize()
            return
        table.focus()
        self.maximize(table, container=False)

    def action_back(self) -> None:
        """Esc on the dashboard: restore panels, then clear the focused table's filter."""
        if self.maximized is not None:
            self.minimize()
            return
        table = self.focused_table()
        if table is not None and table.row_filter is not None:
            table.set_filter("")

    # ------------------------------------------------------------------ drill-down
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        if isinstance(event.data_table, QueueTable):
            self.top.open_queue(key)
        elif isinstance(event.data_table, FailureGroupsTable):
            self.top.open_group(key)
        elif isinstance(event.data_table, WorkersTable):
            self.top.open_worker(key)

    def failure_selection(self) -> tuple[list[FailureRow], str]:
        """Tagged groups, else the filtered groups, else the cursor group if the panel has focus."""
        table = self.query_one(FailureGroupsTable)
        if not table.tagged and table.row_filter is None and self.focused is not table:
            return [], "none"
        groups, how = table.selection()
        return [row for g in groups for row in g.rows], how
