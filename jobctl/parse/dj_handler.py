"""Parse one Delayed Job `handler` into what an operator needs: DJ's own name, a class to filter on, args.

`parse_handler(text)` never raises: any failure (bad YAML, over a limit, an unexpected shape) comes
back as `Handler.parse_error` with DJ's own fallback name. Names follow
`Delayed::Backend::Base#name` (delayed_job 4.1.9), see docs/delayed-job-format.md §5.2:

* payload with `display_name` — PerformableMethod / PerformableMailer: `"User.cleanup"` for a class
  receiver, `"User#send_heavy_report"` for an instance (an ActiveRecord record, a Struct, …),
  `"Module#sweep"` for a module receiver (a module is not a Class), and
  `"ActionMailer::Parameterized::Mailer#welcome"` for `Mailer.with(...)`;
  ActiveJob's JobWrapper: `"<job_class> [<job_id>] from DelayedJob(<queue>) with arguments: <inspect>"`.
* any other payload: its class name (`"NewsletterJob"`). A job class may define its own
  `display_name`, which the YAML cannot show: `Handler.name_note` says so.
* DJ could not load the payload (bad YAML, or — known only from `last_error` — a deleted record or a
  missing class): the first `!ruby/<word>:<Name>` tag in the text (`"Delayed::PerformableMethod"`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jobctl.parse.aj_args import decode_arguments
from jobctl.parse.ruby_inspect import ruby_inspect
from jobctl.parse.ruby_types import RubyClass, RubyModule, RubyObject, RubyStruct, RubySymbol
from jobctl.parse.ruby_values import record_ref, ruby_class_name, to_jsonable
from jobctl.parse.ruby_yaml import Limits, RubyYamlError, load_ruby_yaml

PERFORMABLE_METHOD = "Delayed::PerformableMethod"
PERFORMABLE_MAILER = "Delayed::PerformableMailer"
JOB_WRAPPER = "ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper"
PARAMETERIZED_MAILER = "ActionMailer::Parameterized::Mailer"
MAIL_JOBS = frozenset({"ActionMailer::MailDeliveryJob", "ActionMailer::DeliveryJob",
                       "ActionMailer::Parameterized::DeliveryJob"})
KINDS = ("performable_method", "performable_mailer", "active_job", "struct", "object", "unknown")

# DJ: ParseObjectFromYaml = %r{\!ruby/\w+\:([^\s]+)} (Ruby's \w and \s are ASCII-only here)
_DJ_FALLBACK = re.compile(r"!ruby/[A-Za-z0-9_]+:([^ \t\r\n\f\v]+)")
# last_error texts DJ writes for a Delayed::DeserializationError (base.rb, psych_ext.rb)
_DESERIALIZATION = re.compile(r"^(?:Job failed to load: |[A-Z][\w:]*(?:RecordNotFound|DocumentNotFound|"
                              r"ObjectNotFoundError), class: )")
_ISO_FRACTION = re.compile(r"(\.\d{6})\d+")
_NOTE_DISPLAY_NAME = ("the class name; a job class may define its own display_name, which Delayed Job "
                      "would show instead and the handler cannot reveal")
_NOTE_FALLBACK = ("Delayed Job cannot load this handler (see last_error), so its name is the first "
                  "Ruby tag in the text")
UNPARSEABLE = "(unparseable)"


@dataclass(slots=True)
class Handler:
    """One parsed handler. `tree` is the loaded YAML (ruby_types nodes) for `jobctl show`."""

    name: str
    job_class: str
    args: list[Any] = field(default_factory=list)
    kind: str = "unknown"
    job_id: str | None = None
    queue_name: str | None = None
    enqueued_at: datetime | None = None
    executions: int | None = None
    receiver: str | None = None
    method_name: str | None = None
    tree: Any = None
    parse_error: str | None = None
    wrapper: str | None = None  # the payload class when it wraps another job (ActiveJob's JobWrapper)
    priority: int | None = None  # ActiveJob's own priority (the row's column is authoritative)
    name_note: str | None = None  # why `name` may differ from what Delayed Job shows


def dj_fallback_name(text: str) -> str | None:
    """DJ's name for a payload it cannot load: the first `!ruby/<word>:<Name>` tag, or None."""
    m = _DJ_FALLBACK.search(text)
    return m.group(1) if m else None


def is_deserialization_error(last_error: str | None) -> bool:
    """Whether `last_error` is one DJ wrote for a handler it could not load."""
    return bool(last_error) and bool(_DESERIALIZATION.match(last_error or ""))


