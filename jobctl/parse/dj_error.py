"""Delayed Job `last_error` -> exception class (when knowable), message and backtrace.

What Delayed Job stores (delayed_job 4.1.9 `Worker#handle_failed_job` / `Backend::Base#error=`):

    last_error = "#{error.message}\\n#{error.backtrace.join("\\n")}"

So the column holds the message (which may itself span several lines: Ruby 3.1's error_highlight
snippets, hand-written multi-line messages, non-ASCII text), a newline, then one backtrace frame
per line (``/path/file.rb:54:in `perform'``; Ruby 3.4 writes ``in 'Klass#meth'``). An exception
with an empty backtrace leaves just the message and a trailing newline.

**DJ never stores the exception class** (it only appears in the worker's log line). We recover
it where the message itself says what it is - these rules are our reading, a guess, documented
in README "Formats":

* ``Job failed to load: …`` and ``<Class>, class: <C>, primary key: <id> (…)`` are raised by
  DJ's YAML loader as ``Delayed::DeserializationError``;
* ``execution expired (Delayed::Worker.max_run_time is only …)`` is ``Delayed::WorkerTimeout``;
  any other ``execution expired`` is a ``Timeout::Error``;
* ``Error while trying to deserialize arguments: …`` is ``ActiveJob::DeserializationError``;
* ``Couldn't find <Model> with …`` is ``ActiveRecord::RecordNotFound``;
  ``Validation failed: …`` is ``ActiveRecord::RecordInvalid``;
* ``<strerror> - <detail>`` / ``<strerror> @ <syscall> - <detail>`` is ``Errno::<NAME>``
  (the common errno texts);
* well-known Ruby core messages (``undefined method``, ``uninitialized constant``,
  ``divided by 0``, ``wrong number of arguments`` …);
* a message that starts with a Ruby constant path followed by ``:`` (``PG::UniqueViolation: ERROR:
  …``, ``Net::ReadTimeout with …``) names that class.

Anything else gives ``exception=None`` ("unknown"), never a made-up ``RuntimeError``.
Pure stdlib; never raises on any input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A backtrace frame: "path:line:in `meth'" / "path:line:in 'Klass#meth'" (Ruby 3.4), Ruby's
# "<internal:kernel>:90:in `tap'", or a bare "path:line" without spaces. Never starts with whitespace.
_FRAME = re.compile(r"^(?:<internal:[^>\s]*>|[^\s:<][^:]*):\d+:in\s.*$|^[^\s:]\S*:\d+$")
_CONST_PATH = r"[A-Z][A-Za-z0-9_]*(?:::[A-Z][A-Za-z0-9_]*)*"

# errno texts as Ruby's SystemCallError#message starts them (strerror on Linux glibc)
_ERRNO = {
    "No such file or directory": "Errno::ENOENT",
    "Permission denied": "Errno::EACCES",
    "Connection refused": "Errno::ECONNREFUSED",
    "Connection reset by peer": "Errno::ECONNRESET",
    "Connection timed out": "Errno::ETIMEDOUT",
    "Broken pipe": "Errno::EPIPE",
    "Is a directory": "Errno::EISDIR",
    "Not a directory": "Errno::ENOTDIR",
    "File exists": "Errno::EEXIST",
    "No space left on device": "Errno::ENOSPC",
    "Too many open files": "Errno::EMFILE",
    "Network is unreachable": "Errno::ENETUNREACH",
    "No route to host": "Errno::EHOSTUNREACH",
    "Host is unreachable": "Errno::EHOSTUNREACH",
    "Cannot allocate memory": "Errno::ENOMEM",
    "Read-only file system": "Errno::EROFS",
    "Address already in use": "Errno::EADDRINUSE",
    "Resource temporarily unavailable": "Errno::EAGAIN",
}
_ERRNO_RX = re.compile(r"^(" + "|".join(re.escape(k) for k in _ERRNO) + r")(?: @ [\w_]+)?(?: - |$)")

# (pattern on the first message line, exception class) - first match wins
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), cls)
    for p, cls in (
        (r"^Job failed to load: ", "Delayed::DeserializationError"),
        (r"^" + _CONST_PATH + r", class: \S+, primary key: ", "Delayed::DeserializationError"),
        (r"^execution expired \(Delayed::Worker\.max_run_time is only ", "Delayed::WorkerTimeout"),
        (r"^execution expired\b", "Timeout::Error"),
        (r"^Error while trying to deserialize arguments: ", "ActiveJob::DeserializationError"),
        (r"^Couldn't find (?:all )?" + _CONST_PATH + r"(?: with|s? with|$)", "ActiveRecord::RecordNotFound"),
        (r"^Couldn't find " + _CONST_PATH + r" without an ID", "ActiveRecord::RecordNotFound"),
        (r"^Validation failed: ", "ActiveRecord::RecordInvalid"),
        (r"^undefined local variable or method ", "NameError"),
        (r"^undefined method ", "NoMethodError"),
        (r"^private method .* called for ", "NoMethodError"),
        (r"^uninitialized constant ", "NameError"),
        (r"^divided by 0$", "ZeroDivisionError"),
        (r"^wrong number of arguments \(", "ArgumentError"),
        (r"^(?:missing|unknown) keywords?: ", "ArgumentError"),
        (r"^comparison of .* failed$", "ArgumentError"),
        (r"^invalid value for (?:Integer|Float)\(\): ", "ArgumentError"),
        (r"^no implicit conversion (?:of|from) ", "TypeError"),
        (r"^(?:key|Key) not found: ", "KeyError"),
        (r"^stack level too deep$", "SystemStackError"),
        (r"^failed to allocate memory$", "NoMemoryError"),
        (r"^can't modify frozen ", "FrozenError"),
    )
)
_LEADING_CONST = re.compile(r"^(" + _CONST_PATH + r"::[A-Z][A-Za-z0-9_]*|[A-Z][A-Za-z0-9_]*(?:Error|Exception|Timeout))"
                            r"(?::\s| with |$)")


@dataclass(slots=True)
class DJError:
    """One `last_error`, split."""

    exception: str | None  # inferred class, None = unknown (DJ does not store it)
    message: str  # first line of the message
    message_full: str  # the whole message, possibly several lines, without the backtrace
    backtrace: list[str] = field(default_factory=list)


def _is_frame(line: str) -> bool:
    return bool(_FRAME.match(line))


def split_last_error(text: str) -> tuple[str, list[str]]:
    """`last_error` -> (message, backtrace frames).

    The backtrace is the longest run of frame-shaped lines at the end of the text (trailing empty
    lines ignored); everything before it is the message, kept verbatim apart from the separator.
    """
    lines = text.split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    start = len(lines)
    while start > 1 and _is_frame(lines[start - 1]):  # line 0 is always message
        start -= 1
    message = "\n".join(lines[:start])
    return message, lines[start:]


def infer_exception(message: str) -> str | None:
    """The exception class the message identifies (see module docstring), or None."""
    first = message.split("\n", 1)[0].strip()
    if not first:
        return None
    for rx, cls in _RULES:
        if rx.search(first):
            return cls
    m = _ERRNO_RX.match(first)
    if m:
        return _ERRNO[m.group(1)]
    m = _LEADING_CONST.match(first)
    if m:
        return m.group(1)
    return None


def parse_last_error(text: str | bytes | None) -> DJError | None:
    """Parse one `last_error` value; None for NULL. Never raises."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.replace("\r\n", "\n")
    message, frames = split_last_error(text)
    first = message.split("\n", 1)[0]
    return DJError(exception=infer_exception(message), message=first, message_full=message, backtrace=frames)
