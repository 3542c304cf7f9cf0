"""Turn loaded Ruby-YAML values into what jobctl shows: JSON-able args, class names, record refs.

* `record_ref(v)`  — an ActiveRecord object as `"User#1"` (class + primary key), or None.
* `ruby_class_name(v)` — the Ruby class Psych would instantiate (`"Hash"`, `"User"`, `"Module"`…),
  which is what Delayed Job's `name` falls back to for payloads without `display_name`.
* `to_jsonable(v)` — plain JSON data: symbols as `":pdf"`, times as ISO-8601 `Z`, records as
  `"User#1"`, other objects as `{"_class": ..., <ivars>}`; expansion of shared (aliased) values is
  bounded by the loader's node budget, and cycles print as `"<recursive>"`.

The primary key: Delayed Job reloads a record with `klass.primary_key`, which the YAML does not
record. jobctl takes the attribute named `id`, else the first attribute — a guess for tables with
another primary key name (documented in README "Formats").
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
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

_AR_ATTRIBUTE_LISTS = ("concise_attributes",)
_AR_ATTRIBUTE_MAPS = ("raw_attributes", "attributes")
_INT64 = 2**63


def _pk_from_pairs(pairs: list[tuple[Any, Any]]) -> Any:
    for name, value in pairs:
        if name == "id":
            return value
    return pairs[0][1] if pairs else None


def record_ref(value: Any) -> str | None:
    """`"User#1"` for an ActiveRecord object (Rails `concise_attributes`, legacy `attributes`/`raw_attributes`,
    or DJ 3.x `!ruby/ActiveRecord:`), else None."""
    if isinstance(value, RubyActiveRecord):
        return f"{value.cls}#{_scalar_text(_pk_from_pairs(list(value.attributes.items())))}"
    if not isinstance(value, RubyObject) or value.kind != "object":
        return None
    for key in _AR_ATTRIBUTE_LISTS:
        attrs = value.ivars.get(key)
        if isinstance(attrs, list):
            pairs = [(a.ivars.get("name"), a.ivars.get("value_before_type_cast", a.ivars.get("value")))
                     for a in attrs if isinstance(a, RubyObject)]
            return f"{value.cls}#{_scalar_text(_pk_from_pairs(pairs))}"
    if "new_record" in value.ivars or "active_record_yaml_version" in value.ivars:
        for key in _AR_ATTRIBUTE_MAPS:
            attrs = value.ivars.get(key)
            if isinstance(attrs, dict):
                return f"{value.cls}#{_scalar_text(_pk_from_pairs(list(attrs.items())))}"
    return None


def _scalar_text(v: Any) -> str:
    if isinstance(v, RubyObject) and isinstance(v.value, str):
        return v.value
    return "" if v is None else str(v)


def ruby_class_name(value: Any) -> str:
    """The Ruby class of a loaded value, as `obj.class.name` would print it."""
    if isinstance(value, (RubyObject, RubyStruct, RubyActiveRecord, RubyHash, RubyArray, RubyString,
                          RubyException)):
        return value.cls
    simple: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "TrueClass" if value is True else "FalseClass"), (int, "Integer"), (float, "Float"),
        ((str, bytes), "String"), (RubySymbol, "Symbol"), (list, "Array"), (dict, "Hash"),
        (datetime, "Time"), (date, "Date"), (RubyClass, "Class"), (RubyModule, "Module"),
        (RubyRange, "Range"), (RubyRegexp, "Regexp")]
    if value is None:
        return "NilClass"
    for types, name in simple:
        if isinstance(value, types):
            return name
    if isinstance(value, UnknownTag):
        return ruby_class_name(value.value)
    return "Object"


def iso_utc(t: datetime) -> str:
    """ISO-8601 with `Z` (naive datetimes are taken as UTC, jobctl's convention)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_key(key: Any) -> str:
    """A mapping key as a JSON object key: symbols lose their colon (they are keyword names)."""
    if isinstance(key, str):
        return key
    if isinstance(key, RubySymbol):
        return key.name
    if isinstance(key, UnhashableKey):
        return key.text
    j = to_jsonable(key)
    return j if isinstance(j, str) else str(j)


def _object_jsonable(value: RubyObject, active: set[int]) -> Any:
    ref = record_ref(value)
    if ref is not None:
        return ref
    if value.cls == "ActiveSupport::TimeWithZone" and isinstance(value.ivars.get("utc"), datetime):
        return iso_utc(value.ivars["utc"])
    if value.cls == "BigDecimal" and isinstance(value.value, str):
        try:
            return str(Decimal(value.value.partition(":")[2] or value.value))
        except InvalidOperation:
            return value.value
    if value.cls == "Set" and isinstance(value.ivars.get("hash"), dict):
        return [_conv(k, active) for k in value.ivars["hash"]]
    if value.value is not None:
        return _conv(value.value, active)
    return {"_class": value.cls, **{json_key(k): _conv(v, active) for k, v in value.ivars.items()}}


def to_jsonable(value: Any) -> Any:
    """Plain JSON data for display and `-o json` (see module docstring)."""
    return _conv(value, set())


def _conv(value: Any, active: set[int]) -> Any:  # noqa: C901 - one flat dispatch over the value kinds
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -_INT64 <= value < _INT64 else str(value)  # orjson refuses > 64-bit ints
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, RubySymbol):
        return ":" + value.name
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, (RubyClass, RubyModule)):
        return value.name
    if isinstance(value, RubyRange):
        return f"{_conv(value.begin, active)}{'...' if value.excl else '..'}{_conv(value.end, active)}"
    if isinstance(value, RubyRegexp):
        return f"/{value.source}/{value.flags}"
    if isinstance(value, RubyString):
        return _conv(value.value, active)
    if isinstance(value, UnhashableKey):
        return value.text
    key = id(value)
    if key in active:
        return "<recursive>"
    active.add(key)
    try:
        return _container(value, active)
    finally:
        active.discard(key)


def _container(value: Any, active: set[int]) -> Any:
    if isinstance(value, list):
        return [_conv(v, active) for v in value]
    if isinstance(value, dict):
        return {json_key(k): _conv(v, active) for k, v in value.items()}
    if isinstance(value, RubyHash):
        return {json_key(k): _conv(v, active) for k, v in value.items.items()}
    if isinstance(value, RubyArray):
        return [_conv(v, active) for v in value.items]
    if isinstance(value, RubyStruct):
        return {"_class": value.cls, **{json_key(k): _conv(v, active) for k, v in value.members.items()}}
    if isinstance(value, RubyActiveRecord):
        return record_ref(value)
    if isinstance(value, RubyObject):
        return _object_jsonable(value, active)
    if isinstance(value, RubyException):
        return {"_class": value.cls, "message": _conv(value.message, active)}
    if isinstance(value, UnknownTag):
        return {"_tag": value.tag, "value": _conv(value.value, active)}
    return repr(value)