def parse_handler(text: str | bytes, *, max_bytes: int = 1_000_000, last_error: str | None = None,
                  inspect_style: str = "3.1") -> Handler:
    """Parse a handler; never raises. Pass the row's `last_error` so names of rows DJ failed to load
    match DJ's fallback; `inspect_style` "3.4" renders ActiveJob arguments like Ruby >= 3.4."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return _parse(text, max_bytes, last_error, inspect_style)
    except Exception as e:  # noqa: BLE001 - the contract: a parse error, never an exception
        return _unparseable(text if isinstance(text, str) else "", f"{type(e).__name__}: {e}")


def _unparseable(text: str, error: str) -> Handler:
    fallback = dj_fallback_name(text)
    return Handler(name=fallback or UNPARSEABLE, job_class=fallback or UNPARSEABLE, parse_error=error,
                   name_note=None if fallback else "Delayed Job itself fails to name this handler")


def _parse(text: str, max_bytes: int, last_error: str | None, style: str) -> Handler:
    try:
        tree = load_ruby_yaml(text, limits=Limits(max_bytes=max_bytes))
    except RubyYamlError as e:
        return _unparseable(text, str(e))
    handler = _from_tree(tree, style)
    handler.tree = tree
    if is_deserialization_error(last_error):
        fallback = dj_fallback_name(text)
        if fallback is not None:
            handler.name, handler.name_note = fallback, _NOTE_FALLBACK
    return handler


def _from_tree(tree: Any, style: str) -> Handler:
    if isinstance(tree, RubyObject) and tree.cls in (PERFORMABLE_METHOD, PERFORMABLE_MAILER):
        return _performable(tree.ivars, tree.cls, tree.ivars.get("method_name"))
    if isinstance(tree, RubyStruct) and tree.cls == PERFORMABLE_METHOD:  # DJ <= 2.0: key `method`
        return _performable(tree.members, tree.cls, tree.members.get("method", tree.members.get("method_name")))
    if isinstance(tree, RubyObject) and tree.cls == JOB_WRAPPER and isinstance(tree.ivars.get("job_data"), dict):
        return _active_job(tree.ivars["job_data"], style)
    if isinstance(tree, RubyStruct):
        return Handler(name=tree.cls, job_class=tree.cls, kind="struct", name_note=_NOTE_DISPLAY_NAME,
                       args=[to_jsonable(v) for v in tree.members.values()])
    if isinstance(tree, RubyObject):
        return Handler(name=tree.cls, job_class=tree.cls, kind="object", name_note=_NOTE_DISPLAY_NAME,
                       args=[to_jsonable(tree.ivars)] if tree.ivars else [])
    cls = ruby_class_name(tree)
    return Handler(name=cls, job_class=cls, kind="unknown", args=[to_jsonable(tree)],
                   name_note="not a job Delayed Job can run (no perform method)")


def _method_text(value: Any) -> str:
    if isinstance(value, RubySymbol):
        return value.name
    text = "" if value is None else str(to_jsonable(value))
    return text[1:] if text.startswith(":") else text


def _performable(fields: dict[Any, Any], cls: str, method: Any) -> Handler:
    """PerformableMethod / PerformableMailer: `display_name` from the receiver and method."""
    obj = fields.get("object")
    m = _method_text(method)
    kind = "performable_mailer" if cls == PERFORMABLE_MAILER else "performable_method"
    raw_args = fields.get("args")
    args = [to_jsonable(a) for a in raw_args] if isinstance(raw_args, list) else [to_jsonable(raw_args)]
    if isinstance(obj, RubyClass):
        name, receiver = f"{obj.name}.{m}", obj.name
        job_class = f"{obj.name}#{m}" if kind == "performable_mailer" else name
    elif isinstance(obj, RubyModule):
        name, receiver, job_class = f"Module#{m}", obj.name, f"{obj.name}.{m}"
    elif isinstance(obj, str) and obj.startswith("LOAD;"):  # DJ <= 2.0: "LOAD;Klass;id" / "LOAD;Klass"
        parts = obj.split(";")
        if len(parts) >= 3:
            name, receiver = f"{parts[1]}#{m}", f"{parts[1]}#{parts[2]}"
        else:
            name, receiver = f"{parts[1]}.{m}", parts[1]
        job_class = name
    else:
        klass = ruby_class_name(obj)
        name = job_class = f"{klass}#{m}"
        receiver = record_ref(obj) or klass
        if klass == PARAMETERIZED_MAILER and isinstance(obj, RubyObject):
            mailer = obj.ivars.get("mailer")
            if isinstance(mailer, RubyClass):
                receiver, job_class = mailer.name, f"{mailer.name}#{m}"
    return Handler(name=name, job_class=job_class, args=args, kind=kind, receiver=receiver, method_name=m)


def _text_or_none(v: Any) -> str | None:
    return None if v is None else str(to_jsonable(v))


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def parse_iso_time(v: Any) -> datetime | None:
    """ActiveJob's `enqueued_at` (`2026-11-27T19:53:09Z`, Rails >= 7.1 with 9 fraction digits) -> UTC."""
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=UTC)
    if not isinstance(v, str):
        return None
    try:
        t = datetime.fromisoformat(_ISO_FRACTION.sub(r"\1", v.strip()).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


def _active_job(data: dict[Any, Any], style: str) -> Handler:
    """JobWrapper: `"#{job_class} [#{job_id}] from DelayedJob(#{queue_name}) with arguments: #{arguments}"`."""
    job_class = data.get("job_class")
    arguments = data.get("arguments")
    jc_text = "" if job_class is None else str(to_jsonable(job_class))
    id_text = "" if data.get("job_id") is None else str(to_jsonable(data.get("job_id")))
    q_text = "" if data.get("queue_name") is None else str(to_jsonable(data.get("queue_name")))
    name = f"{jc_text} [{id_text}] from DelayedJob({q_text}) with arguments: {ruby_inspect(arguments, style)}"
    filter_class = jc_text
    if jc_text in MAIL_JOBS and isinstance(arguments, list) and len(arguments) >= 2 \
            and isinstance(arguments[0], str) and isinstance(arguments[1], str):
        filter_class = f"{arguments[0]}#{arguments[1]}"
    return Handler(name=name, job_class=filter_class or JOB_WRAPPER, args=decode_arguments(arguments),
                   kind="active_job", job_id=_text_or_none(data.get("job_id")),
                   queue_name=_text_or_none(data.get("queue_name")),
                   enqueued_at=parse_iso_time(data.get("enqueued_at")),
                   executions=_int_or_none(data.get("executions")), wrapper=JOB_WRAPPER,
                   priority=_int_or_none(data.get("priority")))
