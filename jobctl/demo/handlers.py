"""Handler texts for the demo, in the exact shapes delayed_job 4.1.9 + Rails 6.1 write them.

Each builder mirrors one real enqueue call (shapes copied from the shared fixture and
docs/delayed-job-format.md §2.2):

* `performable_method_on_record` — `User.find(id).delay.send_heavy_report(...)`: the record with
  Rails 6.1 `concise_attributes` exactly as loaded from SQLite (datetimes as the stored text)
* `performable_method_on_class` — `User.delay(queue: "low").cleanup(14)`
* `performable_mailer`, `parameterized_mailer` — `UserMailer.delay.welcome(...)`, `UserMailer.with(...)`
* `active_job` — `ExportUsersJob.perform_later(...)` through the `:delayed_job` adapter
  (`arguments` already in ActiveJob's serialized form: GlobalIDs, `_aj_serialized`, markers)
* `mail_delivery_job` — `UserMailer.with(...).welcome(user).deliver_later` (MailDeliveryJob)
* `struct_job`, `object_job` — `Delayed::Job.enqueue NewsletterJob.new(...)` / a plain object
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobctl.demo.psych import Tagged, emit
from jobctl.parse.ruby_types import RubyClass, RubyModule, RubySymbol

APP = "jobctl-demo"  # GlobalID.app (tests/ruby/app.rb uses the same)
ATTRIBUTE_TAG = "!ruby/object:ActiveModel::Attribute::FromDatabase"
JOB_WRAPPER_TAG = "!ruby/object:ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper"


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A row of the demo's `users` table (the columns of the shared fixture's users table)."""

    id: int
    name: str
    email: str | None
    locale: str
    created_at: str  # SQLite text, exactly as stored
    updated_at: str


def record(user: DemoUser) -> Tagged:
    """`!ruby/object:User` as Rails 6.1 dumps a record freshly loaded from SQLite (nil values omitted)."""
    attrs = []
    for name, value in (("id", user.id), ("name", user.name), ("email", user.email), ("locale", user.locale),
                        ("created_at", user.created_at), ("updated_at", user.updated_at)):
        fields: dict[str, Any] = {"name": name}
        if value is not None:
            fields["value_before_type_cast"] = value
        attrs.append(Tagged(ATTRIBUTE_TAG, fields))
    return Tagged("!ruby/object:User", {"concise_attributes": attrs, "new_record": False,
                                       "active_record_yaml_version": 2})


def sym(name: str) -> RubySymbol:
    return RubySymbol(name)


def performable_method_on_record(user: DemoUser, method: str, args: list[Any]) -> str:
    return emit(Tagged("!ruby/object:Delayed::PerformableMethod",
                       {"object": record(user), "method_name": sym(method), "args": args}))


def performable_method_on_class(cls: str, method: str, args: list[Any]) -> str:
    return emit(Tagged("!ruby/object:Delayed::PerformableMethod",
                       {"object": RubyClass(cls), "method_name": sym(method), "args": args}))


def performable_method_on_module(module: str, method: str, args: list[Any]) -> str:
    return emit(Tagged("!ruby/object:Delayed::PerformableMethod",
                       {"object": RubyModule(module), "method_name": sym(method), "args": args}))


def performable_mailer(mailer: str, method: str, args: list[Any]) -> str:
    return emit(Tagged("!ruby/object:Delayed::PerformableMailer",
                       {"object": RubyClass(mailer), "method_name": sym(method), "args": args}))


def parameterized_mailer(mailer: str, params: dict[Any, Any], method: str, args: list[Any]) -> str:
    obj = Tagged("!ruby/object:ActionMailer::Parameterized::Mailer", {"mailer": RubyClass(mailer), "params": params})
    return emit(Tagged("!ruby/object:Delayed::PerformableMailer",
                       {"object": obj, "method_name": sym(method), "args": args}))


def globalid(model: str, record_id: int) -> dict[str, str]:
    return {"_aj_globalid": f"gid://{APP}/{model}/{record_id}"}


def aj_symbol(name: str) -> dict[str, str]:
    return {"_aj_serialized": "ActiveJob::Serializers::SymbolSerializer", "value": name}


def aj_time_with_zone(iso: str) -> dict[str, str]:
    return {"_aj_serialized": "ActiveJob::Serializers::TimeWithZoneSerializer", "value": iso}


def aj_kwargs(**kwargs: Any) -> dict[str, Any]:
    """Keyword arguments as ActiveJob 6.1 serializes them (`_aj_ruby2_keywords` marker)."""
    return {**kwargs, "_aj_ruby2_keywords": list(kwargs)}


def active_job(job_class: str, job_id: str, queue: str | None, arguments: list[Any], enqueued_at: str, *,
               priority: int | None = None, executions: int = 0, exceptions: dict[str, int] | None = None,
               timezone: str | None = None) -> str:
    """The JobWrapper handler; `enqueued_at` like Rails 6.1: `2026-11-27T19:53:09Z`."""
    job_data = {"job_class": job_class, "job_id": job_id, "provider_job_id": None, "queue_name": queue,
                "priority": priority, "arguments": arguments, "executions": executions,
                "exception_executions": exceptions or {}, "locale": "en", "timezone": timezone,
                "enqueued_at": enqueued_at}
    return emit(Tagged(JOB_WRAPPER_TAG, {"job_data": job_data}))


def mail_delivery_job(job_id: str, mailer: str, method: str, enqueued_at: str, *, params: dict[str, Any] | None = None,
                      args: list[Any] | None = None) -> str:
    """`Mailer.with(params).method(*args).deliver_later` through ActionMailer::MailDeliveryJob."""
    payload: dict[str, Any] = {}
    if params is not None:
        payload["params"] = {**params, "_aj_symbol_keys": list(params)}
    payload["args"] = args or []
    payload["_aj_ruby2_keywords"] = list(payload)
    return active_job("ActionMailer::MailDeliveryJob", job_id, "mailers", [mailer, method, "deliver_now", payload],
                      enqueued_at)


def struct_job(cls: str, members: dict[str, Any]) -> str:
    return emit(Tagged(f"!ruby/struct:{cls}", members))


def object_job(cls: str, ivars: dict[str, Any]) -> str:
    return emit(Tagged(f"!ruby/object:{cls}", ivars))
