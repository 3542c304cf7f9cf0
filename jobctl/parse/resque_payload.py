"""Resque queue entries and failure records (exact stored bytes) -> model.Job / model.Failure.

Both entry points never raise: whatever is stored (invalid JSON, ``""`` tombstones left by an
interrupted ``Failure.remove``, non-UTF-8 bytes, missing or mistyped fields) comes back as a
record with ``parse_error`` set (a Job also gets ``state="bad"``) and a raw preview, so one bad
entry never stops a scan.

Decoding uses orjson; integers beyond 64 bits (which Ruby writes freely, e.g.
``18446744073709551617``) would come back from orjson as lossy floats, so entries containing a run
of 19+ digits are decoded with the stdlib ``json`` module, which keeps arbitrary-precision ints.

ActiveJob payloads (``class`` = ``ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper``, ``args`` =
``[job.serialize]``) are unwrapped: ``job_class`` becomes the real class, ``name`` gets
``" (via ActiveJob)"`` like resque-web, ``args`` are the ActiveJob arguments with its markers
removed (``{"_aj_globalid": "gid://app/User/1"}`` -> ``"User/1"``, ``_aj_symbol_keys`` etc.
dropped, ``_aj_serialized`` values shown by value), and job_id / enqueued_at / executions /
priority are filled. Mail deliveries (``ActionMailer::MailDeliveryJob`` / ``DeliveryJob``) are
named ``"UserMailer#welcome (via ActiveJob)"``; their ``job_class`` stays the ActiveJob class.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from jobctl.model import Failure, Job
from jobctl.parse.resque_time import parse_resque_time

ACTIVEJOB_WRAPPERS = frozenset({
    "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper",
})
MAILER_JOBS = frozenset({
    "ActionMailer::MailDeliveryJob", "ActionMailer::DeliveryJob", "ActionMailer::Parameterized::DeliveryJob",
    "ActionMailer::Parameterized::MailDeliveryJob",
})
_AJ_MARKER_KEYS = frozenset({"_aj_symbol_keys", "_aj_ruby2_keywords", "_aj_hash_with_indifferent_access"})
_AJ_SYMBOL_SERIALIZER = "ActiveJob::Serializers::SymbolSerializer"
_JOB_KEYS = ("class", "args")
_FAILURE_KEYS = frozenset({"failed_at", "payload", "exception", "error", "backtrace", "worker", "queue",
                           "retried_at"})
_AJ_KNOWN = frozenset({"job_class", "job_id", "arguments", "executions", "enqueued_at", "priority"})
PREVIEW_BYTES = 200
# orjson turns integers beyond 64 bits into floats (silently losing digits); Ruby writes them freely.
# Entries with a run of 19+ digits go to the stdlib json module, which keeps them exact. The test maps
# every digit to "0" and everything else to " " and looks for 19 zeros: ~10x cheaper than a regex.
# The same pass maps "[" and "{" to "[" so one count() bounds the nesting depth (see _check_nesting).
_DIGIT_MAP = bytes(48 if 48 <= i <= 57 else 91 if i in (91, 123) else 32 for i in range(256))
_DIGIT_RUN = b"0" * 19
BAD_CLASS = "?"


class _Bad(Exception):
    """Internal: the entry is unusable; message = parse_error."""


def preview(raw: bytes, limit: int = PREVIEW_BYTES) -> str:
    """The first `limit` bytes as text (invalid UTF-8 shown as \\xNN escapes), for bad rows."""
    text = raw[:limit].decode("utf-8", "backslashreplace")
    return text + ("…" if len(raw) > limit else "")


def decode_json(raw: bytes) -> tuple[Any, str | None]:
    """(value, problem). problem is None on success; "not valid UTF-8" when bytes had to be replaced.

    Raises _Bad when the bytes are not JSON at all.
    """
    if not raw:
        raise _Bad("empty entry (a tombstone left by an interrupted Resque remove)")
    msg = ""
    mapped = raw.translate(_DIGIT_MAP)
    if _DIGIT_RUN not in mapped:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as e:
            msg = str(e)
        else:
            _check_nesting(mapped, value)
            return value, None
    try:
        text = raw.decode("utf-8")
        problem = None
    except UnicodeDecodeError as e:
        text = raw.decode("utf-8", "replace")
        problem = f"not valid UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}; shown as U+FFFD)"
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise _Bad(f"invalid JSON: {msg or e}") from None
    _check_nesting(mapped, value)
    return value, problem


# Ruby's JSON.parse (the json gem behind MultiJson) raises JSON::NestingError beyond 100 levels and
# ParserError on NaN/Infinity tokens: a Resque worker cannot decode such an entry, so neither do we.
# Refusing them also keeps every later step (to_dict, renderers, `show`) far from Python's recursion limit.
MAX_NESTING = 100


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value (Ruby's JSON.parse refuses it)")


def _check_nesting(mapped: bytes, value: Any) -> None:
    """`mapped` = raw.translate(_DIGIT_MAP), where every "[" and "{" is "["."""
    if mapped.count(b"[") <= MAX_NESTING:  # cheap: fewer brackets than levels allowed
        return
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > MAX_NESTING:
            raise _Bad(f"nested deeper than {MAX_NESTING} levels (Ruby's JSON.parse raises JSON::NestingError)")
        children = v.values() if isinstance(v, dict) else v
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))


def _gid_short(gid: str) -> str:
    """gid://app/User/1 -> User/1 (a GlobalID without the app part)."""
    if gid.startswith("gid://"):
        rest = gid[6:]
        _, _, tail = rest.partition("/")
        return tail or gid
    return gid


