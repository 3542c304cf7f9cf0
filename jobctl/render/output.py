"""One rendering layer for every listing command: table | json | jsonl | csv.

* table: Rich, every cell built as plain `Text` (markup is never interpreted) from
  `safe.visible()` (control characters shown escaped). Colour honours NO_COLOR and is off when
  stdout is not a terminal.
* json: one array; jsonl: one object per line (streamed). Schema = the model's `to_dict()`.
  Control, bidi and zero-width characters are emitted as `\\uXXXX` escapes, so the bytes on
  stdout never carry a raw escape sequence.
* csv: every field of `to_dict()`, nested values JSON-encoded, text made `visible()`.
"""

from __future__ import annotations

import csv
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import orjson

from jobctl.safe import visible

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# Rich is imported where a table is drawn, not here: json/jsonl/csv output (and a `requeue -o json`
# run) never load it, which keeps a short command's start-up shorter.

FORMATS = ("table", "json", "jsonl", "csv")

_JSON_UNSAFE = re.compile(  # + lone surrogates (only the stdlib fallback emits them; \udXXX is valid JSON)
    "[\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u206a-\u206f\ufeff\u2028\u2029\u061c\u180e\ufff9-\ufffb"
    "\ud800-\udfff]"
)


@dataclass(slots=True)
class Column:
    key: str
    header: str
    fmt: Callable[[Any], str] | None = None  # value -> display text (default: str)
    justify: str = "left"
    max_width: int | None = None
    style: str | None = None
    no_wrap: bool = False


def make_console(*, stderr: bool = False, file: IO[str] | None = None) -> Console:
    from rich.console import Console

    stream = file or (sys.stderr if stderr else sys.stdout)
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    width = None
    if not is_tty:
        width = int(os.environ.get("COLUMNS", "0") or 0) or 200
    return Console(
        file=stream,
        no_color=bool(os.environ.get("NO_COLOR")) or not is_tty,
        force_terminal=None,
        width=width,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )


def to_record(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    return obj.to_dict()


def json_dumps(obj: Any, *, pretty: bool = False) -> str:
    opts = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
    if pretty:
        opts |= orjson.OPT_INDENT_2
    try:
        raw = orjson.dumps(obj, default=_default, option=opts).decode("utf-8")
    except TypeError:  # ints beyond 64 bits, etc.: fall back to the stdlib encoder
        import json

        raw = json.dumps(_finite(obj), default=_default, ensure_ascii=False, indent=2 if pretty else None)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", raw)


def _finite(o: Any) -> Any:
    """NaN/Infinity -> None, as orjson writes them (the stdlib would emit the non-JSON `Infinity`)."""
    if isinstance(o, float):
        return o if o == o and o not in (float("inf"), float("-inf")) else None
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _default(o: Any) -> Any:
    if isinstance(o, bytes):
        return o.decode("utf-8", "backslashreplace")
    if isinstance(o, (set, frozenset, tuple)):
        return list(o)
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    return repr(o)


def cell(value: Any, fmt: Callable[[Any], str] | None = None, *, max_len: int | None = 500) -> Text:
    from rich.text import Text

    if value is None:
        return Text("-", style="dim")
    if fmt is not None:
        s = fmt(value)
    elif isinstance(value, (list, dict)):
        s = json_dumps(value)
    else:
        s = str(value)
    return Text(visible(s, max_len=max_len))


def emit(
    records: Iterable[Any],
    columns: list[Column],
    fmt: str = "table",
    *,
    title: str | None = None,
    footer: dict[str, Any] | None = None,
    empty_message: str | None = None,
    out: IO[str] | None = None,
    row_style: Callable[[dict[str, Any]], str | None] | None = None,
) -> int:
    """Render records; returns how many were written. `footer` is a totals row (table only)."""
    stream = out or sys.stdout
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    n = 0
    if fmt == "jsonl":
        for r in records:
            stream.write(json_dumps(to_record(r)) + "\n")
            n += 1
        stream.flush()
        return n
    if fmt == "json":
        stream.write("[")
        for r in records:
            stream.write(("\n" if n == 0 else ",\n") + json_dumps(to_record(r)))
            n += 1
        stream.write("\n]\n" if n else "]\n")
        stream.flush()
        return n
    if fmt == "csv":
        writer: Any = None
        for r in records:
            d = to_record(r)
            if writer is None:
                writer = csv.DictWriter(stream, fieldnames=list(d.keys()), extrasaction="ignore")
                writer.writeheader()
            writer.writerow({k: _csv_value(v) for k, v in d.items()})
            n += 1
        if writer is None:
            csv.writer(stream).writerow([c.key for c in columns])
        stream.flush()
        return n
    from rich.table import Table
    from rich.text import Text

    console = make_console(file=out) if out is not None else make_console()
    table = Table(title=visible(title) if title else None, header_style="bold", show_lines=False,
                  pad_edge=False, box=None if not console.is_terminal else _box())
    for c in columns:
        table.add_column(c.header, justify=c.justify, max_width=c.max_width, style=c.style,  # type: ignore[arg-type]
                         no_wrap=c.no_wrap, overflow="fold")
    for r in records:
        d = to_record(r)
        table.add_row(*(cell(d.get(c.key), c.fmt) for c in columns),
                      style=row_style(d) if row_style else None)
        n += 1
    if footer:
        table.add_section()
        table.add_row(*(cell(footer.get(c.key), c.fmt) if c.key in footer else Text("") for c in columns),
                      style="bold")
    if n == 0 and empty_message:
        console.print(Text(empty_message, style="dim"))
        return 0
    console.print(table)
    return n


def _box() -> Any:
    from rich import box

    return box.SIMPLE_HEAD


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, (list, dict)):
        return visible(json_dumps(v))
    if isinstance(v, str):
        return visible(v)
    return v


def emit_one(record: Any, fmt: str = "table", *, out: IO[str] | None = None) -> None:
    """A single object (ping, stats, show): json = the object itself; table = key/value rows."""
    stream = out or sys.stdout
    d = to_record(record)
    if fmt in ("json", "jsonl"):
        stream.write(json_dumps(d, pretty=fmt == "json") + "\n")
        return
    if fmt == "csv":
        emit([d], [], "csv", out=out)
        return
    from rich.table import Table
    from rich.text import Text

    console = make_console(file=out) if out is not None else make_console()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for k, v in d.items():
        table.add_row(Text(k), cell(v, max_len=2000))
    console.print(table)
