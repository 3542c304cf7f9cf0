"""Ruby's `#inspect` for loaded YAML data, so jobctl can rebuild Delayed Job's display names.

ActiveJob's JobWrapper names itself `"... with arguments: #{arguments}"`, i.e. `Array#inspect` of the
*serialized* arguments (strings, numbers, nil, booleans, Arrays and Hashes with string keys). Those
are reproduced exactly for Ruby 3.1 (`{"a"=>1}`; `style="3.4"` gives Ruby 3.4's `{"a" => 1, b: 2}`),
checked against real Ruby in tests/test_ruby_interop.py. Other values (Times, Ruby objects) get a
close approximation: Ruby's output there depends on the app's classes and zone settings.
"""

from __future__ import annotations

import math
import re
import unicodedata
from datetime import date, datetime
from typing import Any

from jobctl.parse.ruby_types import (
    RubyActiveRecord,
    RubyArray,
    RubyClass,
    RubyException,
    RubyHash,
    RubyModule,
    RubyObject,
    RubyRange,
    RubyRegexp,
    RubyString,
    RubyStruct,
    RubySymbol,
    UnhashableKey,
    UnknownTag,
)

_SPECIAL = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\f": "\\f", "\v": "\\v",
            "\b": "\\b", "\a": "\\a", "\x1b": "\\e"}
_NON_PRINT_CATEGORIES = frozenset({"Cc", "Cn", "Cs", "Zl", "Zp"})  # Onigmo's [[:print:]] complement
_PLAIN_SYMBOL = re.compile(r"^(?:[A-Za-z_][A-Za-z_0-9]*[?!=]?|@@?[A-Za-z_][A-Za-z_0-9]*|\$[A-Za-z_][A-Za-z_0-9]*"
                           r"|\[\]=?|[+\-*/%<>~!]|\*\*|[+\-]@|<=>|==|===|=~|!=|!~|<<|>>|<=|>=|\^|&|\|)$")
_BARE_KEY = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*[?!]?$")


