"""The shared read commands, run as the real `jobctl` process against the Resque fixture."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from resque_data import dump_by_key, fixture_workers, load_dump, set_worker_clock

WRAPPER = "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"


@pytest.fixture
def url(redis_url: str, redis_client: Any, isolated_env: Any) -> str:
    load_dump(redis_client)
    return redis_url


def _ok(proc: Any) -> Any:
    assert proc.returncode == 0, proc.stderr
    return proc


def test_peek_low_limit_50_json_is_exactly_what_resque_runs_next(jobctl: Any, url: str) -> None:
    out = json.loads(_ok(jobctl("-u", url, "peek", "low", "--limit", "50", "-o", "json")).stdout)
    stored = dump_by_key()["queue:low"]["value"]
    assert len(out) == len(stored) == 10
    for i, (row, raw) in enumerate(zip(out, stored, strict=True)):
        payload = json.loads(raw)
        assert row["position"] == i and row["queue"] == "low" and row["id"] == f"low@{i}"
        assert row["raw"] == raw
        if payload["class"] == WRAPPER:
            assert row["wrapper"] == WRAPPER and row["job_class"] == payload["args"][0]["job_class"]
        else:
            assert row["job_class"] == payload["class"] and row["args"] == payload["args"]
    # the 65-bit integer survives all the way to stdout
    assert row_big(out) == 18446744073709551617


def row_big(rows: list[dict[str, Any]]) -> int:
    return next(r for r in rows if r["job_class"] == "ImportContacts")["args"][0]["options"]["big"]


def test_failed_group_by_exception_matches_the_dump(jobctl: Any, url: str) -> None:
    out = json.loads(_ok(jobctl("-u", url, "failed", "--group-by", "exception", "-o", "json")).stdout)
    expected = Counter(json.loads(v)["exception"] for v in dump_by_key()["failed"]["value"])
    assert {g["exception"]: g["count"] for g in out} == dict(expected)
    table = _ok(jobctl("-u", url, "failed", "--group-by", "class,exception")).stdout
    assert "CreditCardValidator::InvalidCard" in table and "COUNT" in table


def test_failed_listing_filters_and_show(jobctl: Any, url: str) -> None:
    rows = json.loads(_ok(jobctl("-u", url, "failed", "-n", "0", "-o", "json")).stdout)
    assert len(rows) == 31 and rows[0]["location"] == "resque:failed[30]"
    toxic = [json.loads(line) for line in _ok(jobctl("-u", url, "failed", "-q", "toxic", "-e", "RuntimeError",
                                                     "-n", "0", "-o", "jsonl")).stdout.splitlines()]
    assert toxic and all(r["queue"] == "toxic" and r["exception"] == "RuntimeError" for r in toxic)
    assert _ok(jobctl("-u", url, "failed", "--count", "--retried")).stdout.strip() == "1"
    oldest = json.loads(_ok(jobctl("-u", url, "failed", "--oldest-first", "-n", "2", "-o", "json")).stdout)
    assert [r["id"] for r in oldest] == [r["id"] for r in rows[::-1][:2]]
    shown = json.loads(_ok(jobctl("-u", url, "show", rows[8]["id"], "-o", "json")).stdout)
    assert shown["id"] == rows[8]["id"] and shown["raw"] in dump_by_key()["failed"]["value"]
    table = _ok(jobctl("-u", url, "show", rows[8]["id"], "--raw")).stdout
    assert "backtrace" in table and "location" in table and rows[8]["id"] in table
    # the table is newest first and warns on stderr that more may match
    proc = _ok(jobctl("-u", url, "failed", "-n", "3"))
    assert proc.stdout.index(rows[0]["id"]) < proc.stdout.index(rows[2]["id"]) and "more may match" in proc.stderr
    bad = jobctl("-u", url, "failed", "--error", "(unclosed")
    assert bad.returncode == 2 and "invalid regex" in bad.stderr


def test_show_escapes_hostile_text(jobctl: Any, url: str, redis_client: Any) -> None:
    evil = {"class": "Evil\x1b]0;pwned\x07", "args": ["\x1b[2J\u202egnp.exe", {"k": "\x9b31m"}]}
    redis_client.rpush("resque:queue:evil", json.dumps(evil))
    redis_client.sadd("resque:queues", "evil")
    for args in (("show", "evil@0", "--raw"), ("peek", "evil"), ("peek", "evil", "--raw"), ("queues",)):
        out = _ok(jobctl("-u", url, *args)).stdout
        assert "\x1b" not in out and "\u202e" not in out and "\x9b" not in out and "\x07" not in out, args
    assert "\\x1b" in _ok(jobctl("-u", url, "show", "evil@0")).stdout


def test_queues_workers_stats_tables(jobctl: Any, url: str, redis_client: Any) -> None:
    ids = fixture_workers()
    set_worker_clock(redis_client, datetime.fromtimestamp(int(redis_client.time()[0]), UTC), dead=[ids["dead"]])
    q = _ok(jobctl("-u", url, "queues")).stdout
    assert "total (6)" in q and "27" in q
    w = json.loads(_ok(jobctl("-u", url, "workers", "-o", "json")).stdout)
    assert {r["id"]: r["state"] for r in w} == {ids["dead"]: "stale", ids["idle"]: "idle", ids["busy"]: "working"}
    s = json.loads(_ok(jobctl("-u", url, "stats", "-o", "json")).stdout)
    assert (s["failed_counter"], s["failed_stored"], s["processed"]) == (30, 31, 70)
    assert "differs from the counter by +1" in _ok(jobctl("-u", url, "stats")).stdout


def test_trace_lists_every_command_of_a_pipeline(jobctl: Any, url: str) -> None:
    proc = _ok(jobctl("-u", url, "--trace", "queues"))
    assert "PIPELINE" in proc.stderr and "LLEN resque:queue:low" in proc.stderr
    assert "LINDEX resque:queue:toxic 0" in proc.stderr and "SMEMBERS resque:queues" in proc.stderr


def test_namespace_option_and_unreachable(jobctl: Any, redis_url: str, redis_client: Any, isolated_env: Any) -> None:
    load_dump(redis_client, namespace="app:jobs")
    out = json.loads(_ok(jobctl("-u", redis_url, "--namespace", "app:jobs", "queues", "-o", "json")).stdout)
    assert {r["name"] for r in out} == set(dump_by_key()["queues"]["value"])
    proc = jobctl("-u", "redis://:s3cret-pw@127.0.0.1:1/0", "queues")
    assert proc.returncode == 3 and "s3cret-pw" not in proc.stderr + proc.stdout and "***" in proc.stderr


def test_plugins_on_resque_and_unsupported_on_delayed_job(jobctl: Any, url: str, redis_client: Any,
                                                         dj_fixture_sqlite: str) -> None:
    sec = int(redis_client.time()[0])
    redis_client.zadd("resque:delayed_queue_schedule", {str(sec + 90): sec + 90})
    redis_client.rpush(f"resque:delayed:{sec + 90}", b'{"class":"Later","args":[1],"queue":"low"}')
    slots = json.loads(_ok(jobctl("-u", url, "scheduled", "-o", "json")).stdout)
    assert slots[0]["jobs"] == 1 and slots[0]["queues"] == {"low": 1}
    jobs = json.loads(_ok(jobctl("-u", url, "scheduled", "--jobs", "-o", "json")).stdout)
    assert jobs[0]["job_class"] == "Later" and jobs[0]["state"] == "scheduled"
    assert "no resque-status entries" in _ok(jobctl("-u", url, "status")).stdout
    for cmd in ("scheduled", "status"):
        proc = jobctl("-u", dj_fixture_sqlite, cmd)
        assert proc.returncode == 2 and "delayed_job target has none" in proc.stderr, proc.stderr
