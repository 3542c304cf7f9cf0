"""A DataTable driven by a declarative column spec: sortable, regex-filterable, taggable.

Each panel (queues, workers, failure groups, failures of a group) is a subclass naming its columns
(dolphie's panel-spec idea). The table keeps the full row list; the visible rows are
`sort(filter(rows))`. A refresh tick that leaves the visible keys unchanged only rewrites cells whose
text changed, so 1,000 queues refreshing every second do not rebuild the table; when rows come or
go the table is rebuilt and the cursor stays on the same key.

Filter: a regex searched case-insensitively in each row's `match_text`; a leading `!` negates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual.widgets import DataTable

from jobctl.timeutil import utcnow
from jobctl.tui.text import guarded, plain

T = TypeVar("T")

TAG_MARK = "●"


@dataclass(frozen=True)
class ColumnSpec(Generic[T]):
    key: str
    label: str
    render: Callable[[T, datetime], Text]
    sort_key: Callable[[T], Any] | None = None
    descending: bool = False  # natural direction when sorting by this column
    width: int | None = None


@dataclass(frozen=True)
class RowFilter:
    pattern: str
    regex: re.Pattern[str]
    negate: bool

    @classmethod
    def parse(cls, text: str) -> RowFilter | None:
        """`/low|high` -> a filter, `!idle` -> negated, '' -> None. Raises re.error on a bad regex."""
        negate = text.startswith("!")
        body = text[1:] if negate else text
        if not body:
            return None
        return cls(pattern=text, regex=re.compile(body, re.IGNORECASE), negate=negate)

    def keeps(self, haystack: str) -> bool:
        return (self.regex.search(haystack) is None) == self.negate


class PanelTable(DataTable, Generic[T]):  # type: ignore[type-arg]
    """Subclasses set COLUMNS, TITLE and implement `key_of` and `match_text`."""

    COLUMNS: ClassVar[Sequence[ColumnSpec[Any]]] = ()
    TITLE: ClassVar[str] = ""
    TAGGABLE: ClassVar[bool] = False
    DEFAULT_SORT: ClassVar[int | None] = None  # index into COLUMNS; None = backend order

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._rows: list[T] = []
        self._by_key: dict[str, T] = {}
        self._visible_keys: list[str] = []
        self._cells: dict[str, tuple[tuple[str, str], ...]] = {}
        self._widths: dict[str, int] = {}  # widest cell per column since the last rebuild
        self._cell_cache: dict[str, tuple[Any, list[Text]]] = {}
        self._shown: dict[str, list[Text]] = {}  # the cell lists on screen, by row key
        self.row_filter: RowFilter | None = None
        self.sort_index: int | None = self.DEFAULT_SORT
        self.sort_reverse = False
        self.tagged: set[str] = set()
        self.now: datetime = utcnow()
        self.note = ""  # extra text for the border title (e.g. "scan capped")

    # ------------------------------------------------------------------ subclass hooks
    def key_of(self, row: T) -> str:
        raise NotImplementedError  # pragma: no cover - every panel defines it

    def match_text(self, row: T) -> str:
        raise NotImplementedError  # pragma: no cover - every panel defines it

    def render_key(self, row: T) -> Hashable | None:
        """Everything the row's cells depend on, or None (always re-render). Rows whose key did
        not change since the last tick reuse their cells: 1,000 mostly idle queues cost little."""
        return None

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        if self.TAGGABLE:
            self.add_column(plain(" "), key="_tag", width=1)
        for spec in self.COLUMNS:
            self.add_column(plain(spec.label), key=spec.key, width=spec.width)
        self._update_title()

    # ------------------------------------------------------------------ data
    def set_rows(self, rows: Sequence[T], now: datetime) -> None:
        self._rows = list(rows)
        self._by_key = {self.key_of(r): r for r in self._rows}
        self.tagged &= set(self._by_key)
        self.now = now
        self._sync()

    @property
    def rows_all(self) -> list[T]:
        return self._rows

    def visible_rows(self) -> list[T]:
        return [self._by_key[k] for k in self._visible_keys]

    def item(self, key: str) -> T | None:
        return self._by_key.get(key)

    def cursor_item(self) -> T | None:
        if not self._visible_keys or not (0 <= self.cursor_row < len(self._visible_keys)):
            return None
        return self._by_key.get(self._visible_keys[self.cursor_row])

    def selection(self) -> tuple[list[T], str]:
        """What r/d act on: the tagged rows, else the filtered rows, else the cursor row."""
        if self.tagged:
            return [r for r in self._rows if self.key_of(r) in self.tagged], "tagged"
        if self.row_filter is not None:
            return self.visible_rows(), "filtered"
        cur = self.cursor_item()
        return ([cur], "selected") if cur is not None else ([], "selected")

    # ------------------------------------------------------------------ user actions
    def set_filter(self, text: str) -> str | None:
        """Apply a regex filter; returns an error message (and keeps the old filter) if invalid."""
        try:
            self.row_filter = RowFilter.parse(text)
        except re.error as e:
            return f"invalid regex: {e}"
        self._sync()
        return None

    def cycle_sort(self) -> str:
        sortable = [i for i, c in enumerate(self.COLUMNS) if c.sort_key is not None]
        if not sortable:
            return "this panel cannot be sorted"
        if self.sort_index not in sortable:
            self.sort_index = sortable[0]
        else:
            self.sort_index = sortable[(sortable.index(self.sort_index) + 1) % len(sortable)]
        self.sort_reverse = False
        self._sync()
        return f"sorted by {self.COLUMNS[self.sort_index].label}"

    def reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._sync()

    def sort_by_key(self, column_key: str) -> None:
        for i, c in enumerate(self.COLUMNS):
            if c.key == column_key and c.sort_key is not None:
                if self.sort_index == i:
                    self.sort_reverse = not self.sort_reverse
                else:
                    self.sort_index, self.sort_reverse = i, False
                self._sync()
                return

    def toggle_tag(self) -> None:
        cur = self.cursor_item()
        if not self.TAGGABLE or cur is None:
            return
        k = self.key_of(cur)
        self.tagged.symmetric_difference_update({k})
        self._sync()
        self.move_cursor(row=min(self.cursor_row + 1, len(self._visible_keys) - 1))

    def untag_all(self) -> None:
        self.tagged.clear()
        self._sync()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by_key(str(event.column_key.value))

    # ------------------------------------------------------------------ rendering
    def _ordered(self) -> list[T]:
        rows = self._rows
        if self.row_filter is not None:
            f = self.row_filter
            rows = [r for r in rows if f.keeps(guarded_text(self.match_text, r))]
        if self.sort_index is None:
            return list(rows)
        spec = self.COLUMNS[self.sort_index]
        key = spec.sort_key
        assert key is not None
        present = [r for r in rows if key(r) is not None]
        missing = [r for r in rows if key(r) is None]
        present.sort(key=key, reverse=spec.descending != self.sort_reverse)
        return present + missing

    def _render_row(self, row: T) -> list[Text]:
        k = self.key_of(row)
        tagged = k in self.tagged
        rkey = guarded_key(self.render_key, row)
        if rkey is not None:
            cached = self._cell_cache.get(k)
            if cached is not None and cached[0] == (rkey, tagged):
                return cached[1]
        cells = [guarded(partial(spec.render, row, self.now)) for spec in self.COLUMNS]
        if self.TAGGABLE:
            cells.insert(0, plain(TAG_MARK if tagged else " ", "bold yellow"))
        if rkey is not None:
            self._cell_cache[k] = ((rkey, tagged), cells)
        return cells

    def _sync(self) -> None:
        if not self.is_mounted:
            return
        ordered = self._ordered()
        keys = [self.key_of(r) for r in ordered]
        rendered = {k: self._render_row(r) for k, r in zip(keys, ordered, strict=True)}
        if keys != self._visible_keys or not self._update_in_place(keys, rendered):
            self._rebuild(keys, rendered)
        self._update_title()

    def _update_in_place(self, keys: list[str], rendered: dict[str, list[Text]]) -> bool:
        """Rewrite only the cells whose text changed; False when a value outgrew its column.

        Cells are updated without `update_width` on purpose: DataTable re-measures the whole
        column for every such cell, which is quadratic (minutes for 1,000 queues). Widths are
        tracked here instead, and a value that no longer fits triggers one rebuild.
        """
        col_keys = self._column_keys()
        changes: list[tuple[str, int, Text]] = []
        for k in keys:
            if rendered[k] is self._shown.get(k):
                continue  # the very cells already on screen (render cache hit)
            new = tuple((t.plain, str(t.style)) for t in rendered[k])
            old = self._cells.get(k)
            if new == old:
                continue
            for i, cell in enumerate(rendered[k]):
                if old is None or old[i] != new[i]:
                    if cell.cell_len > self._widths.get(col_keys[i], 0):
                        return False
                    changes.append((k, i, cell))
            self._cells[k] = new
        for k, i, cell in changes:
            self.update_cell(k, col_keys[i], cell)
        self._shown = rendered
        return True

    def _rebuild(self, keys: list[str], rendered: dict[str, list[Text]]) -> None:
        cursor_key = self._visible_keys[self.cursor_row] if (
            self._visible_keys and 0 <= self.cursor_row < len(self._visible_keys)) else None
        col_keys = self._column_keys()
        self.clear()
        widths = {ck: len(str(col.label)) for ck, col in zip(col_keys, self.columns.values(), strict=False)}
        for k in keys:
            cells = rendered[k]
            for ck, cell in zip(col_keys, cells, strict=True):
                if cell.cell_len > widths.get(ck, 0):
                    widths[ck] = cell.cell_len
            self.add_row(*cells, key=k)
        for ck, column in zip(col_keys, self.ordered_columns, strict=False):
            # Measured here, not on DataTable's next idle: a frame drawn before that idle would
            # otherwise cut every cell to its label's width (seen in a real terminal at start).
            if column.auto_width:
                column.content_width = max(column.content_width, widths.get(ck, 0))
        self._widths = widths
        self._cell_cache = {k: v for k, v in self._cell_cache.items() if k in rendered}
        self._shown = rendered
        self._visible_keys = keys
        self._cells = {k: tuple((t.plain, str(t.style)) for t in rendered[k]) for k in keys}
        if cursor_key in rendered:
            self.move_cursor(row=keys.index(cursor_key), animate=False)

    def _column_keys(self) -> list[str]:
        return (["_tag"] if self.TAGGABLE else []) + [c.key for c in self.COLUMNS]

    def _update_title(self) -> None:
        total = len(self._rows)
        shown = len(self._visible_keys)
        parts = [self.TITLE, f"{shown:,}" if shown == total else f"{shown:,}/{total:,}"]
        if self.row_filter is not None:
            parts.append(f"/{self.row_filter.pattern}/")
        if self.sort_index is not None:
            arrow = "▲" if (self.COLUMNS[self.sort_index].descending == self.sort_reverse) else "▼"
            parts.append(f"{arrow}{self.COLUMNS[self.sort_index].label}")
        if self.tagged:
            parts.append(f"{len(self.tagged)} tagged")
        if self.note:
            parts.append(self.note)
        self.border_title = Text("  ".join(parts))  # Text: a filter like `[a-z]` is not markup


def guarded_key(fn: Callable[[Any], Hashable | None], row: Any) -> Hashable | None:
    try:
        return fn(row)
    except Exception:  # noqa: BLE001 - no cache for an odd row; it is simply re-rendered
        return None


def guarded_text(fn: Callable[[Any], str], row: Any) -> str:
    try:
        return fn(row)
    except Exception:  # noqa: BLE001 - a bad entry simply does not match a filter
        return ""
