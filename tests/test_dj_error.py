"""jobctl.parse.dj_error on every real `last_error` of the fixture, plus the shapes the format doc records."""

from __future__ import annotations

import pytest
from dj_data import TAGS, fixture_rows

from jobctl.parse.dj_error import infer_exception, parse_last_error, split_last_error


@pytest.mark.parametrize("tag", TAGS)
def test_fixture_errors_split_back_into_the_stored_text(tag: str) -> None:
    seen = 0
    for r in fixture_rows(tag):
        text = r["last_error"]
        if text is None:
            assert parse_last_error(text) is None
            continue
        seen += 1
        e = parse_last_error(text)
        assert e is not None
        # DJ wrote "#{message}\n#{backtrace.join("\n")}": the split must give exactly that back
        assert e.message_full + "\n" + "\n".join(e.backtrace) == text.rstrip("\n") or (
            not e.backtrace and e.message_full == text.rstrip("\n"))
        assert e.backtrace, r["id"]
        assert all(":in " in f for f in e.backtrace)
        assert e.message == text.split("\n", 1)[0]
    assert seen == 20  # 18 failed + 2 retrying rows carry an error


def test_multiline_and_non_ascii_messages() -> None:
    rows = {r["id"]: r for r in fixture_rows("pg")}
    e = parse_last_error(rows[22]["last_error"])
    assert e is not None and e.message == "invalid options:"
    assert e.message_full.splitlines()[1:] == ['  - :mode "turbo" is not one of [:fast, :safe]',
                                              "  - :retries must be positive, got 0", "see docs/jobs.md"]
    e = parse_last_error(rows[21]["last_error"])
    assert e is not None and e.message_full == "boom: nested\nnewline in args"
    e = parse_last_error(rows[3]["last_error"])
    assert e is not None and e.message == "User 3 (东京 太郎) has no email address"
    assert parse_last_error(rows[3]["last_error"].encode()) == e


def test_error_highlight_snippet_stays_in_the_message() -> None:
    text = ("undefined method `members' for nil:NilClass\n\n      object.send(symbol, *args)\n            ^^^^^\n"
            "/srv/app/models/x.rb:54:in `perform'\n<internal:kernel>:90:in `tap'\n"
            "/usr/lib/ruby/3.4.0/timeout.rb:1:in 'Timeout.timeout'")
    e = parse_last_error(text)
    assert e is not None
    assert e.exception == "NoMethodError"
    assert e.message_full.endswith("^^^^^") and len(e.backtrace) == 3


def test_message_without_backtrace_and_a_first_line_that_looks_like_a_frame() -> None:
    assert split_last_error("Error while trying to deserialize arguments: x\n") == (
        "Error while trying to deserialize arguments: x", [])
    assert split_last_error("/etc/app.yml:3\n/a.rb:1:in `x'") == ("/etc/app.yml:3", ["/a.rb:1:in `x'"])
    assert split_last_error("") == ("", [])


@pytest.mark.parametrize("message, exception", [
    ("Job failed to load: undefined class/module LegacyBillingJob. Handler: \"--- !ruby/object:X\\n\"",
     "Delayed::DeserializationError"),
    ("ActiveRecord::RecordNotFound, class: User, primary key: 2 (Couldn't find User with 'id'=2)",
     "Delayed::DeserializationError"),
    ("execution expired (Delayed::Worker.max_run_time is only 1 second) (Delayed::Worker.max_run_time is only "
     "1 second)", "Delayed::WorkerTimeout"),
    ("execution expired (https://down.example.net/hook)", "Timeout::Error"),
    ("Error while trying to deserialize arguments: Couldn't find User with 'id'=\"10\"",
     "ActiveJob::DeserializationError"),
    ("Couldn't find User with 'id'=9", "ActiveRecord::RecordNotFound"),
    ("Validation failed: Email can't be blank", "ActiveRecord::RecordInvalid"),
    ("No such file or directory @ rb_sysopen - /srv/imports/missing.csv", "Errno::ENOENT"),
    ("Connection refused - connect(2) for \"db\" port 5432", "Errno::ECONNREFUSED"),
    ("PG::UniqueViolation: ERROR:  duplicate key value violates unique constraint", "PG::UniqueViolation"),
    ("Net::ReadTimeout with #<TCPSocket:(closed)>", "Net::ReadTimeout"),
    ("divided by 0", "ZeroDivisionError"),
    ("uninitialized constant Foo::Bar", "NameError"),
    ("boom: poisoned payload #7000 (bad checksum)", None),
    ("card declined for user 2: 75000 USD", None),
])
def test_exception_inference(message: str, exception: str | None) -> None:
    assert infer_exception(message) == exception
