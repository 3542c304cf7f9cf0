"""Prometheus text exposition (version 0.0.4), hand-written, plus atomic textfile writes.

Why hand-written: the format is tiny, and this keeps prometheus_client a test-only dependency
(the tests parse our output with its parser). Rules followed:

* label values escape `\\`, `"` and newline; HELP text escapes `\\` and newline;
* no client-side timestamps (node_exporter rejects the whole file: prometheus/node_exporter#769);
* one HELP/TYPE per family, samples grouped under it, the file ends with a newline;
* written to a temp file in the same directory (not ending in .prom), fsync'd, then renamed, so
  the textfile collector never reads a half-written file.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


@dataclass(slots=True)
class MetricFamily:
    name: str
    type: str  # gauge | counter | untyped
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float | int | None, **labels: str) -> None:
        if value is None:
            return
        self.samples.append((labels, float(value)))


def render(families: list[MetricFamily]) -> str:
    """Exposition text for the families (empty families are omitted)."""
    out: list[str] = []
    seen: set[str] = set()
    for fam in families:
        if not _NAME.fullmatch(fam.name):
            raise ValueError(f"invalid metric name {fam.name!r}")
        if fam.name in seen:
            raise ValueError(f"metric family {fam.name!r} rendered twice")
        seen.add(fam.name)
        if not fam.samples:
            continue
        out.append(f"# HELP {fam.name} {escape_help(fam.help)}")
        out.append(f"# TYPE {fam.name} {fam.type}")
        for labels, value in fam.samples:
            for k in labels:
                if not _LABEL.fullmatch(k) or k.startswith("__"):
                    raise ValueError(f"invalid label name {k!r}")
            lbl = ",".join(f'{k}="{escape_label_value(str(v))}"' for k, v in labels.items())
            out.append(f"{fam.name}{{{lbl}}} {format_value(value)}" if lbl else f"{fam.name} {format_value(value)}")
    return "\n".join(out) + "\n" if out else ""


def write_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write `text` to `path` via a same-directory temp file + rename (atomic on POSIX)."""
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
