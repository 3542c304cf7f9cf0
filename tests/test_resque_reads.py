"""ResqueBackend read side against the real fixture loaded into a private redis-server.

Expected values are computed from redis_dump.json in the test, not copied by hand.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from resque_data import dump_by_key, fixture_workers, load_dump, set_worker_clock

from jobctl.backends.resque.backend import ResqueBackend
from jobctl.backends.resque.ids import entry_hash
from jobctl.errors import NotFound
from jobctl.model import Failure, FailureFilter, Job, JobFilter
from jobctl.parse.resque_payload import parse_failure
from jobctl.targets import Target

WRAPPER = "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"


def _backend(url: str, namespace: str = "resque", **options: Any) -> ResqueBackend:
    return ResqueBackend(Target(url=url, namespace=namespace, options=options))


@pytest.fixture
def fx(redis_url: str, redis_client: Any) -> ResqueBackend:
    load_dump(redis_client)
    b = _backend(redis_url)
    yield b
    b.close()


def _stored_class(raw: str) -> str:
    p = json.loads(raw)
    return p["args"][0]["job_class"] if p["class"] == WRAPPER else p["class"]


def _failed_values() -> list[str]:
    return dump_by_key()["failed"]["value"]


# ----------------------------------------------------------------------------- queues / peek

def test_queues_sizes_failed_counts_and_registration(fx: ResqueBackend) -> None:
    dump = dump_by_key()
    registered = dump["queues"]["value"]
    per_queue_failed = Counter(json.loads(v)["queue"] for v in _failed_values())
    queues = {q.name: q for q in fx.queues()}
    assert sorted(queues) == sorted(registered)
    for name in registered:
        expected = len(dump.get(f"queue:{name}", {"value": []})["value"])
        q = queues[name]
        assert q.size == expected, name
        assert q.failed == per_queue_failed.get(name, 0) and not q.failed_capped
        assert q.registered
        assert q.latency_s is None  # no fixture head job records an enqueue time: unknown, not guessed
    assert sum(q.size for q in queues.values()) == sum(len(e["value"]) for k, e in dump.items()
                                                      if k.startswith("queue:"))


def test_latency_from_activejob_enqueued_at(fx: ResqueBackend, redis_client: Any) -> None:
    now = datetime.fromtimestamp(int(redis_client.time()[0]), UTC)
    enq = (now - timedelta(seconds=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    redis_client.sadd("resque:queues", "aj")
    redis_client.rpush("resque:queue:aj", json.dumps({"class": WRAPPER, "args": [{
        "job_class": "X", "job_id": "1", "arguments": [], "executions": 0, "enqueued_at": enq}]}))
    redis_client.rpush("resque:queue:stray-list:eu", b'{"class":"Y","args":[]}')
    queues = {q.name: q for q in fx.queues()}
    assert 119 <= (queues["aj"].latency_s or 0) <= 125
    assert not queues["stray-list:eu"].registered and queues["stray-list:eu"].size == 1


def test_peek_is_exactly_the_next_jobs_in_lpop_order(fx: ResqueBackend) -> None:
    dump = dump_by_key()
    for key, e in dump.items():
        if not key.startswith("queue:"):
            continue
        queue = key[len("queue:"):]
        jobs = fx.peek(queue, limit=50)
        assert [j.raw for j in jobs] == e["value"]
        assert [j.position for j in jobs] == list(range(len(e["value"])))
        assert [j.id for j in jobs] == [f"{queue}@{i}" for i in range(len(e["value"]))]
        assert [j.job_class for j in jobs] == [_stored_class(v) for v in e["value"]]
    low = dump["queue:low"]["value"]
    page = fx.peek("low", limit=3, offset=4)
    assert [j.raw for j in page] == low[4:7] and [j.position for j in page] == [4, 5, 6]


def test_peek_filters_stream_and_respect_scan_limit(fx: ResqueBackend) -> None:
    low = dump_by_key()["queue:low"]["value"]
    jobs = fx.peek("low", limit=50, filter=JobFilter(classes=("UpdateMetrics",)))
    assert [j.position for j in jobs] == [i for i, v in enumerate(low) if json.loads(v)["class"] == "UpdateMetrics"]
    aj = fx.peek("low", limit=50, filter=JobFilter(classes=("Rebuild*",)))
    assert [j.name for j in aj] == ["RebuildSearchIndexJob (via ActiveJob)"]
    grep = fx.peek("low", limit=50, filter=JobFilter(grep=r"older_than_days"))
    assert [j.job_class for j in grep] == ["LegacyCleanupJob"]
    capped = fx.peek("low", limit=50, filter=JobFilter(classes=("LegacyCleanupJob",)), scan_limit=5)
    assert capped == [] and fx.last_scan is not None and fx.last_scan.capped
    assert fx.peek("low", limit=50, filter=JobFilter(states=("scheduled",))) == []


def test_peek_unknown_queue_is_not_found_but_empty_known_queue_is_empty(fx: ResqueBackend) -> None:
    assert fx.peek("critical", limit=10) == []
    with pytest.raises(NotFound, match="known: critical, high"):
        fx.peek("no-such-queue", limit=10)


def test_bad_entries_are_marked_and_never_stop_a_scan(fx: ResqueBackend, redis_client: Any) -> None:
    redis_client.rpush("resque:queue:low", b"", b"{broken", b'{"class":"X","args":["\xff\xfe"]}',
                       b'{"class":"Ok","args":[1]}')
    jobs = fx.peek("low", limit=50)
    assert [j.state for j in jobs[-4:]] == ["bad", "bad", "bad", "ready"]
    assert all(j.parse_error for j in jobs[-4:-1]) and jobs[-1].job_class == "Ok"
    assert [j.job_class for j in fx.peek("low", limit=50, filter=JobFilter(classes=("Ok",)))] == ["Ok"]
    redis_client.rpush("resque:failed", b"", b"not json", b'{"failed_at":"x","payload":{"class":"Z","args":[]}}')
    redis_client.rpush("resque:failed", _failed_values()[0].encode())
    fails = list(fx.failures())
    assert len(fails) == 35
    assert [bool(f.parse_error) for f in fails[:4]] == [False, True, True, True]
    per_queue = Counter(json.loads(v)["queue"] for v in _failed_values()) + Counter({"high": 1})
    assert {q.name: q.failed for q in fx.queues()} == {q: per_queue.get(q, 0) for q in dump_by_key()["queues"]["value"]}
    assert fx.count_failures() == (35, False)


# ----------------------------------------------------------------------------- failures

def test_all_31_failures_newest_first_with_every_field(fx: ResqueBackend) -> None:
    values = _failed_values()
    fails = list(fx.failures())
    assert len(fails) == len(values) == 31
    assert [f.location for f in fails] == [f"resque:failed[{i}]" for i in reversed(range(31))]
    for f in fails:
        i = int(f.location.split("[")[1].rstrip("]"))
        stored = json.loads(values[i])
        assert f.id == entry_hash("resque:failed", values[i].encode())
        assert f.queue == stored["queue"] and f.exception == stored["exception"]
        assert f.error_full == stored["error"] and f.worker == stored["worker"]
        assert f.job_class == _stored_class(json.dumps(stored["payload"]))
        assert f.failed_at == datetime.strptime(stored["failed_at"], "%Y/%m/%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert len({f.id for f in fails}) == 31
    oldest = list(fx.failures(newest_first=False))
    assert [f.id for f in oldest] == [f.id for f in reversed(fails)]


def test_the_retried_entry(fx: ResqueBackend) -> None:
    values = _failed_values()
    retried_idx = [i for i, v in enumerate(values) if "retried_at" in json.loads(v)]
    assert len(retried_idx) == 1
    got = list(fx.failures(FailureFilter(retried=True)))
    assert [f.location for f in got] == [f"resque:failed[{retried_idx[0]}]"]
    stored = json.loads(values[retried_idx[0]])
    assert got[0].retried_at == datetime.strptime(stored["retried_at"], "%Y/%m/%d %H:%M:%S UTC").replace(tzinfo=UTC)
    assert fx.count_failures(FailureFilter(retried=False)) == (30, False)


@pytest.mark.parametrize("flt", [
    FailureFilter(exceptions=("RuntimeError",)),
    FailureFilter(classes=("CreditCardValidator",)),
    FailureFilter(classes=("ProcessPaymentWebhookJob",)),  # ActiveJob: class is inside args
    FailureFilter(classes=("UserMailer#welcome (via ActiveJob)",)),
    FailureFilter(classes=("*Job",), queues=("low", "toxic")),
    FailureFilter(queues=("mailers",), exceptions=("RuntimeError", "ArgumentError")),
    FailureFilter(error=r"Luhn check for user 60[12]"),
    FailureFilter(exceptions=("Resque::DirtyExit",)),
    FailureFilter(queues=("nope",)),
])
def test_filtered_scan_equals_brute_force(fx: ResqueBackend, flt: FailureFilter) -> None:
    values = _failed_values()
    brute = [parse_failure(v.encode(), key="resque:failed", index=i, id=entry_hash("resque:failed", v.encode()))
             for i, v in enumerate(values)]
    expected = [f.id for f in reversed(brute) if flt.matches(f)]
    assert [f.id for f in fx.failures(flt)] == expected
    assert fx.count_failures(flt) == (len(expected), False)


def test_limit_scan_limit_and_group_by(fx: ResqueBackend) -> None:
    assert len(list(fx.failures(FailureFilter(limit=5)))) == 5
    part = list(fx.failures(scan_limit=10))
    assert len(part) == 10 and fx.last_scan is not None and fx.last_scan.capped
    from jobctl.model import group_failures

    groups = group_failures(fx.failures(), "exception")
    expected = Counter(json.loads(v)["exception"] for v in _failed_values())
    assert {g["exception"]: g["count"] for g in groups} == dict(expected)


def test_since_stops_a_newest_first_scan_early(redis_url: str, redis_client: Any) -> None:
    def rec(t: datetime, n: int) -> bytes:
        return json.dumps({"failed_at": t.strftime("%Y/%m/%d %H:%M:%S UTC"), "payload": {"class": "A", "args": [n]},
                           "exception": "E", "error": "e", "backtrace": [], "worker": "w:1:q", "queue": "q"},
                          separators=(",", ":")).encode()
    now = datetime.now(UTC).replace(microsecond=0)
    old = [rec(now - timedelta(days=3, seconds=i), i) for i in range(3000, 0, -1)]
    new = [rec(now - timedelta(minutes=30 - i), 10_000 + i) for i in range(20)]
    redis_client.rpush("resque:failed", *old, *new)
    b = _backend(redis_url)
    got = list(b.failures(FailureFilter(since=now - timedelta(hours=1))))
    assert len(got) == 20
    assert b.last_scan is not None and b.last_scan.scanned < 1100  # stopped at the first old entry's window


def test_ids_stay_stable_when_other_entries_are_removed_or_appended(fx: ResqueBackend, redis_client: Any) -> None:
    before = {f.location: f.id for f in fx.failures()}
    # Resque's own remove (LSET sentinel + LREM) of entry 3, then a new failure appended
    redis_client.lset("resque:failed", 3, "")
    redis_client.lrem("resque:failed", 1, "")
    redis_client.rpush("resque:failed", _failed_values()[0].replace("User 13", "User 14").encode())
    after = {f.id: f for f in fx.failures()}
    values = _failed_values()
    for i, v in enumerate(values):
        fid = before[f"resque:failed[{i}]"]
        if i == 3:
            assert fid not in after
        else:
            assert fid in after and after[fid].worker == json.loads(v)["worker"]
            assert after[fid].location == f"resque:failed[{i if i < 3 else i - 1}]"


def test_identical_copies_are_numbered_from_the_tail_in_both_directions(redis_url: str, redis_client: Any) -> None:
    v = [x.encode() for x in _failed_values()[:3]]
    redis_client.rpush("resque:failed", v[0], v[1], v[0], v[2], v[0])
    b = _backend(redis_url)
    newest = [(f.location, f.id) for f in b.failures()]
    h = entry_hash("resque:failed", v[0])
    assert [fid for loc, fid in newest if fid.startswith(h)] == [h, f"{h}-2", f"{h}-3"]
    assert dict(newest)["resque:failed[4]"] == h and dict(newest)["resque:failed[0]"] == f"{h}-3"
    oldest = [(f.location, f.id) for f in b.failures(newest_first=False)]
    assert dict(oldest) == dict(newest)
    shown = b.show(f"{h}-2")
    assert isinstance(shown, Failure) and shown.location == "resque:failed[2]"


# ----------------------------------------------------------------------------- show

def test_show_failure_job_and_location(fx: ResqueBackend) -> None:
    values = _failed_values()
    f = next(iter(fx.failures(FailureFilter(exceptions=("NameError",)))))
    shown = fx.show(f.id)
    assert isinstance(shown, Failure) and shown.raw in values and shown.backtrace
    by_loc = fx.show("failed[17]")
    assert isinstance(by_loc, Failure) and by_loc.raw == values[17] and by_loc.id == entry_hash("resque:failed",
                                                                                              values[17].encode())
    job = fx.show("mailers@4")
    assert isinstance(job, Job) and job.raw == dump_by_key()["queue:mailers"]["value"][4]
    assert job.extra["key"] == "resque:queue:mailers"
    assert isinstance(fx.show("resque:queue:high[0]"), Job)
    with pytest.raises(NotFound):
        fx.show("abcdefabcdef")
    with pytest.raises(NotFound):
        fx.show("low@999")


# ----------------------------------------------------------------------------- workers / stats / ping

def test_workers_dead_idle_busy(fx: ResqueBackend, redis_client: Any) -> None:
    ids = fixture_workers()
    sec, _ = redis_client.time()
    set_worker_clock(redis_client, datetime.fromtimestamp(int(sec), UTC), dead=[ids["dead"]])
    dump = dump_by_key()
    ws = {w.id: w for w in fx.workers()}
    assert set(ws) == set(dump["workers"]["value"])
    assert ws[ids["dead"]].state == "stale" and ws[ids["idle"]].state == "idle" and ws[ids["busy"]].state == "working"
    for wid, w in ws.items():
        job = dump.get(f"worker:{wid}")
        assert w.job_class == (json.loads(job["value"])["payload"]["class"] if job else None)
        assert w.processed == int(dump.get(f"stat:processed:{wid}", {"value": 0})["value"])
        assert w.failed == int(dump.get(f"stat:failed:{wid}", {"value": 0})["value"])
        host, pid, queues = wid.split(":", 2)
        assert (w.host, w.pid, w.queues) == (host, int(pid), queues.split(","))
        assert w.started_at is not None
    busy = ws[ids["busy"]]
    assert busy.running_for_s is not None and busy.running_for_s > 0
    # a registered worker with no heartbeat at all is stale too
    redis_client.hdel("resque:workers:heartbeat", ids["idle"])
    assert {w.id: w.state for w in fx.workers()}[ids["idle"]] == "stale"


def test_stats_counter_differs_from_stored(fx: ResqueBackend, redis_client: Any) -> None:
    dump = dump_by_key()
    sec, _ = redis_client.time()
    set_worker_clock(redis_client, datetime.fromtimestamp(int(sec), UTC), dead=[fixture_workers()["dead"]])
    s = fx.stats()
    assert s.failed_counter == int(dump["stat:failed"]["value"]) == 30
    assert s.failed_stored == len(dump["failed"]["value"]) == 31
    assert s.processed == int(dump["stat:processed"]["value"])
    assert s.pending == sum(len(e["value"]) for k, e in dump.items() if k.startswith("queue:"))
    assert s.queues == len(dump["queues"]["value"]) and s.workers == 3 and s.working == 1
    assert s.server["redis_version"] and s.server["used_memory"] and s.server["connected_clients"]


def test_ping_detects_and_explains(fx: ResqueBackend, redis_url: str) -> None:
    p = fx.ping()
    assert p.format_detected and p.server_version and "31 failure" in p.detail
    other = _backend(redis_url, namespace="elsewhere")
    q = other.ping()
    assert not q.format_detected and "no Resque keys in namespace 'elsewhere'" in q.detail and "'resque'" in q.detail


# ----------------------------------------------------------------------------- namespaces, multi-queue

def test_namespace_with_colons_and_queue_names_with_dash_and_colon(redis_url: str, redis_client: Any) -> None:
    load_dump(redis_client, namespace="myapp:resque")
    load_dump(redis_client, only={"queues"})  # a second app on the same db must not leak in
    redis_client.sadd("myapp:resque:queues", "email-high:eu")
    redis_client.rpush("myapp:resque:queue:email-high:eu", b'{"class":"Mail","args":["a:b"]}')
    redis_client.rpush("myapp:resque:GitHub:queue:nested", b'{"class":"Other","args":[]}')
    b = _backend(redis_url, namespace="myapp:resque")
    names = {q.name: q for q in b.queues()}
    assert names["email-high:eu"].size == 1 and "nested" not in names and "GitHub:queue:nested" not in names
    assert [j.job_class for j in b.peek("email-high:eu")] == ["Mail"]
    assert len(list(b.failures())) == 31
    assert all(f.location.startswith("myapp:resque:failed[") for f in b.failures())
    job = b.show("email-high:eu@0")
    assert isinstance(job, Job) and job.args == ["a:b"]


def _multi(redis_client: Any) -> dict[str, list[bytes]]:
    values = _failed_values()
    lists: dict[str, list[bytes]] = {}
    for v in values:
        lists.setdefault(json.loads(v)["queue"], []).append(v.encode())
    for q, vs in lists.items():
        redis_client.rpush(f"resque:{q}_failed", *vs)
        redis_client.sadd("resque:failed_queues", f"{q}_failed")
    redis_client.sadd("resque:failed_queues", "gone_failed")  # stale name left by remove_queue
    return lists


def test_multi_queue_failure_backend(redis_url: str, redis_client: Any) -> None:
    load_dump(redis_client, only={"queues", "queue:low", "queue:high"})
    lists = _multi(redis_client)
    b = _backend(redis_url)
    fails = list(b.failures())
    assert len(fails) == 31
    times = [f.failed_at for f in fails]
    assert times == sorted(times, reverse=True)  # merged newest first across lists
    for f in fails:
        assert f.location.startswith(f"resque:{f.queue}_failed[")
    queues = {q.name: q for q in b.queues()}
    for q, vs in lists.items():
        assert queues[q].failed == len(vs) and not queues[q].failed_capped
    only_toxic = list(b.failures(FailureFilter(queues=("toxic",))))
    assert len(only_toxic) == len(lists["toxic"])
    assert b.stats().failed_stored == 31
    assert len(list(_backend(redis_url, failure_backend="redis").failures())) == 0
    some = fails[5]
    assert b.show(some.id).location == some.location  # type: ignore[union-attr]


# ----------------------------------------------------------------------------- plugins

def test_scheduler_and_status_plugins(redis_url: str, redis_client: Any) -> None:
    sec, _ = redis_client.time()
    t1, t2 = int(sec) - 60, int(sec) + 3600
    item = b'{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}'
    redis_client.zadd("resque:delayed_queue_schedule", {str(t1): t1, str(t2): t2})
    redis_client.rpush(f"resque:delayed:{t1}", item, b'{"class":"B","args":[],"queue":"low"}')
    redis_client.rpush(f"resque:delayed:{t2}", item)
    uuid = "4f9b2c1e8d7a6b5c4d3e2f1a0b9c8d7e"
    redis_client.set(f"resque:status:{uuid}", json.dumps({
        "time": int(sec) - 10, "status": "working", "uuid": uuid, "options": {"user_id": 7},
        "name": "ExportJob({\"user_id\"=>7})", "num": 5, "total": 10}))
    redis_client.zadd("resque:_statuses", {uuid: int(sec) - 10, "f" * 32: int(sec) - 5})
    redis_client.sadd("resque:_kill", uuid)
    b = _backend(redis_url)
    slots, total = b.scheduled_slots(limit=10)
    assert total == 2 and [s["jobs"] for s in slots] == [2, 1]
    assert slots[0]["in_s"] < 0 < slots[1]["in_s"] and slots[0]["queues"] == {"file_serve": 1, "low": 1}
    jobs = b.scheduled_jobs(limit=10)
    assert [(j.job_class, j.queue, j.state) for j in jobs] == [("Archive", "file_serve", "scheduled"),
                                                               ("B", "low", "scheduled"),
                                                               ("Archive", "file_serve", "scheduled")]
    assert jobs[0].run_at == datetime.fromtimestamp(t1, UTC)
    rows, n = b.statuses(limit=10)
    assert n == 2 and [r["status"] for r in rows] == ["expired", "working"]
    one = b.status(uuid)
    assert one["pct"] == 50.0 and one["kill_requested"] and one["name"].startswith("ExportJob")
    assert b.stats().scheduled == 3
    caps = b.capabilities()
    assert caps.has_scheduler and caps.has_status
    with pytest.raises(NotFound):
        b.status("0" * 32)


@pytest.mark.parametrize(("flt", "by"), [
    (FailureFilter(), "exception"),
    (FailureFilter(), "class,exception"),
    (FailureFilter(queues=("toxic", "low")), "class"),
    (FailureFilter(since=datetime(2026, 11, 27, 19, 51, 52, tzinfo=UTC)), "queue,error"),
    (FailureFilter(until=datetime(2026, 11, 27, 19, 51, 51, tzinfo=UTC)), "worker"),
    (FailureFilter(exceptions=("RuntimeError",)), "class"),  # not light: general path
])
def test_fast_grouping_equals_grouping_parsed_failures(fx: ResqueBackend, redis_client: Any,
                                                       flt: FailureFilter, by: str) -> None:
    from jobctl.model import group_failures

    redis_client.rpush("resque:failed", b"", b"{bad json")  # bad rows group as class "?" in both paths
    assert fx.failure_groups(flt, by) == group_failures(fx.failures(flt), by)
    assert fx.failure_groups(flt, by, newest_first=False) == group_failures(fx.failures(flt), by)
