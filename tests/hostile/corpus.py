"""The hostile corpus: what broken or malicious producers write into queues, generated in memory.

Every entry is an exact byte string as it would sit in Redis (a Resque queue entry or failure
record) or in a `delayed_jobs.handler` column. Big entries (10 MB payloads, 100,000-level nesting)
are built here on demand so nothing large is committed. Names are stable: tests report failures
by entry name.

Families (issue #9): invalid JSON, `""` tombstones, truncated payloads, non-UTF-8 and binary bytes,
10 MB payloads, 100,000-level nesting, huge integers and NaN/Infinity tokens, ANSI/CSI/OSC escape
sequences (colour, cursor moves, terminal title, OSC 8 hyperlinks, clear-screen), C1 controls,
bidi overrides and zero-width characters, Rich / Textual markup, YAML alias bombs, YAML
`!!python/...` constructor tags that would touch a canary file, deeply nested YAML, handlers over
the size cap, garbage failed_at values, duplicated entries, and queue / class / worker names with
spaces, colons, unicode and control characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MB = 1024 * 1024

# The string the issue names: terminal title + clear screen + Rich markup in one argument.
PWNED = "\x1b]0;pwned\x07\x1b[2J[bold red]x[/]"

ESCAPES: dict[str, str] = {
    "title": "\x1b]0;pwned\x07",
    "clear": "\x1b[2J\x1b[H",
    "colour": "\x1b[31;1mRED\x1b[0m",
    "cursor": "\x1b[10A\x1b[2K\x1b[1;1H",
    "osc8": "\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\",
    "c1": "\x9b31m\x9d0;c1title\x9c",
    "bidi": "invoice\u202egnp.exe\u2066x\u2069",
    "zero_width": "ad\u200bmin\u200d\ufeff\u2060",
    "bell_backspace_cr": "ok\x07\x08\x08XX\rOVERWRITE",
    "nul_del": "a\x00b\x7fc",
    "line_separators": "a\u2028b\u2029c",
}

MARKUP: dict[str, str] = {
    "rich": "[bold red]x[/]",
    "link": "[link=https://evil.example]click[/link]",
    "close": "[/]",
    "click": "[@click=app.quit]quit[/]",
    "emoji": ":skull: :warning:",
    "textual_var": "$accent [b]$text[/b]",
}

# Hostile names for queues, classes and workers (spaces, colons, unicode, control characters, markup).
HOSTILE_NAMES: dict[str, str] = {
    "space": "with space",
    "colons": "colon:in:name",
    "unicode": "ünïcødé-队列-🔥",
    "control": "ctl\x1b[2J\x07q",
    "markup": "[bold red]q[/]",
    "bidi": "bidi\u202eeuq",
    "newline": "nl\nname",
    "long": "L" * 1000,
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored value. `bad`: jobctl must mark it (parse_error set) - True, must not - False, or
    None where either reading is defensible (what Ruby itself does with it is not a parse error)."""

    name: str
    data: bytes
    bad: bool | None
    big: bool = False  # >= 1 MB: generous time bounds, excluded from per-entry `show` loops
    sql_safe: bool = True  # valid UTF-8 without NUL: PostgreSQL text can hold it
    tags: frozenset[str] = field(default_factory=frozenset)
    payload: bytes | None = None  # failure records: the exact payload bytes, when not derivable (see below)


