"""`--trace`: every command/statement jobctl sends, with its duration, on stderr.

Backends wrap their calls with `traced(...)`; it costs one attribute check when tracing is off.
Arguments are shown through `jobctl.safe.visible` and truncated; URLs are masked.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from jobctl.safe import mask_secrets_in, visible


class Tracer:
    def __init__(self) -> None:
        self.enabled = False
        self.stream: TextIO = sys.stderr
        self.count = 0  # commands sent while enabled (tests and benches read it)

    def enable(self, stream: TextIO | None = None) -> None:
        self.enabled = True
        if stream is not None:
            self.stream = stream

    def disable(self) -> None:
        self.enabled = False

    def emit(self, kind: str, text: str, seconds: float, note: str = "") -> None:
        self.count += 1
        shown = visible(mask_secrets_in(text, []), max_len=300)
        extra = f" ({note})" if note else ""
        print(f"[{kind} {seconds * 1000:8.2f} ms] {shown}{extra}", file=self.stream, flush=True)


TRACER = Tracer()


@contextmanager
def traced(kind: str, text: str) -> Iterator[None]:
    if not TRACER.enabled:
        yield
        return
    t0 = time.perf_counter()
    try:
        yield
    finally:
        TRACER.emit(kind, text, time.perf_counter() - t0)
