"""jobctl.parse.resque_payload / resque_time against every entry of the real Resque fixture and
against the hostile shapes real Redis data contains (tombstones, invalid JSON, non-UTF-8 …)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from resque_data import dump_by_key

from jobctl.parse.resque_payload import parse_failure, parse_job, unwrap_aj_value
from jobctl.parse.resque_time import has_zone, parse_resque_time
from jobctl.render.fields import short_args

WRAPPER = "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"


def _queue_entries() -> list[tuple[str, int, str]]:
    out = []
    for short, e in dump_by_key().items():
        if short.startswith("queue:"):
            out += [(short[6:], i, v) for i, v in enumerate(e["value"])]
    return out


def test_every_fixture_queue_entry_parses_to_its_stored_class_and_args() -> None:
    entries = _queue_entries()
    assert len(entries) == 27
    for queue, i, raw in entries:
        stored = json.loads(raw)
        job = parse_job(raw.encode(), queue=queue, position=i, id=f"{queue}@{i}")
        assert job.parse_error is None, (queue, i, job.parse_error)
        assert job.state == "ready" and job.raw == raw and job.size == len(raw.encode())
        if stored["class"] == WRAPPER:
            aj = stored["args"][0]
            assert job.wrapper == WRAPPER and job.job_class == aj["job_class"]
            assert job.job_id == aj["job_id"] and job.attempts == aj["executions"]
            assert job.enqueued_at == datetime.fromisoformat(aj["enqueued_at"].replace("Z", "+00:00"))
            assert job.name.endswith("(via ActiveJob)")
            assert job.args == unwrap_aj_value(aj["arguments"])
        else:
            assert (job.job_class, job.name, job.args, job.wrapper) == (stored["class"], stored["class"],
                                                                       stored["args"], None)


def test_big_ints_and_odd_floats_survive_decoding() -> None:
    raw = dump_by_key()["queue:low"]["value"][6]
    job = parse_job(raw.encode(), queue="low", position=6, id="low@6")
    opts = job.args[0]["options"]
    assert opts["big"] == 18446744073709551617 and opts["neg_big"] == -9223372036854775808
    assert opts["huge_float"] == 1e20 and opts["threshold"] == 1e-09 and str(opts["neg_zero"]) == "-0.0"


def test_mailer_and_activejob_markers_are_unwrapped() -> None:
    raw = dump_by_key()["queue:mailers"]["value"][4]
    job = parse_job(raw.encode(), queue="mailers", position=4, id="mailers@4")
    assert job.job_class == "ActionMailer::MailDeliveryJob"
    assert job.name == "UserMailer#welcome (via ActiveJob)"
    assert job.args == ["UserMailer", "welcome", "deliver_now", {"args": [21]}]  # _aj_ruby2_keywords dropped


def test_globalid_and_serializers() -> None:
    payload = {"class": WRAPPER, "args": [{
        "job_class": "ReportJob", "job_id": "0b1f", "arguments": [
            {"_aj_globalid": "gid://myapp/User/7"},
            {"_aj_serialized": "ActiveJob::Serializers::SymbolSerializer", "value": "fast"},
            {"_aj_serialized": "ActiveJob::Serializers::TimeSerializer", "value": "2024-05-01T12:00:00.000000000Z"},
            {"k": 1, "_aj_symbol_keys": ["k"], "_aj_hash_with_indifferent_access": True},
        ],
        "executions": 2, "priority": 5, "enqueued_at": "2026-11-27T19:43:59.123456789Z", "scheduled_at": None}]}
    job = parse_job(json.dumps(payload).encode(), queue="default", position=0, id="default@0")
    assert job.args == ["User/7", ":fast", "2024-05-01T12:00:00.000000000Z", {"k": 1}]
    assert job.attempts == 2 and job.priority == 5 and job.name == "ReportJob (via ActiveJob)"
    assert job.enqueued_at == datetime(2026, 11, 27, 19, 43, 59, 123456, tzinfo=UTC)
    assert job.extra["activejob"]["scheduled_at"] is None
    assert short_args(job.args) == '"User/7", ":fast", "2024-05-01T12:00:00.000000000Z", {k: 1}'


@pytest.mark.parametrize(("raw", "needle"), [
    (b"", "tombstone"),
    (b"{not json", "invalid JSON"),
    (b"[1,2]", "not an object"),
    (b'{"args":[1]}', "no 'class'"),
    (b'{"class":"X","args":["caf\xe9"]}', "not valid UTF-8"),
    (b'{"class":"X","args":{"a":1}}', "not an array"),
    (b"\xff\xfe\x00garbage", "invalid JSON"),
])
def test_bad_queue_entries_become_marked_rows(raw: bytes, needle: str) -> None:
    job = parse_job(raw, queue="q", position=3, id="q@3")
    assert job.state == "bad" and needle in (job.parse_error or "")
    assert job.position == 3 and job.size == len(raw) and job.raw is not None


def test_unknown_extra_fields_are_kept_not_bad() -> None:
    job = parse_job(b'{"class":"Archive","args":[1],"queue":"file_serve","failure_id":"u-1"}', queue="q",
                    position=0, id="q@0")
    assert job.state == "ready" and job.extra == {"queue": "file_serve", "failure_id": "u-1"}


def test_every_fixture_failure_parses_with_its_stored_fields() -> None:
    values = dump_by_key()["failed"]["value"]
    assert len(values) == 31
    for i, raw in enumerate(values):
        stored = json.loads(raw)
        f = parse_failure(raw.encode(), key="resque:failed", index=i, id=f"id{i}")
        assert f.parse_error is None, (i, f.parse_error)
        assert f.location == f"resque:failed[{i}]"
        assert f.queue == stored["queue"] and f.exception == stored["exception"] and f.worker == stored["worker"]
        assert f.error_full == stored["error"] and f.error == stored["error"].split("\n")[0]
        assert f.backtrace == stored["backtrace"]
        assert f.failed_at == datetime.strptime(stored["failed_at"], "%Y/%m/%d %H:%M:%S UTC").replace(tzinfo=UTC)
        assert (f.retried_at is not None) == ("retried_at" in stored)
        cls = stored["payload"]["class"]
        assert f.job_class == (stored["payload"]["args"][0]["job_class"] if cls == WRAPPER else cls)


def test_bad_failure_records() -> None:
    for raw, needle in ((b"", "tombstone"), (b'"just a string"', "not an object"),
                        (b'{"failed_at":"2026/11/27 19:00:00 UTC","payload":"x","exception":"E","error":"e"}',
                         "payload is a JSON str")):
        f = parse_failure(raw, key="resque:failed", index=7, id="x")
        assert needle in (f.parse_error or ""), f.parse_error
        assert f.location == "resque:failed[7]" and f.raw is not None
    f = parse_failure(b'{"failed_at":"garbage","payload":{"class":"A","args":[]},"exception":"E","error":"m"}',
                      key="k", index=0, id="x")
    assert f.job_class == "A" and f.failed_at is None and "failed_at" in (f.parse_error or "")


@pytest.mark.parametrize(("text", "expected"), [
    ("2026/11/27 19:42:41 UTC", datetime(2026, 11, 27, 19, 42, 41, tzinfo=UTC)),
    ("2026/11/27 19:42:41 CEST", datetime(2026, 11, 27, 17, 42, 41, tzinfo=UTC)),
    ("2026/11/27 19:42:41 PST", datetime(2026, 11, 28, 3, 42, 41, tzinfo=UTC)),
    ("2026/11/27 19:42:41 +03", datetime(2026, 11, 27, 16, 42, 41, tzinfo=UTC)),
    ("2026/11/27 19:42:41 W. Europe Standard Time", datetime(2026, 11, 27, 18, 42, 41, tzinfo=UTC)),
    ("2026/11/27 19:42:41", datetime(2026, 11, 27, 19, 42, 41, tzinfo=UTC)),  # no zone: read as UTC (guess)
    ("2026-11-27 19:51:54 +0000", datetime(2026, 11, 27, 19, 51, 54, tzinfo=UTC)),
    ("2026-11-27 19:51:54 -0800", datetime(2026, 11, 28, 3, 51, 54, tzinfo=UTC)),
    ("2026-11-27T19:43:45+00:00", datetime(2026, 11, 27, 19, 43, 45, tzinfo=UTC)),
    ("2026-11-27T19:43:59.123456789Z", datetime(2026, 11, 27, 19, 43, 59, 123456, tzinfo=UTC)),
    ("Fri Nov 27 19:42:41 -0800 2026", datetime(2026, 11, 28, 3, 42, 41, tzinfo=UTC)),
    ("Fri Nov 27 19:42:41 UTC 2026", datetime(2026, 11, 27, 19, 42, 41, tzinfo=UTC)),
    ("1764272700", datetime.fromtimestamp(1764272700, UTC)),
    ("not a time", None), ("", None), ("2026/13/45 99:99:99 UTC", None),
])
def test_every_resque_time_form(text: str, expected: datetime | None) -> None:
    assert parse_resque_time(text) == expected
    if expected is not None:
        assert parse_resque_time(text).tzinfo is not None  # type: ignore[union-attr]


def test_zone_awareness_flag() -> None:
    assert has_zone("2026/11/27 19:42:41 UTC") and not has_zone("2026/11/27 19:42:41")
    assert parse_resque_time(1764272700) == datetime(2025, 11, 27, 19, 45, tzinfo=UTC)
    assert parse_resque_time("2026/11/27 19:42:41 +0530") == datetime(2026, 11, 27, 19, 42, 41,
                                                                      tzinfo=timezone(timedelta(hours=5, minutes=30)))