def _j(obj: object) -> bytes:
    """Ruby's JSON.generate form: compact, non-ASCII kept, control characters \\u-escaped."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _job(klass: object, args: object) -> bytes:
    return _j({"class": klass, "args": args})


def _nested_list(depth: int) -> str:
    return "[" * depth + "]" * depth


def _nested_obj(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def activejob(job_class: str, arguments: list[object], job_id: str = "0f0e0d0c-hostile") -> dict[str, object]:
    return {"class": "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper", "args": [{
        "job_class": job_class, "job_id": job_id, "provider_job_id": None, "queue_name": "hostile",
        "priority": None, "arguments": arguments, "executions": 0, "exception_executions": {},
        "locale": "en", "timezone": "UTC", "enqueued_at": "2026-11-27T19:43:59Z"}]}


# --------------------------------------------------------------------------- Resque queue entries


def resque_jobs() -> list[Entry]:
    """Entries of the `hostile` queue, in queue order (position 0 first)."""
    big = "A" * (10 * MB)
    valid = _job("Archive", [44, "masterbrew"])
    e = [
        Entry("invalid_json_unclosed", b'{"class":"Broken","args":[1,2', True),
        Entry("invalid_json_text", b"this is not json at all", True),
        Entry("tombstone", b"", True),
        Entry("whitespace_only", b"  \n\t ", True),
        Entry("json_null", b"null", True),
        Entry("truncated_payload", valid[: len(valid) // 2], True),
        Entry("non_utf8_latin1", b'{"class":"Latin1Job","args":["caf\xe9 \xff\xfe"]}', True, sql_safe=False),
        Entry("binary_bytes", bytes(range(256)), True, sql_safe=False),
        Entry("utf16_with_bom", '{"class":"Utf16","args":[]}'.encode("utf-16"), True, sql_safe=False),
        Entry("utf8_bom_prefix", b'\xef\xbb\xbf{"class":"BomJob","args":[]}', True),
        Entry("big_10mb_valid", _job("BigPayloadJob", [big]), False, big=True),
        Entry("big_10mb_unterminated", b'{"class":"BigBroken","args":["' + b"B" * (10 * MB), True, big=True),
        Entry("deep_list_100k", f'{{"class":"DeepJob","args":{_nested_list(100_000)}}}'.encode(), True, big=False),
        Entry("deep_obj_100k", f'{{"class":"DeepObj","args":[{_nested_obj(100_000)}]}}'.encode(), True),
        Entry("deep_list_1000", f'{{"class":"Deep1000","args":{_nested_list(1000)}}}'.encode(), True),
        Entry("deep_list_200", f'{{"class":"Deep200","args":{_nested_list(200)}}}'.encode(), True),
        Entry("deep_list_99_allowed", f'{{"class":"Deep99","args":{_nested_list(99)}}}'.encode(), False),
        Entry("huge_int_30_digits", b'{"class":"BigInt","args":[123456789012345678901234567890,-18446744073709551617]}', False),
        Entry("huge_int_5000_digits", b'{"class":"HugeInt","args":[' + b"9" * 5000 + b"]}", True),
        Entry("nan_infinity_tokens", b'{"class":"NanJob","args":[NaN,Infinity,-Infinity]}', True),
        Entry("float_overflow", b'{"class":"Overflow","args":[1e999,-1e999,1e-999]}', False),
        Entry("lone_surrogates", b'{"class":"Surrogate","args":["\\ud800 \\udfff \\udc00x"]}', False),
        Entry("escape_arg_pwned", _job("EscapeJob", [PWNED]), False, tags=frozenset({"pwned"})),
        Entry("escape_all_families", _job("EscapeAll", list(ESCAPES.values())), False),
        Entry("raw_control_bytes_in_json", ('{"class":"RawCtl","args":["' + PWNED + '"]}').encode(), True),
        Entry("escape_in_class", _job("Evil\x1b]0;pwned\x07Job\x1b[2J", [1]), False),
        Entry("c1_and_bidi_class", _job("Invoice\u202eexe.Job\x9b31m", []), False),
        Entry("markup_args", _job("MarkupJob", list(MARKUP.values())), False),
        Entry("markup_class", _job("[bold red]Fake[/]Job", ["[link=https://evil.example]x[/link]"]), False),
        Entry("newline_class", _job("Multi\nLine\r\nClass", []), False),
        Entry("unicode_class", _job("Ünïcødé::Jöb名前", ["東京 太郎"]), False),
        Entry("empty_class", _job("", []), True),
        Entry("class_not_string", _job(123, []), True),
        Entry("no_class", b'{"args":[1]}', True),
        Entry("payload_is_array", b"[1,2,3]", True),
        Entry("args_not_array", _job("ArgsString", "just a string"), True),
        Entry("activejob_hostile", _j(activejob("Evil\x1b[2JJob", [PWNED, {"_aj_globalid": "gid://app/User/\x1b]0;x\x07"}])), False),
        Entry("activejob_broken_wrapper", _j({"class": "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper", "args": ["not a hash"]}), False),
        Entry("many_args_100k", _job("ManyArgs", list(range(100_000))), False),
        Entry("long_key_1mb", _j({"class": "LongKey", "args": [], "k" * MB: 1}), False, big=True),
        Entry("duplicate_a", _job("DuplicateJob", [1, PWNED]), False),
        Entry("duplicate_b", _job("DuplicateJob", [1, PWNED]), False),
        Entry("odd_formatting", b'{ "class" : "Spaced" ,\n "args" : [ "\\u001b[2J" , 1.50 ] , "extra\\u0007" : null }', False),
    ]
    return e


# --------------------------------------------------------------------------- Resque failure records


def failure_record(klass: object = "HostileJob", args: object = (), *, queue: object = "hostile",
                   failed_at: object = "2026/11/27 19:42:41 UTC", error: object = "boom",
                   exception: object = "RuntimeError", backtrace: object = ("/app/jobs/x.rb:7:in `perform'",),
                   worker: object = "vm:4242:hostile", payload: object = None, omit: tuple[str, ...] = (),
                   **extra: object) -> bytes:
    """A failure record in Resque's key order (failed_at, payload, exception, error, backtrace, worker, queue)."""
    rec: dict[str, object] = {
        "failed_at": failed_at,
        "payload": payload if payload is not None else {"class": klass, "args": list(args) if isinstance(args, (list, tuple)) else args},
        "exception": exception, "error": error,
        "backtrace": list(backtrace) if isinstance(backtrace, (list, tuple)) else backtrace,
        "worker": worker, "queue": queue, **extra,
    }
    for k in omit:
        rec.pop(k, None)
    return _j(rec)


