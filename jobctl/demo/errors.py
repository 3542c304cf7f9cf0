"""Realistic `last_error` texts for the demo: `"#{message}\\n#{backtrace.join("\\n")}"` as DJ stores them.

Frames follow what delayed_job 4.1.9 on Ruby 3.1 / Rails 6.1 really records (shared fixture): the
app frame, DJ's PerformableMethod or ActiveJob execution chain, the worker loop, ending in the
`bin/delayed_job` daemon. No exception class is stored (DJ never writes it), so each message is
the one the named exception really produces.
"""

from __future__ import annotations

GEMS = "/usr/share/rubygems-integration/all/gems"
DJ = f"{GEMS}/delayed_job-4.1.9/lib/delayed"
AJ = f"{GEMS}/activejob-6.1.7.10/lib/active_job"
AS = f"{GEMS}/activesupport-6.1.7.10/lib/active_support"
RUBY = "/usr/lib/ruby/3.1.0"

_INVOKE = [
    f"{DJ}/backend/base.rb:81:in `block in invoke_job'",
    f"{DJ}/lifecycle.rb:61:in `block in initialize'",
    f"{DJ}/lifecycle.rb:66:in `execute'",
    f"{DJ}/lifecycle.rb:40:in `run_callbacks'",
    f"{DJ}/backend/base.rb:78:in `invoke_job'",
    f"{DJ}/worker.rb:230:in `block (2 levels) in run'",
    f"{RUBY}/timeout.rb:107:in `block in timeout'",
    f"{RUBY}/timeout.rb:117:in `timeout'",
    f"{DJ}/worker.rb:230:in `block in run'",
    f"{RUBY}/benchmark.rb:311:in `realtime'",
    f"{DJ}/worker.rb:229:in `run'",
    f"{DJ}/worker.rb:312:in `block in reserve_and_run_one_job'",
    f"{DJ}/lifecycle.rb:61:in `block in initialize'",
    f"{DJ}/lifecycle.rb:66:in `execute'",
    f"{DJ}/lifecycle.rb:40:in `run_callbacks'",
    f"{DJ}/worker.rb:312:in `reserve_and_run_one_job'",
    f"{DJ}/worker.rb:213:in `block in work_off'",
    f"{DJ}/worker.rb:212:in `times'",
    f"{DJ}/worker.rb:212:in `work_off'",
    f"{DJ}/worker.rb:175:in `block (4 levels) in start'",
    f"{RUBY}/benchmark.rb:311:in `realtime'",
    f"{DJ}/worker.rb:174:in `block (3 levels) in start'",
    f"{DJ}/lifecycle.rb:61:in `block in initialize'",
    f"{DJ}/lifecycle.rb:66:in `execute'",
    f"{DJ}/lifecycle.rb:40:in `run_callbacks'",
    f"{DJ}/worker.rb:173:in `block (2 levels) in start'",
    f"{DJ}/worker.rb:172:in `loop'",
    f"{DJ}/worker.rb:172:in `block in start'",
    f"{DJ}/command.rb:150:in `run'",
    f"{DJ}/command.rb:128:in `block in run_process'",
    "/srv/app/bin/delayed_job:5:in `<main>'",
]
_PERFORMABLE = [f"{DJ}/performable_method.rb:26:in `perform'"]
_ACTIVE_JOB = [
    f"{AJ}/execution.rb:48:in `block in perform_now'",
    f"{AS}/callbacks.rb:117:in `block in run_callbacks'",
    f"{AJ}/translation.rb:9:in `block (2 levels) in <module:Translation>'",
    f"{AS}/callbacks.rb:126:in `instance_exec'",
    f"{AS}/callbacks.rb:137:in `run_callbacks'",
    f"{AJ}/execution.rb:47:in `perform_now'",
    f"{AJ}/execution.rb:25:in `block in execute'",
    f"{AS}/callbacks.rb:98:in `run_callbacks'",
    f"{AJ}/execution.rb:23:in `execute'",
    f"{AJ}/queue_adapters/delayed_job_adapter.rb:42:in `perform'",
]
_NET = [
    f"{RUBY}/net/protocol.rb:219:in `rbuf_fill'",
    f"{RUBY}/net/protocol.rb:193:in `readuntil'",
    f"{RUBY}/net/protocol.rb:203:in `readline'",
    f"{RUBY}/net/http/response.rb:42:in `read_status_line'",
    f"{RUBY}/net/http/response.rb:31:in `read_new'",
    f"{RUBY}/net/http.rb:1609:in `block in transport_request'",
    f"{RUBY}/net/http.rb:1600:in `catch'",
    f"{RUBY}/net/http.rb:1600:in `transport_request'",
    f"{RUBY}/net/http.rb:1573:in `request'",
]
_DESERIALIZE = [
    f"{DJ}/psych_ext.rb:48:in `rescue in visit_Psych_Nodes_Mapping'",
    f"{DJ}/psych_ext.rb:45:in `visit_Psych_Nodes_Mapping'",
    f"{RUBY}/psych/visitors/visitor.rb:30:in `visit'",
    f"{RUBY}/psych/visitors/visitor.rb:6:in `accept'",
    f"{RUBY}/psych/visitors/to_ruby.rb:35:in `accept'",
    f"{RUBY}/psych/visitors/to_ruby.rb:345:in `block in revive_hash'",
    f"{RUBY}/psych/visitors/to_ruby.rb:343:in `each'",
    f"{RUBY}/psych/visitors/to_ruby.rb:343:in `each_slice'",
    f"{RUBY}/psych/visitors/to_ruby.rb:343:in `revive_hash'",
    f"{RUBY}/psych/visitors/to_ruby.rb:407:in `revive'",
    f"{RUBY}/psych/visitors/to_ruby.rb:213:in `visit_Psych_Nodes_Mapping'",
    f"{DJ}/psych_ext.rb:41:in `visit_Psych_Nodes_Mapping'",
    f"{RUBY}/psych/visitors/visitor.rb:30:in `visit'",
    f"{RUBY}/psych/visitors/visitor.rb:6:in `accept'",
    f"{RUBY}/psych/visitors/to_ruby.rb:35:in `accept'",
    f"{RUBY}/psych/visitors/to_ruby.rb:318:in `visit_Psych_Nodes_Document'",
    f"{RUBY}/psych/visitors/visitor.rb:30:in `visit'",
    f"{RUBY}/psych/visitors/visitor.rb:6:in `accept'",
    f"{RUBY}/psych/visitors/to_ruby.rb:35:in `accept'",
    f"{DJ}/psych_ext.rb:17:in `load_dj'",
    f"{DJ}/backend/base.rb:72:in `payload_object'",
    f"{DJ}/backend/base.rb:119:in `max_run_time'",
    f"{DJ}/worker.rb:293:in `max_run_time'",
    f"{DJ}/worker.rb:230:in `block in run'",
]