def unwrap_aj_value(value: Any) -> Any:
    """ActiveJob-serialised argument -> the value an operator wants to read."""
    if isinstance(value, list):
        return [unwrap_aj_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    gid = value.get("_aj_globalid")
    if isinstance(gid, str) and len(value) == 1:
        return _gid_short(gid)
    ser = value.get("_aj_serialized")
    if isinstance(ser, str):
        if "value" in value and len(value) == 2:
            inner = value["value"]
            if ser == _AJ_SYMBOL_SERIALIZER and isinstance(inner, str):
                return ":" + inner
            return unwrap_aj_value(inner)
        return {k: unwrap_aj_value(v) for k, v in value.items() if k != "_aj_serialized"}
    return {k: unwrap_aj_value(v) for k, v in value.items() if k not in _AJ_MARKER_KEYS}


def _mailer_name(arguments: list[Any]) -> str | None:
    if len(arguments) >= 2 and isinstance(arguments[0], str) and isinstance(arguments[1], str):
        return f"{arguments[0]}#{arguments[1]}"
    return None


def describe_payload(payload: Any) -> dict[str, Any]:
    """A decoded job hash ({"class","args",…}) -> the Job/Failure fields it determines.

    Raises _Bad for unusable payloads (not an object, no class).
    """
    if not isinstance(payload, dict):
        raise _Bad(f"payload is a JSON {type(payload).__name__}, not an object")
    klass = payload.get("class")
    if not isinstance(klass, str) or not klass:
        raise _Bad("payload has no 'class'")
    args = payload.get("args", [])
    problem = None
    if not isinstance(args, list):
        problem = "'args' is not an array"
        args = [args]
    out: dict[str, Any] = {
        "job_class": klass, "name": klass, "args": args, "wrapper": None, "job_id": None,
        "enqueued_at": None, "attempts": None, "priority": None, "problem": problem,
        "extra": {k: v for k, v in payload.items() if k not in _JOB_KEYS},
    }
    if klass in ACTIVEJOB_WRAPPERS and args and isinstance(args[0], dict) and isinstance(args[0].get("job_class"), str):
        aj = args[0]
        real = aj["job_class"]
        arguments = aj.get("arguments")
        arguments = arguments if isinstance(arguments, list) else []
        shown = unwrap_aj_value(arguments)
        name = f"{real} (via ActiveJob)"
        if real in MAILER_JOBS:
            mailer = _mailer_name(shown)
            if mailer:
                name = f"{mailer} (via ActiveJob)"
                out["extra"]["mailer"] = mailer
        executions = aj.get("executions")
        priority = aj.get("priority")
        out.update(
            job_class=real, name=name, args=shown, wrapper=klass,
            job_id=aj.get("job_id") if isinstance(aj.get("job_id"), str) else None,
            enqueued_at=parse_resque_time(aj.get("enqueued_at")),
            attempts=executions if isinstance(executions, int) else None,
            priority=priority if isinstance(priority, int) else None,
        )
        out["extra"]["activejob"] = {k: v for k, v in aj.items() if k not in _AJ_KNOWN}
        if len(args) > 1:
            out["extra"]["wrapper_args_extra"] = args[1:]
    return out


def parse_job(raw: bytes, *, queue: str | None, position: int | None, id: str) -> Job:
    """One queue entry -> Job (state "ready", or "bad" with parse_error). Never raises."""
    text = raw.decode("utf-8", "backslashreplace")
    try:
        value, problem = decode_json(raw)
        d = describe_payload(value)
    except _Bad as e:
        return _bad_job(raw, queue, position, id, str(e))
    except Exception as e:  # noqa: BLE001 - a parser must never stop a scan
        return _bad_job(raw, queue, position, id, f"unreadable entry: {type(e).__name__}: {e}")
    problem = problem or d["problem"]
    return Job(
        id=id, queue=queue, position=position, job_class=d["job_class"], name=d["name"], args=d["args"],
        state="bad" if problem else "ready", wrapper=d["wrapper"], job_id=d["job_id"],
        enqueued_at=d["enqueued_at"], attempts=d["attempts"], priority=d["priority"], size=len(raw),
        parse_error=problem, raw=text, extra=d["extra"],
    )


def _bad_job(raw: bytes, queue: str | None, position: int | None, id: str, why: str) -> Job:
    return Job(id=id, queue=queue, position=position, job_class=BAD_CLASS, name=BAD_CLASS, state="bad",
               size=len(raw), parse_error=why, raw=preview(raw))


def _str_or_none(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


_BAD_PAYLOAD: dict[str, Any] = {"job_class": BAD_CLASS, "name": BAD_CLASS, "args": [], "job_id": None,
                                "attempts": None, "extra": {}, "problem": None}


def _payload_fields(payload: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(describe_payload result or None for the plain fast path, problem)."""
    if type(payload) is dict and len(payload) == 2:
        klass = payload.get("class")
        if type(klass) is str and klass and klass not in ACTIVEJOB_WRAPPERS and type(payload.get("args")) is list:
            return None, None  # plain {"class","args"}: the caller reads them directly
    try:
        return describe_payload(payload), None
    except _Bad as e:
        return _BAD_PAYLOAD, str(e)
    except Exception as e:  # noqa: BLE001
        return _BAD_PAYLOAD, f"unreadable payload: {type(e).__name__}: {e}"


def parse_failure(raw: bytes, *, key: str, index: int, id: str,
                  decoded: tuple[Any, str | None] | None = None) -> Failure:
    """One failure record (default or multi-queue backend, resque-retry's copies) -> Failure.

    Never raises; unusable records come back with parse_error set, job_class "?" and a preview.
    `decoded`: the (value, problem) of `decode_json(raw)` when the caller already decoded it.
    This is the hot path of `failed` scans: plain payloads skip the general payload describer.
    """
    location = f"{key}[{index}]"
    try:
        value, problem = decoded if decoded is not None else decode_json(raw)
        if type(value) is not dict:
            raise _Bad(f"failure record is a JSON {type(value).__name__}, not an object")
    except _Bad as e:
        return _bad_failure(raw, location, id, str(e))
    except Exception as e:  # noqa: BLE001
        return _bad_failure(raw, location, id, f"unreadable entry: {type(e).__name__}: {e}")
    payload: Any = value.get("payload")
    d, payload_problem = _payload_fields(payload)
    extra = {} if value.keys() <= _FAILURE_KEYS else {k: v for k, v in value.items() if k not in _FAILURE_KEYS}
    if d is None:
        job_class = name = payload["class"]
        args = payload["args"]
        job_id = attempts = None
    else:
        job_class, name, args, job_id, attempts = d["job_class"], d["name"], d["args"], d["job_id"], d["attempts"]
        problem = problem or payload_problem or d["problem"]
        if d["extra"]:
            extra["payload"] = d["extra"]
    error_full = value.get("error")
    if error_full is not None and type(error_full) is not str:
        error_full = _str_or_none(error_full)
    backtrace = value.get("backtrace")
    if type(backtrace) is not list:
        backtrace = [] if backtrace is None else [str(backtrace)]
    failed_at_raw = value.get("failed_at")
    failed_at = parse_resque_time(failed_at_raw)
    if failed_at is None and problem is None:
        problem = "missing failed_at" if failed_at_raw is None else f"unreadable failed_at {failed_at_raw!r}"
    retried_raw = value.get("retried_at")
    queue = value.get("queue")
    exception = value.get("exception")
    worker = value.get("worker")
    return Failure(
        id=id, failed_at=failed_at, queue=queue if type(queue) is str else _str_or_none(queue),
        job_class=job_class, name=name,
        exception=exception if type(exception) is str else _str_or_none(exception),
        error=error_full.partition("\n")[0] if error_full is not None else None, args=args,
        error_full=error_full, backtrace=backtrace,
        worker=worker if type(worker) is str else _str_or_none(worker),
        retried_at=parse_resque_time(retried_raw) if retried_raw is not None else None,
        attempts=attempts, job_id=job_id, location=location, size=len(raw),
        parse_error=problem, raw=preview(raw) if problem else None, extra=extra,
    )


def _bad_failure(raw: bytes, location: str, id: str, why: str) -> Failure:
    return Failure(id=id, failed_at=None, queue=None, job_class=BAD_CLASS, name=BAD_CLASS, exception=None,
                   error=None, location=location, size=len(raw), parse_error=why, raw=preview(raw))