_ODD_PAYLOAD = b'{ "class" : "Spaced" , "args" : [ "\\u001b]0;t\\u0007" , 1.50 ] }'


def resque_failures() -> list[Entry]:
    """Records of the `failed` list, oldest (index 0) first."""
    frames = [f"/app/jobs/evil.rb:{i}:in `perform' \x1b[2J[bold]frame[/]" for i in range(5)]
    dup = failure_record("DupFailJob", [7, PWNED], error="duplicated failure")
    e = [
        Entry("fail_hostile_everything", failure_record(
            "Evil\x1b]0;pwned\x07Job", [PWNED, MARKUP["click"], ESCAPES["osc8"]],
            error=PWNED + "\nsecond line " + ESCAPES["bidi"] + "\n" + MARKUP["link"],
            exception="[bold]Timeout::Error[/]\x1b[31m", backtrace=frames,
            worker="evil\x1b[2J:4242:hostile", queue="hostile"), False, tags=frozenset({"pwned"})),
        Entry("fail_garbage_failed_at_text", failure_record(failed_at="yesterday-ish \x1b[2J"), True),
        Entry("fail_failed_at_number", failure_record(failed_at=1795808598), False),  # read as epoch seconds
        Entry("fail_failed_at_impossible", failure_record(failed_at="9999/99/99 99:99:99 ZZZ"), True),
        Entry("fail_failed_at_bad_offset", failure_record(failed_at="2026/11/27 19:42:41 +99:99"), True),
        Entry("fail_failed_at_missing", failure_record(omit=("failed_at",)), True),
        Entry("fail_failed_at_object", failure_record(failed_at={"$date": PWNED}), True),
        Entry("fail_retried_at_garbage", failure_record(retried_at="\x1b[2Jsoon"), False),
        Entry("fail_invalid_json", b'{"failed_at":"2026/11/27 19:42:41 UTC","payload":{"class":', True),
        Entry("fail_tombstone", b"", True),
        Entry("fail_binary", b"\xff\xfe\x00\x1b[2J" + bytes(range(128, 256)), True, sql_safe=False),
        Entry("fail_non_utf8_error", failure_record(error="x").replace(b'"error":"x"', b'"error":"caf\xe9 \xff"'), True,
              sql_safe=False),
        Entry("fail_big_10mb_error", failure_record("BigErrorJob", [1], error="E" * (10 * MB)), False, big=True),
        Entry("fail_deep_payload_100k", b'{"failed_at":"2026/11/27 19:42:41 UTC","payload":{"class":"D","args":'
              + _nested_list(100_000).encode() + b'},"exception":"E","error":"e","queue":"hostile"}', True),
        Entry("fail_payload_string", failure_record(payload="just a string"), True),
        Entry("fail_payload_missing", failure_record(omit=("payload",)), True),
        Entry("fail_backtrace_string", failure_record(backtrace="one frame \x1b[2J[bold]x[/]"), False),
        Entry("fail_backtrace_100k_frames", failure_record(backtrace=[f"/app/x.rb:{i}" for i in range(100_000)]), False),
        Entry("fail_error_object", failure_record(error={"nested": [PWNED]}), False),
        Entry("fail_hostile_queue_name", failure_record("QueueNameJob", [1], queue=HOSTILE_NAMES["control"]), False),
        Entry("fail_markup_exception", failure_record(exception="[link=https://evil.example]Net::ReadTimeout[/link]"), False),
        Entry("fail_nan_args", b'{"failed_at":"2026/11/27 19:42:41 UTC","payload":{"class":"NanFail","args":[NaN]},'
              b'"exception":"E","error":"e","backtrace":[],"worker":"w","queue":"hostile"}', True),
        Entry("fail_big_int_payload", b'{"failed_at":"2026/11/27 19:42:41 UTC","payload":{"class":"BigIntFail",'
              b'"args":[123456789012345678901234567890]},"exception":"E","error":"e","backtrace":[],"worker":"w",'
              b'"queue":"hostile"}', False),
        Entry("fail_odd_formatting", b'{ "failed_at" : "2026/11/27 19:42:41 UTC" , "payload" : ' + _ODD_PAYLOAD
              + b' , "exception" : "E" , "error" : "e" , "queue" : "hostile" }', False, payload=_ODD_PAYLOAD),
        Entry("fail_activejob_hostile", failure_record(payload=activejob("Mailer\x1b[2J", ["UserMailer", PWNED])), False),
        Entry("fail_duplicate_a", dup, False),
        Entry("fail_duplicate_b", dup, False),
    ]
    return e


