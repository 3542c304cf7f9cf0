"""Decode ActiveJob's serialized `arguments` (as stored in `job_data`) for display.

ActiveJob (`active_job/arguments.rb`) serializes arguments to JSON-safe data with marker keys.
jobctl shows what the job will receive, not the markers:

* `{"_aj_globalid": "gid://app/User/1"}`            -> `"User/1"` (same form as the Resque side)
* `{"_aj_serialized": "...SymbolSerializer", "value": "full"}` -> `":full"`
* `{"_aj_serialized": "...TimeWithZoneSerializer"|TimeSerializer|DateTimeSerializer|DateSerializer, "value": v}`
  -> `v` (the ISO-8601 text ActiveJob stored); Duration -> seconds; BigDecimal/Module -> value;
  a custom serializer -> `{"_class": <serializer>, ...rest}`
* `_aj_symbol_keys`, `_aj_ruby2_keywords`, `_aj_hash_with_indifferent_access` marker keys removed
  (the hash stays a hash of its real keys; `_aj_ruby2_keywords` marks it as keyword arguments).
"""

from __future__ import annotations

from typing import Any

from jobctl.parse.ruby_values import json_key, to_jsonable

GLOBALID = "_aj_globalid"
SERIALIZED = "_aj_serialized"
MARKER_KEYS = frozenset({"_aj_symbol_keys", "_aj_ruby2_keywords", "_aj_hash_with_indifferent_access"})
_VALUE_SERIALIZERS = ("TimeWithZoneSerializer", "TimeSerializer", "DateTimeSerializer", "DateSerializer",
                      "BigDecimalSerializer", "ModuleSerializer", "DurationSerializer")


def globalid_ref(gid: str) -> str:
    """`gid://app/User/1` -> `User/1` (model + id; the app name is noise for an operator)."""
    if gid.startswith("gid://"):
        rest = gid[len("gid://"):]
        _app, sep, model_id = rest.partition("/")
        return model_id if sep else rest
    return gid


def _short_serializer(name: str) -> str:
    return name.rsplit("::", 1)[-1]


def decode_argument(value: Any) -> Any:
    """One serialized ActiveJob argument -> plain JSON-able display data."""
    if isinstance(value, list):
        return [decode_argument(v) for v in value]
    if not isinstance(value, dict):
        return to_jsonable(value)
    if GLOBALID in value and len(value) == 1 and isinstance(value[GLOBALID], str):
        return globalid_ref(value[GLOBALID])
    if SERIALIZED in value and isinstance(value[SERIALIZED], str):
        kind = _short_serializer(value[SERIALIZED])
        if kind == "SymbolSerializer":
            return ":" + str(value.get("value"))
        if kind in _VALUE_SERIALIZERS:
            return to_jsonable(value.get("value"))
        rest = {str(k): decode_argument(v) for k, v in value.items() if k != SERIALIZED}
        return {"_class": value[SERIALIZED], **rest}
    return {json_key(k): decode_argument(v)
            for k, v in value.items() if k not in MARKER_KEYS}


def decode_arguments(arguments: Any) -> list[Any]:
    """The whole `arguments` array (anything else is wrapped as a one-element list)."""
    if isinstance(arguments, list):
        return [decode_argument(a) for a in arguments]
    if arguments is None:
        return []
    return [decode_argument(arguments)]
