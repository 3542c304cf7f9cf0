"""Every jobctl command against the hostile corpus in a real (private) Redis, Resque layout.

Each command must finish within a generous bound, keep its peak RSS bounded, print no raw
control / bidi / zero-width character (stdout and stderr bytes are checked), never interpret
markup (the literal `[bold red]` text survives), mark bad entries, and - for read commands - send
no write command to Redis (INFO commandstats). requeue/discard move or delete the exact bytes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hostile.checks import (
    Measured,
    assert_bounded,
    assert_safe,
    no_traceback,
    run_inprocess,
    run_measured,
    unsafe_chars,
)
from hostile.corpus import MARKUP, PWNED, counts, expected_payload
from hostile.loaders import HOSTILE_QUEUE, ResqueCorpus, load_resque, monitor_capture
from servers import RedisServer
from test_tui_support import WRITE_COMMANDS, commandstats

SECONDS = 30.0  # generous: the corpus holds 10 MB entries and the CI machine is shared
RSS_MB = 350.0


def strict_json(data: bytes) -> Any:
    """json.loads that refuses NaN/Infinity: our JSON output must be JSON."""
    def refuse(token: str) -> Any:
        raise AssertionError(f"non-JSON token {token} in output")

    return json.loads(data, parse_constant=refuse)


@pytest.fixture(scope="module")
def corpus() -> Iterator[tuple[RedisServer, ResqueCorpus]]:
    srv = RedisServer()
    srv.start()
    c = srv.client()
    loaded = load_resque(c)
    c.close()
    yield srv, loaded
    srv.cleanup()


def checked(srv: RedisServer, *args: str, ok: tuple[int, ...] = (0,), allow_cr: bool = False,
            writes_allowed: bool = False) -> Measured:
    c = srv.client()
    c.config_resetstat()
    m = run_measured("-u", srv.url, *args, timeout=120)
    used = set(commandstats(c))
    c.close()
    assert m.returncode in ok, m.describe()
    no_traceback(m)
    assert_bounded(m, seconds=SECONDS, rss_mb=RSS_MB)
    assert_safe(m, allow_cr=allow_cr)
    if not writes_allowed:
        assert not used & WRITE_COMMANDS, f"{args}: wrote {sorted(used & WRITE_COMMANDS)}"
    return m


def test_the_corpus_has_every_family_and_enough_entries() -> None:
    n = counts()
    assert sum(n.values()) >= 50, n
    assert n["resque_jobs"] >= 40 and n["resque_failures"] >= 25 and n["dj_handlers"] >= 30


READ_COMMANDS = [
    ("queues",),
    ("queues", "-o", "json"),
    ("peek", HOSTILE_QUEUE, "-n", "100"),
    ("peek", HOSTILE_QUEUE, "-n", "100", "-o", "jsonl"),
    ("peek", HOSTILE_QUEUE, "-n", "100", "--raw"),
    ("peek", HOSTILE_QUEUE, "-n", "100", "--grep", "pwned", "--class", "*"),
    ("failed", "-n", "0"),
    ("failed", "-n", "0", "-o", "jsonl"),
    ("failed", "--group-by", "class,exception"),
    ("failed", "--count", "--since", "30d"),
    ("workers",),
    ("workers", "-o", "json"),
    ("stats",),
    ("stats", "-o", "json"),
    ("requeue", "--all", "--dry-run"),
    ("discard", "--all", "--dry-run", "-o", "json"),
]


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a))
def test_read_commands_are_bounded_safe_and_write_nothing(corpus: Any, args: tuple[str, ...]) -> None:
    srv, _ = corpus
    m = checked(srv, *args)
    assert m.stdout.strip(), m.describe()


def test_csv_output_is_safe_too(corpus: Any) -> None:
    srv, _ = corpus
    m = checked(srv, "peek", HOSTILE_QUEUE, "-n", "100", "-o", "csv", allow_cr=True)  # csv rows end in \r\n
    assert b"\r" not in m.stdout.replace(b"\r\n", b"")


def test_peek_json_marks_exactly_the_bad_entries(corpus: Any) -> None:
    srv, loaded = corpus
    rows = strict_json(checked(srv, "peek", HOSTILE_QUEUE, "-n", "100", "-o", "json").stdout)
    assert [r["position"] for r in rows] == list(range(len(loaded.jobs)))
    for e, row in zip(loaded.jobs, rows, strict=True):
        if e.bad:
            assert row["parse_error"] and row["state"] == "bad", e.name
        else:
            assert row["parse_error"] is None and row["state"] == "ready", (e.name, row["parse_error"])
    big = rows[loaded.job_position("big_10mb_valid")]
    assert big["size"] == len(loaded.jobs[loaded.job_position("big_10mb_valid")].data)


def test_peek_table_shows_bad_rows_and_literal_markup(corpus: Any) -> None:
    srv, loaded = corpus
    out = checked(srv, "peek", HOSTILE_QUEUE, "-n", "100").out
    bad_rows = [ln for ln in out.splitlines() if re.match(r"\s*\d+\s+BAD\b", ln)]
    assert len(bad_rows) == sum(1 for e in loaded.jobs if e.bad), bad_rows
    assert "[bold red]Fake[/]Job" in out  # the class name as stored: markup printed, not applied
    assert "Evil\\x1b]0;pwned\\x07Job\\x1b[2J" in out  # raw ESC in a class name, made visible
    assert "Invoice\\u202eexe.Job\\x9b31m" in out


def test_every_hostile_queue_name_peeks_and_lists_escaped(corpus: Any) -> None:
    srv, loaded = corpus
    listing = checked(srv, "queues").out
    assert "ctl\\x1b[2J\\x07q" in listing and "bidi\\u202eeuq" in listing and "nl\\nname" in listing
    assert "bytes-\\xff\\xfe-queue" in listing  # a queue name that is not UTF-8
    for family, name in loaded.name_queues.items():
        m = run_inprocess("-u", srv.url, "peek", name)
        assert m.returncode == 0, (family, m.err)
        assert not unsafe_chars(m.stdout) and not unsafe_chars(m.stderr), family
        assert "BAD" in m.out and f"NameJob::{family}" in m.out


def test_show_every_entry_escapes_everything(corpus: Any) -> None:
    srv, loaded = corpus
    for i, e in enumerate(loaded.jobs):
        args = ("-u", srv.url, "show", f"{HOSTILE_QUEUE}@{i}", "--raw")
        m = checked(srv, *args[2:]) if e.big else run_inprocess(*args)
        assert m.returncode == 0, (e.name, m.err)
        assert not unsafe_chars(m.stdout) and not unsafe_chars(m.stderr), (e.name, unsafe_chars(m.stdout))
        assert ("problem" in m.out) == bool(e.bad), e.name
    rows = strict_json(run_inprocess("-u", srv.url, "failed", "-n", "0", "-o", "json").stdout)
    assert len(rows) == len(loaded.failures)
    for n, row in enumerate(rows):
        big = row["size"] > 1_000_000 or len(row["backtrace"]) > 1000
        fmt = "json" if n % 4 == 0 else "table"
        m = checked(srv, "show", row["id"], "-o", fmt) if big else run_inprocess("-u", srv.url, "show", row["id"], "-o", fmt)
        assert m.returncode == 0, (row["location"], m.err)
        assert not unsafe_chars(m.stdout) and not unsafe_chars(m.stderr), row["location"]
        if fmt == "json":
            strict_json(m.stdout)


def test_failed_marks_exactly_the_bad_records(corpus: Any) -> None:
    srv, loaded = corpus
    rows = strict_json(checked(srv, "failed", "-n", "0", "-o", "json").stdout)
    by_index = {int(r["location"].rsplit("[", 1)[1].rstrip("]")): r for r in rows}
    assert sorted(by_index) == list(range(len(loaded.failures)))
    for i, e in enumerate(loaded.failures):
        assert bool(by_index[i]["parse_error"]) == e.bad, (e.name, by_index[i]["parse_error"])
    dup = [r["id"] for r in rows if r["job_class"] == "DupFailJob"]
    assert len(dup) == 2 and len(set(dup)) == 2  # duplicated entries keep distinct ids


def test_workers_with_garbage_fields(corpus: Any) -> None:
    srv, _ = corpus
    rows = strict_json(checked(srv, "workers", "-o", "json").stdout)
    assert len(rows) == 5 and {r["state"] for r in rows} <= {"stale", "idle", "working"}
    table = checked(srv, "workers").out
    assert "evil\\x1b]0;pwned\\x07host" in table and "[bold red]host[/]" in table


def test_stats_with_garbage_counters(corpus: Any) -> None:
    srv, loaded = corpus
    data = strict_json(checked(srv, "stats", "-o", "json").stdout)
    assert data["failed_stored"] == len(loaded.failures)
    assert data["pending"] >= len(loaded.jobs)


@pytest.mark.parametrize("extra", [(), ("-o", "jsonl"), ("--raw",), ("--show-unparsed", "-e", "all")],
                         ids=["pretty", "jsonl", "raw", "unparsed"])
def test_tail_from_a_hostile_capture(corpus: Any, tmp_path: Any, extra: tuple[str, ...]) -> None:
    srv, _ = corpus
    cap = tmp_path / "monitor.log"
    cap.write_bytes(monitor_capture())
    m = checked(srv, "tail", "--from", str(cap), *extra)
    if extra[:2] == ("-o", "jsonl"):
        events = [strict_json(line) for line in m.stdout.splitlines()]
        enq = [e for e in events if e["kind"] == "enqueue" and e["queue"] == HOSTILE_QUEUE]
        assert len(enq) == counts()["resque_jobs"]


@pytest.mark.parametrize("metric", ["failed", "size", "latency", "stuck", "stale-workers", "failure-rate"])
def test_alert_on_the_corpus(corpus: Any, metric: str) -> None:
    srv, _ = corpus
    m = checked(srv, "alert", "-m", metric, "--no-state", ok=(0, 1, 2, 3))
    assert m.out.startswith("JOBCTL "), m.describe()


def test_dry_runs_list_unreadable_records_as_skipped(corpus: Any) -> None:
    srv, loaded = corpus
    res = strict_json(checked(srv, "requeue", "--all", "--to-queue", "x", "--dry-run", "-o", "json").stdout)
    unmovable = [e for e in loaded.failures if expected_payload(e) is None]
    assert res["selected"] == len(loaded.failures)
    assert res["skipped"] == len(unmovable)
    assert all("unreadable" in s["reason"] or "payload" in s["reason"] for s in res["skipped_entries"])


# ----------------------------------------------------------------------------- must-show


def test_pwned_argument_never_reaches_the_terminal(redis_client: Any, redis_url: str) -> None:
    """The issue's example: ESC ] 0 ; pwned BEL, clear-screen and Rich markup in one argument."""
    redis_client.sadd("resque:queues", "evil")
    redis_client.rpush("resque:queue:evil", json.dumps({"class": "EvilJob", "args": [PWNED]}),
                       json.dumps({"class": "Raw" + PWNED, "args": [MARKUP["click"]]}, ensure_ascii=False))
    table = run_measured("-u", redis_url, "peek", "evil")
    assert table.returncode == 0 and b"\x1b" not in table.stdout and b"\x07" not in table.stdout
    assert_safe(table)
    assert "[bold red]x[/]" in table.out and "[@click=app.quit]quit[/]" in table.out  # shown, not applied
    assert "Raw\\x1b]0;pwned\\x07\\x1b[2J[bold red]x[/]" in table.out
    as_json = run_measured("-u", redis_url, "peek", "evil", "-o", "json")
    assert as_json.returncode == 0 and b"\x1b" not in as_json.stdout
    assert_safe(as_json)
    rows = strict_json(as_json.stdout)
    assert rows[0]["args"] == [PWNED] and rows[1]["job_class"] == "Raw" + PWNED  # data intact, escaped in transit
    shown = run_measured("-u", redis_url, "show", "evil@0", "--raw")
    assert shown.returncode == 0
    assert_safe(shown)
    assert "\\u001b]0;pwned\\u0007\\u001b[2J[bold red]x[/]" in shown.out
    shown = run_measured("-u", redis_url, "show", "evil@1")
    assert "Raw\\x1b]0;pwned\\x07\\x1b[2J[bold red]x[/]" in shown.out
    assert_safe(shown)