def expected_payload(e: Entry) -> bytes | None:
    """The bytes a requeue of failure `e` must push (None: no payload object to push).

    Independent of jobctl's span finder: the record is decoded with the stdlib and its payload
    re-encoded in the corpus's own (Ruby-like) form, which is byte-identical to what the record
    embeds; entries with unusual formatting carry `payload` explicitly.
    """
    if e.payload is not None:
        return e.payload
    try:
        text = e.data.decode("utf-8")
    except UnicodeDecodeError:
        text = e.data.decode("latin-1")
    try:
        rec = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(rec, dict) or not isinstance(rec.get("payload"), dict):
        return None
    p = _j(rec["payload"])
    assert p in e.data, f"{e.name}: payload not embedded verbatim"
    return p


def worker_entries() -> list[tuple[str, bytes | None, bytes | None, bytes | None]]:
    """(worker id, worker:<id> job JSON or None, started text or None, heartbeat or None)."""
    job = _j({"queue": "hostile", "run_at": "2026-11-27T19:43:45Z",
              "payload": {"class": "Evil\x1b[2JJob", "args": [PWNED]}})
    return [
        ("evil\x1b]0;pwned\x07host:4242:hostile", job, b"2026-11-27 19:42:41 +0000", b"2026-11-27T19:43:45+00:00"),
        ("host with spaces:99:q,with:colons", b"{not json", b"garbage start \x1b[2J", b"not a time"),
        ("[bold red]host[/]:abc:hostile", _j({"queue": 5, "run_at": "\x1b[2J", "payload": "x"}), None, None),
        ("ünïcødé-host:1:" + HOSTILE_NAMES["bidi"], None, b"\xff\xfe", b"\x1b]0;x\x07"),
        ("nocolons", b"", None, b"9999-99-99T99:99:99+99:99"),
    ]


# --------------------------------------------------------------------------- Delayed Job handlers