def inspect_string(s: str) -> str:
    """`String#inspect` for a UTF-8 string (Ruby 3.x)."""
    out = ['"']
    n = len(s)
    for i, ch in enumerate(s):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ch == "#" and i + 1 < n and s[i + 1] in "{$@":
            out.append("\\#")
        elif unicodedata.category(ch) in _NON_PRINT_CATEGORIES:
            cp = ord(ch)
            out.append(f"\\u{cp:04X}" if cp <= 0xFFFF else f"\\u{{{cp:X}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def inspect_symbol(name: str) -> str:
    """`Symbol#inspect`: `:name`, or `:"odd name"` when it is not a plain identifier/operator."""
    if _PLAIN_SYMBOL.match(name):
        return ":" + name
    return ":" + inspect_string(name)


def inspect_float(f: float) -> str:
    """`Float#inspect`: shortest round-trip digits; fixed notation for 1e-4 <= |f| < 1e16."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    if f == 0:
        return "-0.0" if math.copysign(1.0, f) < 0 else "0.0"
    sign = "-" if f < 0 else ""
    mantissa, _, exp_text = repr(abs(f)).partition("e")
    exp = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    # decimal point position relative to the first significant digit: value = 0.DIGITS x 10**decpt
    lead_zeros = len(int_part + frac_part) - len((int_part + frac_part).lstrip("0"))
    decpt = len(int_part) - lead_zeros + exp
    digits = digits.rstrip("0") or "0"
    if -4 < decpt <= 15:
        if decpt <= 0:
            return f"{sign}0.{'0' * -decpt}{digits}"
        if len(digits) <= decpt:
            return f"{sign}{digits}{'0' * (decpt - len(digits))}.0"
        return f"{sign}{digits[:decpt]}.{digits[decpt:]}"
    frac = digits[1:] or "0"
    e = decpt - 1
    return f"{sign}{digits[0]}.{frac}e{'+' if e >= 0 else '-'}{abs(e):02d}"


def _inspect_time(t: datetime) -> str:
    """`Time#inspect` (Ruby >= 2.7 shows fractional seconds when present)."""
    frac = f".{t.microsecond:06d}".rstrip("0") if t.microsecond else ""
    off = t.utcoffset()
    if off is None or off.total_seconds() == 0:
        zone = " UTC"
    else:
        secs = int(off.total_seconds())
        sign = "+" if secs >= 0 else "-"
        secs = abs(secs)
        zone = f" {sign}{secs // 3600:02d}{secs % 3600 // 60:02d}"
    return t.strftime("%Y-%m-%d %H:%M:%S") + frac + zone


def _ivars_text(ivars: dict[Any, Any], style: str) -> str:
    return ", ".join(f"@{k}={ruby_inspect(v, style)}" for k, v in ivars.items())


def _inspect_hash(items: dict[Any, Any], style: str) -> str:
    if not items:
        return "{}"
    parts = []
    for k, v in items.items():
        if style == "3.4" and isinstance(k, RubySymbol) and _BARE_KEY.match(k.name):
            parts.append(f"{k.name}: {ruby_inspect(v, style)}")
        elif style == "3.4":
            parts.append(f"{ruby_inspect(k, style)} => {ruby_inspect(v, style)}")
        else:
            parts.append(f"{ruby_inspect(k, style)}=>{ruby_inspect(v, style)}")
    return "{" + ", ".join(parts) + "}"


_ACTIVE: set[int] = set()  # containers being inspected right now (recursion guard, like Ruby's [...])


def ruby_inspect(value: Any, style: str = "3.1") -> str:
    """Ruby's `inspect` of a loaded value (exact for JSON-like data, approximate for objects)."""
    if isinstance(value, (list, dict, RubyHash, RubyArray, RubyStruct, RubyObject, RubyActiveRecord)):
        key = id(value)
        if key in _ACTIVE:
            return "[...]" if isinstance(value, (list, RubyArray)) else "{...}"
        _ACTIVE.add(key)
        try:
            return _inspect(value, style)
        finally:
            _ACTIVE.discard(key)
    return _inspect(value, style)


def _inspect(value: Any, style: str) -> str:
    if value is None:
        return "nil"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return inspect_float(value)
    if isinstance(value, str):
        return inspect_string(value)
    if isinstance(value, bytes):
        return inspect_string(value.decode("utf-8", "replace"))
    if isinstance(value, RubySymbol):
        return inspect_symbol(value.name)
    if isinstance(value, list):
        return "[" + ", ".join(ruby_inspect(v, style) for v in value) + "]"
    if isinstance(value, dict):
        return _inspect_hash(value, style)
    if isinstance(value, datetime):
        return _inspect_time(value)
    if isinstance(value, date):
        return f"#<Date: {value.isoformat()}>"
    if isinstance(value, (RubyClass, RubyModule)):
        return value.name
    if isinstance(value, RubyHash):
        return _inspect_hash(value.items, style)
    if isinstance(value, RubyArray):
        return ruby_inspect(value.items, style)
    if isinstance(value, RubyString):
        return ruby_inspect(value.value, style)
    if isinstance(value, RubyRange):
        dots = "..." if value.excl else ".."
        return f"{ruby_inspect(value.begin, style)}{dots}{ruby_inspect(value.end, style)}"
    if isinstance(value, RubyRegexp):
        return f"/{value.source}/{value.flags}"
    if isinstance(value, RubyStruct):
        members = ", ".join(f"{k}={ruby_inspect(v, style)}" for k, v in value.members.items())
        return f"#<struct {value.cls}{' ' + members if members else ''}>"
    if isinstance(value, RubyException):
        return f"#<{value.cls}: {value.message}>"
    if isinstance(value, RubyActiveRecord):
        return f"#<{value.cls} {_ivars_text(value.attributes, style)}>"
    if isinstance(value, RubyObject):
        if value.value is not None:
            return f"#<{value.cls} {value.value}>"
        ivars = _ivars_text(value.ivars, style)
        return f"#<{value.cls}{' ' + ivars if ivars else ''}>"
    if isinstance(value, UnhashableKey):
        return value.text
    if isinstance(value, UnknownTag):
        return ruby_inspect(value.value, style)
    return repr(value)