# ----------------------------------------------------------------------------- exact bytes


def _fresh(private_redis: RedisServer) -> tuple[Any, ResqueCorpus]:
    c = private_redis.client()
    return c, load_resque(c)


def test_requeue_moves_the_exact_payload_bytes(private_redis: RedisServer) -> None:
    c, loaded = _fresh(private_redis)
    m = run_measured("-u", private_redis.url, "requeue", "--all", "--to-queue", "requeued", "--yes", "-o", "json",
                     timeout=120)
    assert m.returncode == 1, m.describe()  # exit 1: unreadable records were skipped (listed)
    assert_safe(m)
    res = strict_json(m.stdout)
    movable = [e for e in loaded.failures if expected_payload(e) is not None]
    assert res["done"] == len(movable) and res["skipped"] == len(loaded.failures) - len(movable)
    pushed = c.lrange("resque:queue:requeued", 0, -1)
    assert Counter(pushed) == Counter(expected_payload(e) for e in movable)  # byte for byte, duplicates included
    left = c.lrange("resque:failed", 0, -1)
    assert Counter(left) == Counter(e.data for e in loaded.failures if expected_payload(e) is None)


def test_requeue_to_a_hostile_queue_name_and_discard_bad_records_by_id(private_redis: RedisServer) -> None:
    c, loaded = _fresh(private_redis)
    rows = strict_json(run_measured("-u", private_redis.url, "failed", "-n", "0", "-o", "json").stdout)
    by_index = {int(r["location"].rsplit("[", 1)[1].rstrip("]")): r["id"] for r in rows}
    target = loaded.failures[loaded.failure_index("fail_hostile_queue_name")]
    fid = by_index[loaded.failure_index("fail_hostile_queue_name")]
    m = run_measured("-u", private_redis.url, "requeue", "--id", fid, "--yes")
    assert m.returncode == 0, m.describe()
    assert_safe(m)
    assert c.lrange(f"resque:queue:{loaded.name_queues['control']}", -1, -1) == [expected_payload(target)]
    bad_ids = [by_index[i] for i, e in enumerate(loaded.failures) if expected_payload(e) is None]
    args = [a for fid in bad_ids for a in ("--id", fid)]
    m = run_measured("-u", private_redis.url, "discard", *args, "--yes", "-o", "json")
    assert m.returncode == 0, m.describe()
    assert strict_json(m.stdout)["done"] == len(bad_ids)
    left = c.lrange("resque:failed", 0, -1)
    expected_left = [e.data for e in loaded.failures
                     if expected_payload(e) is not None and e.name != "fail_hostile_queue_name"]
    assert left == expected_left  # tombstone, binary and invalid JSON gone; nothing else touched, order kept