def billion_laughs(levels: int = 9) -> str:
    lines = ["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
    prev = "a"
    for i in range(levels - 1):
        name = chr(ord("b") + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    return "\n".join(lines) + "\n"


def performable(method: str, args: list[str] | str = "[]", obj: str = "!ruby/class 'User'") -> str:
    """A PerformableMethod handler; `args`: YAML scalars (one `- item` line each) or a flow sequence."""
    body = args if isinstance(args, str) else "\n" + "".join(f"- {a}\n" for a in args)
    return f"--- !ruby/object:Delayed::PerformableMethod\nobject: {obj}\nmethod_name: {method}\nargs: {body.rstrip()}\n"


_YAML_DQ_ESCAPE = re.compile("[\\\\\"\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\u2028\u2029\ufeff]")


def _yaml_dq_char(m: re.Match[str]) -> str:
    ch = m.group(0)
    o = ord(ch)
    if ch in '\\"':
        return "\\" + ch
    if ch == "\x1b":
        return "\\e"
    if ch == "\x07":
        return "\\a"
    return f"\\x{o:02x}" if o <= 0xff else f"\\u{o:04x}"


def _yaml_dq(s: str) -> str:
    """A YAML double-quoted scalar using YAML's own escapes (\\e, \\a, \\x9b, \\u202e …)."""
    return '"' + _YAML_DQ_ESCAPE.sub(_yaml_dq_char, s) + '"'


def dj_handlers(canary: Path) -> list[Entry]:
    """Handlers of the `hostile` queue. `canary`: a directory no entry may write into."""
    touch = canary / "os_system"
    opened = canary / "open_w"
    popen = canary / "popen"
    big_arg = "Z" * (2 * MB)
    ten = "T" * (10 * MB)
    valid_big = performable(":deliver", [_yaml_dq(big_arg)])
    e = [
        Entry("yaml_alias_bomb", ("--- !ruby/struct:Bomb\n" + "\n".join("  " + x for x in billion_laughs().splitlines())
                                  + "\n").encode(), True, tags=frozenset({"bomb"})),
        Entry("yaml_alias_bomb_plain", ("--- \n" + billion_laughs(10)).encode(), True, tags=frozenset({"bomb"})),
        Entry("yaml_merge_key_bomb", ("--- !ruby/object:Merge\n" + "base: &b {x: 1}\n"
                                      + "".join(f"l{i}: &l{i}\n  <<: [{', '.join(['*b'] + [f'*l{j}' for j in range(max(0, i - 8), i)])}]\n"
                                                for i in range(40))).encode(), True, tags=frozenset({"bomb"})),
        Entry("python_apply_os_system", f"--- !!python/object/apply:os.system [\"touch {touch}\"]\n".encode(), False,
              tags=frozenset({"exec"})),
        Entry("python_apply_open", f"--- !!python/object/apply:builtins.open [\"{opened}\", \"w\"]\n".encode(), False,
              tags=frozenset({"exec"})),
        Entry("python_new_popen", f"--- !!python/object/new:subprocess.Popen [[\"touch\", \"{popen}\"]]\n".encode(), False,
              tags=frozenset({"exec"})),
        Entry("python_name_in_struct", ("--- !ruby/struct:Evil\ncmd: !!python/name:os.system\n"
                                        f"run: !!python/object/apply:os.system [\"touch {touch}\"]\n").encode(), False,
              tags=frozenset({"exec"})),
        Entry("ruby_gem_gadget", b"--- !ruby/object:Gem::Installer\ni: x\n--- !ruby/object:Gem::SpecFetcher\ni: y\n"
              b"--- !ruby/object:Gem::Requirement\nrequirements: !ruby/object:Gem::Package::TarReader\n  io: &1 "
              b"!ruby/object:Net::BufferedIO\n    io: &1 !ruby/object:Gem::Package::TarReader::Entry\n       read: 0\n"
              b"       header: \"abc\"\n    debug_output: &1 !ruby/object:Net::WriteAdapter\n       socket: &1 "
              b"!ruby/object:Gem::RequestSet\n           sets: !ruby/object:Net::WriteAdapter\n               socket: "
              b"!ruby/module 'Kernel'\n               method_id: :system\n           git_set: \"touch /tmp/x\"\n"
              b"       method_id: :resolve\n", True),
        Entry("yaml_deep_flow_100k", ("--- !ruby/struct:Deep\nx: " + "[" * 100_000 + "]" * 100_000 + "\n").encode(), True),
        Entry("yaml_deep_block_1000", ("--- !ruby/struct:DeepBlock\n" + "".join(" " * i + f"k{i}:\n" for i in range(1000))
                                       + " " * 1000 + "v: 1\n").encode(), True),
        Entry("yaml_deep_tags_300", ("--- " + "".join(f"!ruby/object:N{i}\n" + "  " * (i + 1) + "c: " for i in range(300))
                                     + "1\n").encode(), True),
        Entry("over_cap_2mb", valid_big.encode(), True, big=True),
        Entry("huge_10mb", performable(":deliver", [_yaml_dq(ten)]).encode(), True, big=True),
        Entry("invalid_yaml", b"--- !ruby/object:Broken\n  bad: [unclosed\n  : : :\n", True),
        Entry("truncated_mysql_text", valid_big.encode()[:65535], True),
        Entry("empty_handler", b"", None),  # Psych loads "" as false: a job that fails to perform
        Entry("plain_string_handler", b"just some text, no tag", None),
        Entry("escape_method_pwned", performable(_yaml_dq(":" + PWNED), [_yaml_dq(PWNED)]).encode(), False,
              tags=frozenset({"pwned"})),
        Entry("escape_all_args", performable(":notify", [_yaml_dq(v) for v in ESCAPES.values()]).encode(),
              False),
        Entry("markup_args", performable(":notify", [_yaml_dq(v) for v in MARKUP.values()]).encode(),
              False),
        Entry("unicode_class_tag", "--- !ruby/object:Ünïcødé::Jöb\nname: 東京\n".encode(), True),  # libyaml: not a tag
        Entry("struct_class_escape", b"--- !ruby/struct:Evil\nname: \"\\e]0;pwned\\a\"\n", False),
        Entry("yaml_huge_int", performable(":count", ["9" * 5000]).encode(), None),  # Python's int digit limit
        Entry("yaml_nan_inf", performable(":ratio", "[.nan, .inf, -.inf, 1e999]").encode(), False),
        Entry("yaml_non_utf8", b"--- !ruby/struct:Latin1\nname: caf\xe9 \xff\n", None, sql_safe=False),
        Entry("yaml_nul_byte", b"--- !ruby/struct:Nul\nname: a\x00b\n", None, sql_safe=False),
        Entry("activejob_hostile", ("--- !ruby/object:ActiveJob::QueueAdapters::DelayedJobAdapter::JobWrapper\n"
                                    "job_data:\n  job_class: " + _yaml_dq("Evil\x1b[2JJob") + "\n  job_id: x\n"
                                    "  queue_name: hostile\n  arguments:\n  - " + _yaml_dq(PWNED) + "\n"
                                    "  - _aj_globalid: " + _yaml_dq("gid://app/User/\x1b]0;t\x07") + "\n").encode(), False),
        Entry("syck_era_load", b"--- !ruby/object:Delayed::PerformableMethod\nobject: LOAD;User;1\nmethod: :x\nargs: []\n",
              False),
        Entry("binary_garbage_tag", b"--- !binary |-\n  ////AAAbWzJK\n", False),
        Entry("multi_document", b"--- !ruby/struct:A\nx: 1\n--- !ruby/struct:B\ny: 2\n", True),
        Entry("crlf_tabs", b"--- !ruby/struct:Crlf\r\nname:\t\"x\"\r\n", False),
        Entry("duplicate_a", performable(":dup", [_yaml_dq(PWNED)]).encode(), False),
        Entry("duplicate_b", performable(":dup", [_yaml_dq(PWNED)]).encode(), False),
    ]
    return e


def dj_last_errors() -> dict[str, str]:
    """last_error texts for failed rows (message + backtrace)."""
    frames = "\n".join(f"/app/jobs/evil.rb:{i}:in `perform' \x1b[2J[bold]f[/]" for i in range(5))
    return {
        "hostile": f"{PWNED} {ESCAPES['bidi']} {MARKUP['click']}\n{frames}",
        "big": "E" * (10 * MB) + "\n/app/x.rb:1:in `perform'",
        "markup": "[link=https://evil.example]Net::ReadTimeout[/link]: timed out\n/app/x.rb:1",
    }


def counts() -> dict[str, int]:
    """How many entries each family has (the issue asks for >= 50 in all)."""
    return {"resque_jobs": len(resque_jobs()), "resque_failures": len(resque_failures()),
            "workers": len(worker_entries()), "names": len(HOSTILE_NAMES),
            "dj_handlers": len(dj_handlers(Path("/nonexistent")))}


def iter_text_entries(entries: list[Entry]) -> Iterator[Entry]:
    """Entries small enough for per-entry loops (show each one, Pilot each one)."""
    return (x for x in entries if not x.big)
