"""`jobctl top` building blocks: sampling (rates, sparklines), failure grouping, the keymap, the
row filter, and the Poller's rates on a real Redis with a controlled monotonic clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_tui_support import resque_backend

from jobctl.model import Failure
from jobctl.tui.failgroups import failures_per_queue, group_with_ids
from jobctl.tui.sampling import RateTracker, sparkline, split_net_rate


def test_sparkline_scales_to_the_window_and_marks_unknowns() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], 8) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5], 3) == "███"
    assert sparkline([0, 0], 4) == "  ▁▁"  # right-aligned, zero is the lowest block
    assert sparkline([None, 2.0, None, 4.0], 4) == " ▅ █"
    assert len(sparkline(range(100), 12)) == 12


def test_rate_tracker_counters_and_levels() -> None:
    r = RateTracker()
    assert r.sample("processed", 100, at=0.0) is None  # first sample: no rate yet
    assert r.sample("processed", 150, at=10.0) == 5.0
    assert r.sample("processed", 10, at=20.0) is None  # counter reset (server restart): no negative rate
    assert r.sample("processed", 30, at=30.0) == 2.0
    assert r.sample("size", 10, at=0.0, signed=True) is None
    assert r.sample("size", 4, at=2.0, signed=True) == -3.0
    assert r.sample("size", None, at=3.0) is None and r.sample("size", 4, at=4.0, signed=True) is None
    assert split_net_rate(-3.0) == (0.0, 3.0) and split_net_rate(2.0) == (2.0, 0.0)
    assert split_net_rate(None) == (None, None)


def _failure(i: int, cls: str, exc: str | None, queue: str, minutes_ago: int) -> Failure:
    t = datetime(2026, 11, 27, 20, 0, tzinfo=UTC) - timedelta(minutes=minutes_ago)
    return Failure(id=f"id{i}", failed_at=t, queue=queue, job_class=cls, name=cls, exception=exc, error="e")


def test_group_with_ids_orders_by_count_then_recency_and_keeps_ids() -> None:
    fs = [_failure(1, "A", "Timeout", "low", 5), _failure(2, "B", "KeyError", "high", 1),
          _failure(3, "A", "Timeout", "high", 9), _failure(4, "C", None, "low", 0)]
    groups, scanned = group_with_ids(fs)
    assert scanned == 4
    assert [(g.job_class, g.exception, g.count) for g in groups] == [
        ("A", "Timeout", 2), ("C", "(unknown)", 1), ("B", "KeyError", 1)]
    a = groups[0]
    assert a.ids == ["id1", "id3"] and a.queues == {"low", "high"}
    assert a.newest == fs[0].failed_at and a.oldest == fs[2].failed_at
    assert failures_per_queue(groups) == {"low": 2, "high": 2}


def test_parse_keymap_accepts_known_ids_and_reports_the_rest() -> None:
    from jobctl.tui.keymap import binding_ids, effective_keys, parse_keymap

    keymap, warnings = parse_keymap({"keymap": {"requeue": "R", "filter": "slash, f", "nope": "x", "quit": 3}})
    assert keymap == {"requeue": "R", "filter": "slash,f"}
    assert any("unknown binding id 'nope'" in w for w in warnings)
    assert any("quit must be a non-empty string" in w for w in warnings)
    assert parse_keymap({}) == ({}, [])
    assert parse_keymap({"keymap": "R"})[1]
    assert {"requeue", "discard", "filter", "tag", "pause", "faster", "slower", "sort", "quit", "help",
            "palette", "panel-queues", "panel-workers", "panel-failures"} <= binding_ids()
    from textual.binding import Binding

    b = Binding("question_mark,f1", "help", "Help", id="help")
    assert effective_keys(b, {}) == "? / f1" and effective_keys(b, {"help": "h"}) == "h"


def test_row_filter_regex_negation_and_errors() -> None:
    import re

    from jobctl.tui.widgets.panel_table import RowFilter

    f = RowFilter.parse("^lo")
    assert f is not None and f.keeps("low") and not f.keeps("slow")
    neg = RowFilter.parse("!LOW")  # case-insensitive
    assert neg is not None and not neg.keeps("low") and neg.keeps("high")
    assert RowFilter.parse("") is None and RowFilter.parse("!") is None
    with pytest.raises(re.error):
        RowFilter.parse("(")


def test_poller_rates_from_successive_samples_on_real_redis(redis_client: Any, redis_url: str) -> None:
    from jobctl.tui.refresh import Poller

    now = [1000.0]
    redis_client.sadd("resque:queues", "low", "high")
    redis_client.rpush("resque:queue:low", *[b'{"class":"A","args":[]}'] * 10)
    redis_client.set("resque:stat:processed", 100)
    redis_client.set("resque:stat:failed", 7)
    poller = Poller(resque_backend(redis_url), monotonic=lambda: now[0])
    first = poller.tick()
    assert first.error is None and first.processed_rate is None
    low = next(r for r in first.queues if r.queue.name == "low")
    assert low.queue.size == 10 and low.enqueue_rate is None
    redis_client.set("resque:stat:processed", 160)
    redis_client.set("resque:stat:failed", 9)
    redis_client.lpop("resque:queue:low", 4)
    redis_client.rpush("resque:queue:high", *[b'{"class":"B","args":[]}'] * 20)
    now[0] += 2.0
    second = poller.tick()
    assert second.processed_rate == 30.0 and second.failed_rate == 1.0
    rates = {r.queue.name: (r.enqueue_rate, r.dequeue_rate) for r in second.queues}
    assert rates == {"low": (0.0, 2.0), "high": (10.0, 0.0)}
    assert next(r for r in second.queues if r.queue.name == "high").history == (0.0, 20.0)
    assert second.stats.pending == 26 and second.processed_history[-1] == 30.0


def test_poller_keeps_last_data_and_flags_disconnect(private_redis: Any) -> None:
    from jobctl.tui.refresh import Poller

    c = private_redis.client()
    c.sadd("resque:queues", "low")
    c.rpush("resque:queue:low", b'{"class":"A","args":[]}')
    poller = Poller(resque_backend(private_redis.url))
    ok = poller.tick()
    private_redis.stop()
    bad = poller.tick()
    assert bad.error and bad.disconnected and bad.seq == ok.seq + 1
    assert [r.queue.name for r in bad.queues] == ["low"]  # last good data kept
    private_redis.start()
    c = private_redis.client()
    c.sadd("resque:queues", "other")
    again = poller.tick()
    assert again.error is None and [r.queue.name for r in again.queues] == ["other"]


def test_failures_are_rescanned_only_when_the_count_changes(redis_client: Any, redis_url: str) -> None:
    from resque_data import load_dump

    from jobctl.tui.refresh import Poller, PollerConfig

    load_dump(redis_client, only={"failed"})
    poller = Poller(resque_backend(redis_url), config=PollerConfig(failure_rescan_min_s=0))
    first = poller.tick()
    redis_client.config_resetstat()
    same = poller.tick()  # unchanged count: the groups are reused, not re-read
    calls_without_rescan = redis_client.info("commandstats").get("cmdstat_lrange", {}).get("calls", 0)
    assert same.groups is first.groups
    redis_client.rpush("resque:failed", redis_client.lindex("resque:failed", 0))
    grown = poller.tick()
    assert grown.groups is not first.groups
    assert grown.failures_scanned == 32 and sum(g.count for g in grown.groups) == 32
    poller.invalidate_failures()  # what a requeue/discard does
    redis_client.config_resetstat()
    forced = poller.tick()
    assert forced.groups is not grown.groups
    assert redis_client.info("commandstats")["cmdstat_lrange"]["calls"] > calls_without_rescan


def test_steady_ticks_read_resque_sizes_in_one_pipeline(redis_client: Any, redis_url: str) -> None:
    from resque_data import load_dump

    from jobctl.tui.refresh import Poller

    load_dump(redis_client)
    redis_client.rpush("resque:queue:stray", b'{"class":"S","args":[]}')  # a list not in resque:queues
    now = [0.0]
    backend = resque_backend(redis_url)
    poller = Poller(backend, monotonic=lambda: now[0])
    full = poller.tick()  # start: the full listing (finds the stray list, failures per queue)
    redis_client.config_resetstat()
    now[0] += 2.0
    steady = poller.tick()
    used = {k.removeprefix("cmdstat_"): v["calls"] for k, v in redis_client.info("commandstats").items()}
    assert "lrange" not in used and "scan" not in used  # no failure records, no keyspace scan
    assert used["lindex"] == len(steady.queues)  # one LINDEX (and LLEN) per queue, in one pipeline
    listing = {q.name: (q.size, q.latency_s, q.failed, q.registered) for q in backend.queues()}
    assert {r.queue.name: (r.queue.size, r.queue.latency_s, r.queue.failed, r.queue.registered)
            for r in steady.queues} == listing
    assert [r.queue.name for r in steady.queues] == [r.queue.name for r in full.queues]
    assert listing["stray"] == (1, None, 0, False)
    redis_client.config_resetstat()
    now[0] += 30.0  # the periodic full listing comes back
    poller.tick()
    assert "cmdstat_scan" in redis_client.info("commandstats")
