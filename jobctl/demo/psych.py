"""A small emitter that writes YAML byte-for-byte the way Ruby's Psych 4 (libyaml) does, for the
value shapes Delayed Job handlers contain. Used by `jobctl demo` so its rows are indistinguishable
from ones real Delayed Job wrote (tests/test_demo.py has real Ruby re-dump every demo payload and
compare the text).

Covered: block mappings and sequences (sequences inside mappings are not indented, as libyaml
does), `[]` / `{}`, nil (`key:` / `-`), booleans, integers, floats (Ruby's `Float#to_s`), symbols
(`:name`), strings with Psych's style choice (plain, 'single' when it would read back as another
type, "double" when it starts with a non-word character or has control characters), tagged
mappings (`!ruby/object:X`, `!ruby/struct:X`) and `!ruby/class 'X'`. Strings that Psych would fold
(longer than libyaml's 80 columns) or write as `|-` blocks are outside this subset: `emit` refuses
them rather than writing something Psych would not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jobctl.parse.ruby_inspect import inspect_float
from jobctl.parse.ruby_types import RubyClass, RubyModule, RubySymbol

_NON_WORD_START = re.compile(r'^[^\w][^"]*$')  # Psych: o =~ /^[^[:word:]][^"]*$/ -> double quoted
_RESERVED = re.compile(r"^(?:y|n|yes|no|true|false|on|off|null|~)$", re.IGNORECASE)
_NUMBERISH = re.compile(r"^[-+]?(?:[0-9][0-9_,]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+|0x[0-9a-fA-F_]+|0b[01_]+)$"
                        r"|^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9]){1,2}(?:\.[0-9_]*)?$|^[-+]?\.(?:inf|nan)$", re.IGNORECASE)
_DATEISH = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}")
_OCTAL_LOOKALIKE = re.compile(r"^0[0-7]*[89]")  # Psych: /\A0[0-7]*[89]/ -> single quoted
_PLAIN_FORBIDDEN = re.compile(r"^[-?:,\[\]{}#&*!|>'\"%@`\s]|: |:$| #|\s$")
_MAX_WIDTH = 70  # stay clear of libyaml's 80-column folding


@dataclass(frozen=True, slots=True)
class Tagged:
    """A Ruby object Psych writes as a tagged block mapping: `!ruby/object:User` + ivars."""

    tag: str
    fields: dict[Any, Any]


class PsychUnsupported(ValueError):
    """A value this emitter cannot write exactly like Psych."""


def _needs_double(s: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F or 0x80 <= ord(c) < 0xA0 for c in s)


def _double(s: str) -> str:
    out = []
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\t":
            out.append("\\t")
        elif c == "\x1b":
            out.append("\\e")
        elif ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0:
            out.append(f"\\x{ord(c):02X}")
        elif ord(c) > 0xFFFF:
            out.append(f"\\U{ord(c):08X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def scalar_str(s: str) -> str:
    """One Ruby String as Psych writes it (single-line, short strings only)."""
    if "\n" in s or len(s) > _MAX_WIDTH:
        raise PsychUnsupported(f"multi-line or long string: {s[:30]!r}")
    if s == "":
        return "''"
    if _needs_double(s) or s in ("y", "n"):
        return _double(s)
    if _NON_WORD_START.match(s):
        return _double(s)
    if (_RESERVED.match(s) or _NUMBERISH.match(s) or _DATEISH.match(s) or _OCTAL_LOOKALIKE.match(s)
            or s.startswith(":")):
        return "'" + s.replace("'", "''") + "'"
    if _PLAIN_FORBIDDEN.search(s):
        return "'" + s.replace("'", "''") + "'"
    if any(ord(c) > 0xFFFF for c in s):
        return _double(s)
    return s


def scalar(value: Any) -> str | None:
    """Inline text of a scalar value, or None when `value` is a collection."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return inspect_float(value)
    if isinstance(value, str):
        return scalar_str(value)
    if isinstance(value, RubySymbol):
        return ":" + value.name
    if isinstance(value, RubyClass):
        return f"!ruby/class '{value.name}'"
    if isinstance(value, RubyModule):
        return f"!ruby/module '{value.name}'"
    if isinstance(value, (list, dict, Tagged)):
        return None
    raise PsychUnsupported(f"cannot emit {type(value).__name__}")


def _key(k: Any) -> str:
    text = scalar(k)
    if text is None or text == "":
        raise PsychUnsupported("complex or nil mapping key")
    return text


def _is_empty(v: Any) -> bool:
    return (isinstance(v, list) and not v) or (isinstance(v, dict) and not v)


def _inline(v: Any) -> str | None:
    if _is_empty(v):
        return "[]" if isinstance(v, list) else "{}"
    return scalar(v)


def _mapping_lines(fields: dict[Any, Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for k, v in fields.items():
        text = _inline(v)
        if text is not None:
            out.append(f"{pad}{_key(k)}:{' ' + text if text else ''}")
        elif isinstance(v, Tagged):
            out.append(f"{pad}{_key(k)}: {v.tag}")
            _mapping_lines(v.fields, indent + 2, out)
        elif isinstance(v, dict):
            out.append(f"{pad}{_key(k)}:")
            _mapping_lines(v, indent + 2, out)
        else:  # a non-empty list: libyaml does not indent a sequence inside a mapping
            out.append(f"{pad}{_key(k)}:")
            _sequence_lines(v, indent, out)


def _sequence_lines(items: list[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for v in items:
        text = _inline(v)
        if text is not None:
            out.append(f"{pad}-{' ' + text if text else ''}")
        elif isinstance(v, Tagged):
            out.append(f"{pad}- {v.tag}")
            _mapping_lines(v.fields, indent + 2, out)
        elif isinstance(v, dict):
            first: list[str] = []
            _mapping_lines(v, indent + 2, first)
            out.append(f"{pad}- {first[0].lstrip()}")
            out.extend(first[1:])
        else:
            first = []
            _sequence_lines(v, indent + 2, first)
            out.append(f"{pad}- {first[0].lstrip()}")
            out.extend(first[1:])


def emit(root: Tagged) -> str:
    """A whole handler: `--- <tag>` then the root mapping, ending with a newline."""
    lines = [f"--- {root.tag}"]
    _mapping_lines(root.fields, 0, lines)
    return "\n".join(lines) + "\n"
