"""Run the real `jobctl` in a subprocess and judge what it did: time, peak RSS, the bytes printed.

`run_measured` starts `jobctl` through a tiny launcher that, at exit, copies the peak RSS of its
own address space (`VmHWM` in /proc/self/status) to a file. `os.wait4`'s `ru_maxrss` is the
fallback, but it is inflated: Linux carries the parent's high-water mark across fork+exec, so the
test process's own size would leak into it. `unsafe_bytes` lists the raw
terminal-control bytes and invisible/reordering characters found in output: none may appear,
whatever the queue held.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

# Raw bytes / characters that can act on a terminal or hide/reorder text when printed.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u2028\u2029\ufeff]"
)


# Runs `python -m jobctl` in-process and records VmHWM at exit (atexit also runs on sys.exit).
_LAUNCHER = (
    "import atexit, os, runpy, sys\n"
    "def _hwm():\n"
    "    with open('/proc/self/status') as f:\n"
    "        hwm = [ln for ln in f if ln.startswith('VmHWM:')]\n"
    "    with open(os.environ['JOBCTL_TEST_HWM_FILE'], 'w') as o:\n"
    "        o.write(hwm[0].split()[1] if hwm else '')\n"
    "atexit.register(_hwm)\n"
    "sys.argv = ['jobctl', *sys.argv[1:]]\n"
    "runpy.run_module('jobctl', run_name='__main__', alter_sys=True)\n"
)


@dataclass
class Measured:
    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float
    max_rss_mb: float

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def describe(self) -> str:
        return (f"jobctl {' '.join(self.args)!r}: rc={self.returncode} {self.seconds:.1f}s "
                f"{self.max_rss_mb:.0f}MB stderr={self.err[-600:]!r}")


def _drain(stream: object, sink: list[bytes]) -> None:
    while True:
        chunk = stream.read(65536)  # type: ignore[attr-defined]
        if not chunk:
            return
        sink.append(chunk)


def run_measured(*args: str, env: dict[str, str] | None = None, timeout: float = 60.0,
                 input: bytes | None = None) -> Measured:
    """`python -m jobctl ARGS` with stdout/stderr captured; killed (and reported) after `timeout`."""
    fd, hwm_file = tempfile.mkstemp(prefix="jobctl-hwm-")
    os.close(fd)
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {}), "JOBCTL_TEST_HWM_FILE": hwm_file}
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", _LAUNCHER, *args], stdin=subprocess.PIPE if input else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env)
    out: list[bytes] = []
    err: list[bytes] = []
    threads = [threading.Thread(target=_drain, args=(p.stdout, out), daemon=True),
               threading.Thread(target=_drain, args=(p.stderr, err), daemon=True)]
    for t in threads:
        t.start()
    if input and p.stdin is not None:
        p.stdin.write(input)
        p.stdin.close()
    status = None
    rusage = None
    killed = False
    while True:
        pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - t0 > timeout:
            os.kill(p.pid, signal.SIGKILL)
            killed = True
            _, status, rusage = os.wait4(p.pid, 0)
            break
        time.sleep(0.01)
    seconds = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting again
    for t in threads:
        t.join(10)
    for s in (p.stdout, p.stderr):
        if s is not None:
            s.close()
    try:
        with open(hwm_file) as f:
            kb = int(f.read().strip() or rusage.ru_maxrss)
    except (OSError, ValueError):
        kb = rusage.ru_maxrss
    finally:
        os.unlink(hwm_file)
    m = Measured(args=tuple(args), returncode=p.returncode, stdout=b"".join(out), stderr=b"".join(err),
                 seconds=seconds, max_rss_mb=kb / 1024)
    if killed:
        raise AssertionError(f"timed out after {timeout}s: {m.describe()}")
    return m


def unsafe_chars(data: bytes | str, *, allow_cr: bool = False) -> list[str]:
    """Raw control / bidi / zero-width characters in output, as repr strings (empty = safe)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    found = {m.group(0) for m in _UNSAFE.finditer(text)}
    if allow_cr:
        found.discard("\r")
    return sorted(repr(c) for c in found)


def assert_safe(m: Measured, *, allow_cr: bool = False) -> None:
    """Nothing printed (stdout or stderr) carries a raw escape / control / bidi character."""
    bad_out = unsafe_chars(m.stdout, allow_cr=allow_cr)
    bad_err = unsafe_chars(m.stderr)
    assert not bad_out and not bad_err, f"raw control characters {bad_out} / {bad_err} in {m.describe()}"
    assert b"\x1b" not in m.stdout and b"\x1b" not in m.stderr


def assert_bounded(m: Measured, *, seconds: float, rss_mb: float) -> None:
    assert m.seconds < seconds, f"took {m.seconds:.1f}s (bound {seconds}s): {m.describe()}"
    assert m.max_rss_mb < rss_mb, f"peak RSS {m.max_rss_mb:.0f} MB (bound {rss_mb} MB): {m.describe()}"


def no_traceback(m: Measured) -> None:
    assert "Traceback" not in m.err, m.describe()


def run_inprocess(*args: str, env: dict[str, str] | None = None) -> Measured:
    """`jobctl ARGS` inside this process (for loops over many entries: no interpreter start-up).

    stdout/stderr are strict UTF-8 byte streams like a real pipe, so an unencodable character
    fails the same way it would in a terminal. Peak RSS is not measured (0).
    """
    import contextlib
    import io

    from jobctl.cli.app import main

    saved = dict(os.environ)
    os.environ.update({"NO_COLOR": "1", "COLUMNS": "200", **(env or {})})
    out, err = io.BytesIO(), io.BytesIO()
    so = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
    se = io.TextIOWrapper(err, encoding="utf-8", errors="strict", write_through=True)
    t0 = time.monotonic()
    code = 0
    try:
        with contextlib.redirect_stdout(so), contextlib.redirect_stderr(se):
            try:
                main(list(args))
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    so.flush()
    se.flush()
    return Measured(args=tuple(args), returncode=code, stdout=out.getvalue(), stderr=err.getvalue(),
                    seconds=time.monotonic() - t0, max_rss_mb=0.0)