def _join(message: str, frames: list[str]) -> str:
    return message + "\n" + "\n".join(frames)


def runtime_error(message: str, app_frame: str, *, active_job: bool = False, performable: bool = False) -> str:
    """A RuntimeError (or any app error) raised in the job's own code."""
    chain = _ACTIVE_JOB if active_job else _PERFORMABLE if performable else []
    return _join(message, [app_frame, *chain, *_INVOKE])


def record_not_found(model: str, record_id: int, app_frame: str, *, active_job: bool = False) -> str:
    """ActiveRecord::RecordNotFound raised by the job's own `find`."""
    frames = [f"{GEMS}/activerecord-6.1.7.10/lib/active_record/core.rb:353:in `find'", app_frame,
              *(_ACTIVE_JOB if active_job else _PERFORMABLE), *_INVOKE]
    return _join(f"Couldn't find {model} with 'id'={record_id}", frames)


def deserialization_record_not_found(model: str, record_id: int) -> str:
    """DJ's own DeserializationError when the receiver record was deleted (the job never ran)."""
    msg = (f"ActiveRecord::RecordNotFound, class: {model}, primary key: {record_id} "
           f"(Couldn't find {model} with 'id'={record_id})")
    return _join(msg, [*_DESERIALIZE, *_INVOKE[9:]])


def net_read_timeout(app_frame: str) -> str:
    """Net::ReadTimeout (Ruby 3.1 message)."""
    return _join("Net::ReadTimeout with #<TCPSocket:(closed)>", [*_NET, app_frame, *_INVOKE])


def timeout_error(detail: str, app_frame: str) -> str:
    """Timeout::Error from the job's own `Timeout.timeout` block."""
    frames = [f"{RUBY}/timeout.rb:43:in `handle_timeout'", f"{RUBY}/timeout.rb:189:in `timeout'", app_frame,
              *_INVOKE]
    return _join(f"execution expired ({detail})", frames)


def worker_timeout(seconds: int) -> str:
    """Delayed::WorkerTimeout (Ruby 3.1 duplicates the suffix, as observed)."""
    suffix = f"(Delayed::Worker.max_run_time is only {seconds} seconds)"
    return _join(f"execution expired {suffix} {suffix}", [f"{RUBY}/timeout.rb:43:in `handle_timeout'", *_INVOKE[6:]])


def no_method_error(method: str, app_frame: str) -> str:
    """NoMethodError with Ruby 3.1's error_highlight snippet: a multi-line message."""
    msg = (f"undefined method `{method}' for nil:NilClass\n\n"
           f"    payload.fetch(:items).{method}\n"
           f"                         {'^' * (len(method) + 1)}")
    return _join(msg, [app_frame, *_INVOKE])
