"""jobctl.parse.monitor_events: MONITOR lines of a real Resque run -> job events.

Counts are checked against counts taken independently from the raw lines (plain regexes over the
capture, not jobctl's parser); contents against the payloads themselves; pairing rules (reserve vs
empty poll, done vs unregister) against the per-connection order of the capture.
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from test_monitor_parse import monitor_line

from jobctl.model import Event
from jobctl.parse.event_stream import EventFilter, TailSummary, client_matches
from jobctl.parse.monitor import iter_capture, parse_line
from jobctl.parse.monitor_events import DEFAULT_KINDS, KINDS, EventDecoder, decode_lines

CAPTURE = Path(__file__).resolve().parent.parent.parent / "shared" / "fixtures" / "resque" / "monitor.log"
WRAPPER = "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper"
# Independent reading of a line: client, command, first argument, last argument (raw, escaped).
HDR = re.compile(rb'^\d+\.\d{6} \[\d+ (.*?)\] "([a-zA-Z]+)"(?: "([^"\\]*)")?(?:.* "((?:[^"\\]|\\.)*)")?$')


def raw_lines() -> list[bytes]:
    with CAPTURE.open("rb") as f:
        return list(iter_capture(f))


def decode(lines: list[bytes], **kw: object) -> list[Event]:
    return list(decode_lines(lines, EventDecoder(**kw)))  # type: ignore[arg-type]


def independent(lines: list[bytes]) -> list[tuple[bytes, bytes, bytes, bytes]]:
    out = []
    for ln in lines:
        m = HDR.match(ln)
        assert m, ln
        out.append((m.group(1), m.group(2).lower(), m.group(3) or b"", m.group(4) or b""))
    return out


def next_from_same_client(rows: list[tuple[bytes, bytes, bytes, bytes]], i: int) -> tuple[bytes, ...] | None:
    for r in rows[i + 1:]:
        if r[0] == rows[i][0]:
            return r
    return None


def prev_from_same_client(rows: list[tuple[bytes, bytes, bytes, bytes]], i: int) -> tuple[bytes, ...] | None:
    for r in reversed(rows[:i]):
        if r[0] == rows[i][0]:
            return r
    return None


def expected_counts(lines: list[bytes]) -> Counter[str]:
    rows = independent(lines)
    c: Counter[str] = Counter()
    for i, (_client, cmd, key, _last) in enumerate(rows):
        worker_key = key.startswith(b"resque:worker:") and not key.endswith(b":started")
        if cmd == b"rpush" and key.startswith(b"resque:queue:"):
            c["enqueue"] += 1
        elif cmd == b"rpush" and key == b"resque:failed":
            c["fail"] += 1
        elif cmd == b"lpop" and key.startswith(b"resque:queue:"):
            nxt = next_from_same_client(rows, i)
            ok = nxt is not None and nxt[1] == b"set" and nxt[2].startswith(b"resque:worker:") \
                and not nxt[2].endswith(b":started")
            c["reserve" if ok else "poll"] += 1
        elif cmd == b"set" and worker_key:
            c["start"] += 1
        elif cmd == b"del" and worker_key:
            prev = prev_from_same_client(rows, i)
            c["bookkeeping" if prev and prev[1] == b"srem" and prev[2] == b"resque:workers" else "done"] += 1
        elif cmd == b"sadd" and key == b"resque:workers":
            c["worker-start"] += 1
        elif cmd == b"srem" and key == b"resque:workers":
            c["worker-stop"] += 1
        elif cmd == b"hset" and key == b"resque:workers:heartbeat":
            c["heartbeat"] += 1
        elif cmd == b"lset" and key == b"resque:failed":
            c["requeue"] += 1
    return c


def test_event_counts_equal_counts_taken_from_the_raw_lines() -> None:
    lines = raw_lines()
    got = Counter(e.kind for e in decode(lines))
    want = expected_counts(lines)
    for kind in ("enqueue", "fail", "reserve", "poll", "start", "done", "worker-start", "worker-stop",
                 "heartbeat", "requeue"):
        assert got[kind] == want[kind], kind
    assert want["enqueue"] == 99 and want["fail"] == 31 and want["reserve"] + want["poll"] == 100
    assert got["done"] == 70  # = resque:stat:processed at the end (summary.json)
    assert got["other"] == 0 and got["unparsed"] == 0
    assert sum(got.values()) >= len(lines) - 72 - 6  # every namespace line is something; PING/TIME are not


def test_enqueue_events_carry_the_pushed_payload() -> None:
    lines = raw_lines()
    pushes = [r for r in independent(lines) if r[1] == b"rpush" and r[2].startswith(b"resque:queue:")]
    events = [e for e in decode(lines) if e.kind == "enqueue"]
    assert len(events) == len(pushes)
    for e, (_c, _cmd, key, last) in zip(events, pushes, strict=True):
        payload = json.loads(codecs.escape_decode(last)[0])
        assert e.queue == key[len(b"resque:queue:"):].decode() and e.key == key.decode()
        if payload["class"] == WRAPPER:
            assert e.job_class == payload["args"][0]["job_class"]
        else:
            assert e.job_class == payload["class"] and e.args == payload["args"]
        assert e.client is not None and e.db == 0 and e.command == "RPUSH"


def test_reserve_start_done_and_fail_agree_about_one_job() -> None:
    events = decode(raw_lines())
    by_worker: dict[str, list[Event]] = {}
    for e in events:
        if e.worker and e.kind in ("reserve", "start", "done", "fail"):
            by_worker.setdefault(e.worker, []).append(e)
    checked = 0
    for seq in by_worker.values():
        for a, b in zip(seq, seq[1:], strict=False):
            if a.kind == "reserve":
                assert b.kind == "start" and (b.job_class, b.args, b.queue) == (a.job_class, a.args, a.queue)
                assert b.ts >= a.ts and b.client == a.client
                checked += 1
            if a.kind == "start" and b.kind in ("done", "fail"):
                assert b.job_class == a.job_class
    assert checked == 72
    fails = [e for e in events if e.kind == "fail"]
    assert {e.detail.split(": ")[0] for e in fails} >= {"RuntimeError", "ArgumentError", "Resque::DirtyExit"}  # type: ignore[union-attr]
    dones = [e for e in events if e.kind == "done"]
    # every failure in this run came from a worker that then finished the job (DEL worker:<id>)
    assert sum(1 for e in dones if e.detail and e.detail.startswith("failed")) == len(fails) == 31
    assert all(e.detail and " ran " in e.detail for e in dones)


def test_events_come_out_in_stream_order() -> None:
    events = [e for e in decode(raw_lines()) if e.kind != "poll"]
    assert [e.ts for e in events] == sorted(e.ts for e in events)


def test_choosing_kinds_never_changes_what_the_chosen_events_say() -> None:
    lines = raw_lines()
    everything = [e.to_dict() for e in decode(lines) if e.kind in DEFAULT_KINDS]
    chosen = [e.to_dict() for e in decode(lines, kinds=DEFAULT_KINDS)]
    assert chosen == everything and len(chosen) > 300
    only = decode(lines, kinds={"fail"})
    assert {e.kind for e in only} == {"fail"} and len(only) == 31


def test_namespace_with_colons_and_all_keys() -> None:
    lines = [ln.replace(b'"resque:', b'"app:v2:resque:') for ln in raw_lines()]
    base = Counter(e.kind for e in decode(raw_lines()))
    assert Counter(e.kind for e in decode(lines, namespace="app:v2:resque")) == base
    assert decode(lines, namespace="resque") == []  # other namespace: nothing, unless --all-keys
    others = [e for e in decode(lines, namespace="resque", all_keys=True)]
    assert len(others) == len(lines) and {e.kind for e in others} == {"other"}
    pings = [e for e in decode(raw_lines(), all_keys=True) if e.kind == "other"]
    assert len(pings) == 78 and {e.command for e in pings} == {"PING", "TIME"}


def _lines(*cmds: tuple[str, list[bytes]]) -> list[bytes]:
    return [monitor_line(1_795_809_000_000_000 + i * 1000, 0, client, args) for i, (client, args) in enumerate(cmds)]


W = "10.0.0.9:5000"
WID = b"vm:77:low"


def test_scheduler_queue_admin_pause_and_jobctl_requeue_script() -> None:
    item = b'{"class":"Archive","args":[44,"masterbrew"],"queue":"file_serve"}'
    failure = b'{"failed_at":"2026/11/27 19:43:27 UTC","payload":{"class":"Bad","args":[1]},"exception":"ArgumentError","error":"bad 1","backtrace":[],"worker":"vm:1:q1","queue":"q1"}'
    retried = failure[:-1] + b',"retried_at":"2026/11/27 19:50:00 UTC"}'
    lines = _lines(
        (W, [b"RPUSH", b"resque:delayed:1764272700", item]),
        (W, [b"ZADD", b"resque:delayed_queue_schedule", b"1764272700", b"1764272700"]),
        (W, [b"SADD", b"resque:timestamps:" + item, b"resque:delayed:1764272700"]),
        (W, [b"LREM", b"resque:delayed:1764272700", b"0", item]),
        (W, [b"HSET", b"resque:persistent_schedules", b"nightly", b"{}"]),
        (W, [b"SREM", b"resque:queues", b"old"]), (W, [b"DEL", b"resque:queue:old"]),
        (W, [b"DEL", b"resque:queue:low"]),
        (W, [b"SET", b"resque:pause-all-workers", b"true"]), (W, [b"DEL", b"resque:pause-all-workers"]),
        (W, [b"LREM", b"resque:queue:low", b"0", b'{"class":"Gone","args":[]}']),
        (W, [b"LSET", b"resque:failed", b"3", b""]), (W, [b"LREM", b"resque:failed", b"1", b""]),
        (W, [b"EVALSHA", b"d3c21d0c2b9ca22f82737626a27bcaf5d288f99f", b"3", b"resque:failed", b"resque:queues",
             b"resque:queue:q1"]),
        ("lua", [b"LRANGE", b"resque:failed", b"0", b"1"]),
        ("lua", [b"LSET", b"resque:failed", b"0", retried]),
        ("lua", [b"RPUSH", b"resque:queue:q1", b'{"class":"Bad","args":[1]}', b'{"class":"Bad","args":[2]}']),
        ("lua", [b"LTRIM", b"resque:failed", b"2", b"-1"]),
        (W, [b"DEL", b"resque:failed"]),
        (W, [b"SET", b"unrelated", b"x"]),
    )
    ev = decode(lines, kinds=DEFAULT_KINDS)
    assert [e.kind for e in ev] == ["scheduled", "unscheduled", "schedule", "queue-removed", "queue-cleared",
                                    "pause", "resume", "dequeue", "remove", "requeue", "enqueue", "enqueue",
                                    "remove", "remove"]
    sched = ev[0]
    assert (sched.job_class, sched.args, sched.queue) == ("Archive", [44, "masterbrew"], "file_serve")
    assert sched.detail == "run at 2025-11-27T19:45:00Z"
    assert ev[3].queue == "old" and ev[4].queue == "low" and ev[7].job_class == "Gone"
    assert ev[9].job_class == "Bad" and ev[9].client == "lua" and ev[10].args == [1] and ev[11].args == [2]
    hidden = Counter(e.kind for e in decode(lines, kinds=set(KINDS)) if e.kind not in DEFAULT_KINDS)
    assert hidden == {"bookkeeping": 5, "read": 1}


def test_pops_are_reserves_only_when_the_worker_set_follows() -> None:
    job = b'{"queue":"low","run_at":"2026-11-27T19:51:52Z","payload":{"class":"UpdateMetrics","args":[288]}}'
    lines = _lines(
        (W, [b"LPOP", b"resque:queue:high"]),  # empty: the same worker then pops the next queue
        (W, [b"LPOP", b"resque:queue:low"]),
        ("10.0.0.8:1", [b"PING"]),  # another connection in between changes nothing
        (W, [b"SET", b"resque:worker:" + WID, job]),
        ("10.0.0.7:1", [b"LPOP", b"resque:queue:low"]),  # a non-Resque consumer: no SET follows
        ("10.0.0.7:1", [b"GET", b"other"]),
        (W, [b"DEL", b"resque:worker:" + WID]),
        (W, [b"LPOP", b"resque:queue:low", b"10"]),  # with a count: reserve at once
        (W, [b"BLPOP", b"resque:queue:low", b"5"]),
        ("10.0.0.6:1", [b"LPOP", b"resque:queue:low"]),  # never resolved: a poll at the end
    )
    ev = decode(lines, kinds=set(KINDS))
    assert [(e.kind, e.queue) for e in ev if e.kind in ("reserve", "poll", "start", "done")] == [
        ("poll", "high"), ("reserve", "low"), ("start", "low"), ("poll", "low"), ("done", "low"),
        ("reserve", "low"), ("reserve", "low"), ("poll", "low")]
    reserve = next(e for e in ev if e.kind == "reserve")
    assert reserve.worker == WID.decode() and reserve.job_class == "UpdateMetrics" and reserve.args == [288]
    assert reserve.ts < next(e for e in ev if e.kind == "start").ts


def test_a_pop_left_waiting_for_a_second_of_stream_time_is_a_poll() -> None:
    lines = [monitor_line(1_000_000_000, 0, W, [b"LPOP", b"resque:queue:low"]),
             monitor_line(1_001_500_000, 0, "10.0.0.2:2", [b"GET", b"x"])]
    dec = EventDecoder(kinds=set(KINDS))
    first = dec.feed(parse_line(lines[0]))  # type: ignore[arg-type]
    second = dec.feed(parse_line(lines[1]))  # type: ignore[arg-type]
    assert first == [] and [e.kind for e in second] == ["poll"] and dec.flush() == []


def test_unparsed_lines_are_counted_and_shown_only_when_asked() -> None:
    lines = raw_lines()[:20] + [b"garbage \x1b[31m", b'1795809109.9 [0 x] "cut']
    dec = EventDecoder(kinds=DEFAULT_KINDS)
    assert all(e.kind != "unparsed" for e in decode_lines(lines, dec)) and dec.unparsed == 2
    dec = EventDecoder(kinds=DEFAULT_KINDS | {"unparsed"})
    shown = [e for e in decode_lines(lines, dec) if e.kind == "unparsed"]
    assert [e.raw for e in shown] == ["garbage \x1b[31m", '1795809109.9 [0 x] "cut']
    assert dec.lines == 20


def test_bad_payloads_do_not_stop_the_stream() -> None:
    lines = _lines((W, [b"RPUSH", b"resque:queue:low", b"not json"]),
                   (W, [b"SET", b"resque:worker:" + WID, b"\xff\xfe"]),
                   (W, [b"RPUSH", b"resque:failed", b"{"]),
                   (W, [b"RPUSH", b"resque:queue:low", b'{"class":"Ok","args":[]}']))
    ev = decode(lines, kinds=DEFAULT_KINDS)
    assert [e.kind for e in ev] == ["enqueue", "start", "fail", "enqueue"]
    assert ev[0].job_class == "?" and "invalid JSON" in (ev[0].detail or "")
    assert ev[3].job_class == "Ok"


# --------------------------------------------------------------------------- filter and summary


@pytest.mark.parametrize("pattern,client,ok", [
    ("10.0.0.5:4242", "10.0.0.5:4242", True), ("10.0.0.5", "10.0.0.5:4242", True),
    ("10.0.0.5", "10.0.0.50:1", False), ("::1", "[::1]:5", True), ("[::1]", "[::1]:5", True),
    ("10.0.*", "10.0.3.4:1", True), ("lua", "lua", True), ("unix", "unix:/tmp/s", False),
    ("unix:*", "unix:/tmp/s", True),
])
def test_client_patterns(pattern: str, client: str, ok: bool) -> None:
    assert client_matches(pattern, client) is ok


def test_filter_and_summary_over_the_capture() -> None:
    events = decode(raw_lines())
    f = EventFilter(kinds=frozenset({"enqueue", "reserve", "fail"}), queues=("l*",))
    shown = [e for e in events if f.matches(e)]
    assert {e.queue for e in shown} == {"low"} and {e.kind for e in shown} == {"enqueue", "reserve", "fail"}
    s = TailSummary()
    for e in shown:
        s.add(e)
    rep = s.report(lines=966, unparsed=0)
    assert rep["queues"] == [{"queue": "low", "enqueue": 31, "enqueue_per_s": rep["queues"][0]["enqueue_per_s"],
                              "reserve": 21, "reserve_per_s": rep["queues"][0]["reserve_per_s"], "fail": 8,
                              "fail_per_s": rep["queues"][0]["fail_per_s"], "start": 0, "done": 0}]
    assert rep["queues"][0]["enqueue_per_s"] == round(31 / rep["span_s"], 2)
    # grep: 17 RPUSH of UpdateMetrics to resque:queue:low + 3 of its failures from queue low
    assert rep["top_classes"][0] == {"class": "UpdateMetrics", "count": 20}
    by_class = EventFilter(kinds=DEFAULT_KINDS, classes=("CreditCard*",))
    assert {e.job_class for e in events if by_class.matches(e)} == {"CreditCardValidator"}
    by_client = EventFilter(kinds=DEFAULT_KINDS, clients=("127.0.0.1:37598",))
    assert {e.kind for e in events if by_client.matches(e)} == {"enqueue"}
    assert not any(EventFilter(kinds=DEFAULT_KINDS, db=3).matches(e) for e in events)
