"""Resque requeue/discard on a real redis-server: exact bytes, exact selection, the verify script.

The fixture (written by Resque 3.0 itself, failure records encoded by ActiveSupport) plus
failure records built around every queue entry of the fixture (both JSON encoders: the plain
json gem and ActiveSupport, big ints, a 100 kB string), so requeued payloads are checked
byte-for-byte against what Ruby wrote.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import orjson
import pytest
from resque_data import dump_by_key, load_dump

from jobctl.backends.resque import write
from jobctl.backends.resque.backend import ResqueBackend
from jobctl.backends.resque.rawspan import SpanError, payload_span, resque_stamp, with_retried_at
from jobctl.backends.resque.script import Entry, MoveScript
from jobctl.model import FailureFilter
from jobctl.targets import Target

NS = "resque"


def backend(url: str, **opts: object) -> ResqueBackend:
    return ResqueBackend(Target(url=url, options=dict(opts)))


def failure_record(payload: bytes, *, queue: str | None, exception: str = "RuntimeError", error: str = "boom",
                   failed_at: str = "2026/11/27 19:43:27 UTC", worker: str = "vm:1:q") -> bytes:
    """A failure record exactly as Resque's Failure::Redis#save lays it out, around raw payload bytes."""
    head = b'{"failed_at":' + orjson.dumps(failed_at) + b',"payload":' + payload
    tail = {"exception": exception, "error": error, "backtrace": ["t.rb:1:in `perform'"], "worker": worker}
    if queue is not None:
        tail["queue"] = queue
    return head + b"," + orjson.dumps(tail)[1:]


def queue_entries() -> list[tuple[str, bytes]]:
    """Every pending job of the fixture: (queue, exact bytes), both encoders."""
    out = []
    for name, rec in dump_by_key().items():
        if name.startswith("queue:") and rec["type"] == "list":
            out += [(name[len("queue:"):], v.encode("utf-8")) for v in rec["value"]]
    return out


def pushed(r, before: dict[bytes, int]) -> list[bytes]:  # type: ignore[no-untyped-def]
    """Entries appended to every queue list since `before` ({key: length})."""
    out: list[bytes] = []
    for key in r.scan_iter(match=f"{NS}:queue:*"):
        out += r.lrange(key, before.get(key, 0), -1)
    return out


def queue_lengths(r) -> dict[bytes, int]:  # type: ignore[no-untyped-def]
    return {k: r.llen(k) for k in r.scan_iter(match=f"{NS}:queue:*")}


# ---------------------------------------------------------------------------- byte surgery


def test_payload_span_matches_every_fixture_failure() -> None:
    for raw in (v.encode() for v in dump_by_key()["failed"]["value"]):
        a, b = payload_span(raw)
        assert orjson.loads(raw[a:b]) == orjson.loads(raw)["payload"]
        assert raw[a:a + 1] == b"{" and raw[b - 1:b] == b"}"


def test_payload_span_is_exact_for_both_encoders_and_odd_values() -> None:
    entries = queue_entries()
    assert any(b"\\u003c" in raw for _, raw in entries), "fixture should hold ActiveSupport-encoded jobs"
    assert any(b"18446744073709551617" in raw for _, raw in entries), "fixture should hold a big int"
    for q, raw in entries:
        rec = failure_record(raw, queue=q, error='tricky "payload": {"x":1}, }')
        a, b = payload_span(rec)
        assert rec[a:b] == raw


def test_payload_span_refuses_what_is_not_a_failure_record() -> None:
    for bad in (b"", b"[]", b'{"failed_at":"x"}', b'{"payload":[1]}', b'{"payload":{"class":"X"', b'\x00tomb'):
        with pytest.raises(SpanError):
            payload_span(bad)


def test_retried_at_is_spliced_without_touching_other_bytes() -> None:
    raw = dump_by_key()["failed"]["value"][0].encode()
    stamp = resque_stamp(datetime(2026, 11, 28, 1, 2, 3, tzinfo=UTC), with_zone=True)
    assert stamp == "2026/11/28 01:02:03 UTC"
    out = with_retried_at(raw, stamp)
    assert out == raw[:-1] + b',"retried_at":"2026/11/28 01:02:03 UTC"}'
    again = with_retried_at(out, "2026/11/29 00:00:00")  # replaced in place, never duplicated
    assert again == raw[:-1] + b',"retried_at":"2026/11/29 00:00:00"}'
    assert resque_stamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), with_zone=False) == "2026/01/02 03:04:05"


# ---------------------------------------------------------------------------- the script


def test_script_acts_only_on_entries_that_still_hold_the_expected_bytes(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    recs = [failure_record(b'{"class":"J","args":[%d]}' % i, queue="low") for i in range(6)]
    r.rpush(f"{NS}:failed", *recs)
    script = MoveScript(r, NS)

    def entry(i: int, raw: bytes) -> Entry:
        return Entry(index=i, raw=raw, id=str(i), queue="low", job_class="J", target="low", span=payload_span(raw))

    # index 2 is claimed to hold recs[3] (stale view): it must be left alone, and recs[3] too
    acted, removed, _ = script.run(f"{NS}:failed", "move", [entry(1, recs[1]), entry(2, recs[3]), entry(4, recs[4])])
    assert acted == [True, False, True] and removed == 2
    assert r.lrange(f"{NS}:failed", 0, -1) == [recs[0], recs[2], recs[3], recs[5]]
    assert r.lrange(f"{NS}:queue:low", 0, -1) == [b'{"class":"J","args":[1]}', b'{"class":"J","args":[4]}']
    assert r.smembers(f"{NS}:queues") == {b"low"}
    # a contiguous head batch is trimmed, not scanned
    acted, removed, _ = script.run(f"{NS}:failed", "discard", [entry(0, recs[0]), entry(1, recs[2])])
    assert acted == [True, True] and r.lrange(f"{NS}:failed", 0, -1) == [recs[3], recs[5]]


def test_script_miss_whose_bytes_appear_later_in_the_batch(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    """The in-place check (string.find from the entry's offset in the packed argument) must not
    take a match further on for a match at the entry: here index 2 holds recs[2], which the batch
    expects at index 3, and index 3 holds recs[3], which it expects at 2 (same lengths)."""
    r = redis_client
    recs = [failure_record(b'{"class":"J","args":[%d]}' % i, queue="low") for i in range(5)]
    r.rpush(f"{NS}:failed", *recs)

    def entry(i: int, raw: bytes) -> Entry:
        return Entry(index=i, raw=raw, id=str(i), queue="low", job_class="J", target="low", span=payload_span(raw))

    acted, removed, _ = MoveScript(r, NS).run(
        f"{NS}:failed", "move", [entry(1, recs[1]), entry(2, recs[3]), entry(3, recs[2]), entry(4, recs[4])])
    assert acted == [True, False, False, True] and removed == 2
    assert r.lrange(f"{NS}:failed", 0, -1) == [recs[0], recs[2], recs[3]]
    assert r.lrange(f"{NS}:queue:low", 0, -1) == [b'{"class":"J","args":[1]}', b'{"class":"J","args":[4]}']


def test_all_with_a_removal_by_someone_else_while_a_script_runs(redis_url: str, redis_client,  # type: ignore[no-untyped-def]
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`requeue --all` prepares the next window while Redis runs the current script. Another client
    removes an entry of that next window right after that script: the prepared batch is stale, its
    script call misses from there on, the misses are re-located and retried, the entry removed by
    the other client is reported as skipped (and is no anchor for the walk), and the window read
    ahead of the stale batch is thrown away and read afresh. Every other entry is requeued once."""
    from jobctl.backends.resque import write_select

    r = redis_client
    recs = [failure_record(b'{"class":"J","args":[%d]}' % i, queue=("a", "b")[i % 2]) for i in range(3000)]
    r.rpush(f"{NS}:failed", *recs)
    other = r.__class__(connection_pool=r.connection_pool.__class__(**r.connection_pool.connection_kwargs))
    gone: list[bytes] = []
    real_selector = write_select.selector

    class Hooked:  # the real selector, plus the other client's removal during the 2nd prepare
        def __init__(self, inner: write_select.LightMove) -> None:
            self.inner, self.calls = inner, 0

        def __call__(self, index: int, raw: bytes, fid: str) -> Entry | None:
            return self.inner(index, raw, fid)

        def prepare(self, rows: list[bytes], lo: int):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 2:  # read ahead while the first script runs
                while other.llen(f"{NS}:failed") > 2750:  # queued behind that script: it has run
                    pass
                gone.append(rows[100])
                other.lrem(f"{NS}:failed", 1, rows[100])
            return self.inner.prepare(rows, lo)

        def commit(self, batch) -> None:  # type: ignore[no-untyped-def]
            self.inner.commit(batch)

    def selector(*args, **kwargs):  # type: ignore[no-untyped-def]
        inner = real_selector(*args, **kwargs)
        assert isinstance(inner, write_select.LightMove)
        return Hooked(inner)

    monkeypatch.setattr(write, "selector", selector)
    res = write.requeue(backend(redis_url), FailureFilter())
    other.close()
    assert len(gone) == 1
    assert res.selected == 3000 and res.done == 2999 and res.skipped == 1 and res.complete
    assert res.skipped_entries[0]["reason"] == "changed or removed by someone else after it was read"
    assert not r.exists(f"{NS}:failed")
    moved = r.lrange(f"{NS}:queue:a", 0, -1) + r.lrange(f"{NS}:queue:b", 0, -1)
    assert sorted(moved) == sorted(x[slice(*payload_span(x))] for x in recs if x != gone[0])
    assert res.by_queue == {"a": 1500 - (gone[0] in recs[0::2]), "b": 1500 - (gone[0] in recs[1::2])}


def test_script_keep_mode_replaces_the_record(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    rec = failure_record(b'{"class":"J","args":[]}', queue="q")
    r.rpush(f"{NS}:failed", rec)
    e = Entry(index=0, raw=rec, id="x", queue="q", job_class="J", target="q", span=payload_span(rec),
              new_raw=with_retried_at(rec, "2026/11/28 00:00:00 UTC"))
    assert MoveScript(r, NS).run(f"{NS}:failed", "keep", [e]) == ([True], 0, None)
    assert r.lrange(f"{NS}:failed", 0, -1) == [e.new_raw]
    assert r.lrange(f"{NS}:queue:q", 0, -1) == [b'{"class":"J","args":[]}']


# ---------------------------------------------------------------------------- requeue on the fixture


def test_requeue_all_pushes_the_exact_stored_payload_bytes(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    load_dump(r)
    originals = r.lrange(f"{NS}:failed", 0, -1)
    before = queue_lengths(r)
    res = write.requeue(backend(redis_url), FailureFilter())
    assert (res.selected, res.done, res.skipped, res.complete) == (len(originals), len(originals), 0, True)
    assert r.llen(f"{NS}:failed") == 0
    expected = sorted(raw[slice(*payload_span(raw))] for raw in originals)
    assert sorted(pushed(r, before)) == expected
    per_queue = {}
    for raw in originals:
        q = orjson.loads(raw)["queue"]
        per_queue[q] = per_queue.get(q, 0) + 1
    assert res.by_queue == per_queue
    assert {m.decode() for m in r.smembers(f"{NS}:queues")} >= set(per_queue)


def test_requeue_of_both_encoders_is_byte_identical(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    entries = queue_entries()
    r.rpush(f"{NS}:failed", *[failure_record(raw, queue=f"re_{q}") for q, raw in entries])
    res = write.requeue(backend(redis_url), FailureFilter())
    assert res.done == len(entries)
    for q in {q for q, _ in entries}:
        assert r.lrange(f"{NS}:queue:re_{q}", 0, -1) == [raw for qq, raw in entries if qq == q]


def test_requeue_into_another_queue_and_order_within_a_batch(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    recs = [failure_record(b'{"class":"J","args":[%d]}' % i, queue="low") for i in range(10)]
    r.rpush(f"{NS}:failed", *recs)
    res = write.requeue(backend(redis_url), FailureFilter(), to_queue="rescue")
    assert res.done == 10 and not r.exists(f"{NS}:queue:low")
    assert r.lrange(f"{NS}:queue:rescue", 0, -1) == [b'{"class":"J","args":[%d]}' % i for i in range(10)]
    assert b"rescue" in r.smembers(f"{NS}:queues")


def _ids(b: ResqueBackend, flt: FailureFilter) -> set[str]:
    return {f.id for f in b.failures(flt)}


@pytest.mark.parametrize("flt, expected_count", [
    (FailureFilter(classes=("CreditCardValidator",)), 4),
    (FailureFilter(exceptions=("CreditCardValidator::InvalidCard",)), 4),
    (FailureFilter(error=r"Luhn check for user 60[01]\b"), 2),
    (FailureFilter(queues=("mailers",)), 4),
    (FailureFilter(retried=True), 1),
    (FailureFilter(classes=("Unicode*",)), 3),
    (FailureFilter(since=datetime(2026, 11, 27, 19, 51, 53, tzinfo=UTC)), None),
    (FailureFilter(since=datetime(2026, 11, 27, 19, 51, 50, tzinfo=UTC),
                   until=datetime(2026, 11, 27, 19, 51, 51, tzinfo=UTC)), None),
])
def test_filters_select_exactly_what_failed_lists(redis_url: str, redis_client, flt: FailureFilter,  # type: ignore[no-untyped-def]
                                                  expected_count: int | None) -> None:
    r = redis_client
    load_dump(r)
    b = backend(redis_url)
    listed = _ids(b, flt)
    if expected_count is not None:
        assert len(listed) == expected_count
    assert listed, "the filter should match something in the fixture"
    everything = r.lrange(f"{NS}:failed", 0, -1)
    kept_expected = [raw for raw, f in zip(everything, reversed(list(b.failures())), strict=True)
                     if f.id not in listed]
    preview = write.requeue(b, flt, dry_run=True)
    assert preview.selected == len(listed) and preview.done == 0 and r.lrange(f"{NS}:failed", 0, -1) == everything
    res = write.requeue(b, flt)
    assert res.done == len(listed)
    assert r.lrange(f"{NS}:failed", 0, -1) == kept_expected  # the rest untouched, order kept


def test_requeue_by_id_and_limit_take_the_newest(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    load_dump(r)
    b = backend(redis_url)
    newest3 = [f.id for f in b.failures(FailureFilter(classes=("ToxicPayloadJob",), limit=3))]
    res = write.discard(b, FailureFilter(classes=("ToxicPayloadJob",), limit=3))
    assert res.done == 3 and {s["id"] for s in res.sample} == set(newest3)
    assert not (_ids(b, FailureFilter()) & set(newest3))
    one = next(iter(_ids(b, FailureFilter(classes=("UpdateMetrics",)))))
    res = write.requeue(b, FailureFilter(ids=(one,)))
    assert res.done == 1 and one not in _ids(b, FailureFilter())


def test_keep_stamps_retried_at_like_resque_and_leaves_the_entry(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    load_dump(r)
    before = r.lrange(f"{NS}:failed", 0, -1)
    qlen = queue_lengths(r)
    res = write.requeue(backend(redis_url), FailureFilter(classes=("CreditCardValidator",)), keep=True)
    assert res.done == 4
    after = r.lrange(f"{NS}:failed", 0, -1)
    assert len(after) == len(before)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == 4
    for old, new in changed:
        assert re.fullmatch(rb',"retried_at":"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d UTC"\}', new[len(old) - 1:])
        assert new.startswith(old[:-1])
    assert sorted(pushed(r, qlen)) == sorted(old[slice(*payload_span(old))] for old, _ in changed)


def test_discard_retried_is_clear_retried(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    load_dump(r)
    before = r.lrange(f"{NS}:failed", 0, -1)
    res = write.discard(backend(redis_url), FailureFilter(retried=True))
    assert res.done == 1
    assert r.lrange(f"{NS}:failed", 0, -1) == [raw for raw in before if b'"retried_at"' not in raw]


def test_multi_queue_failure_lists(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    a = [failure_record(b'{"class":"A","args":[%d]}' % i, queue="alpha", failed_at=f"2026/11/27 10:00:0{i} UTC")
         for i in range(5)]
    z = [failure_record(b'{"class":"Z","args":[%d]}' % i, queue="zeta", failed_at=f"2026/11/27 11:00:0{i} UTC")
         for i in range(3)]
    r.rpush(f"{NS}:alpha_failed", *a)
    r.rpush(f"{NS}:zeta_failed", *z)
    r.sadd(f"{NS}:failed_queues", "alpha_failed", "zeta_failed")
    b = backend(redis_url)
    res = write.requeue(b, FailureFilter(queues=("alpha",)), keep=True)
    assert res.done == 5 and r.llen(f"{NS}:queue:alpha") == 5
    # RedisMultiQueue writes retried_at without a zone (resque-format.md §1.4)
    assert all(re.search(rb'"retried_at":"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d"\}$', x) for x in r.lrange(f"{NS}:alpha_failed", 0, -1))
    res = write.requeue(b, FailureFilter(limit=4))  # the newest 4 across both lists: all of zeta + alpha's last
    assert res.done == 4 and res.by_queue == {"zeta": 3, "alpha": 1}
    assert not r.exists(f"{NS}:zeta_failed") and r.llen(f"{NS}:alpha_failed") == 4
    assert r.lrange(f"{NS}:queue:alpha", -1, -1) == [b'{"class":"A","args":[4]}']
    res = write.discard(b, FailureFilter())
    assert res.done == 4 and not r.exists(f"{NS}:alpha_failed") and not r.exists(f"{NS}:zeta_failed")


def test_unrequeueable_entries_are_skipped_with_a_reason(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    good = failure_record(b'{"class":"J","args":[1]}', queue="low")
    no_queue = failure_record(b'{"class":"J","args":[2]}', queue=None)
    r.rpush(f"{NS}:failed", good, no_queue, b"", b"not json")
    res = write.requeue(backend(redis_url), FailureFilter())
    assert (res.selected, res.done, res.skipped) == (4, 1, 3)
    reasons = sorted(s["reason"] for s in res.skipped_entries)
    assert reasons[0].startswith("no queue") and all("unreadable" in x for x in reasons[1:])
    assert r.lrange(f"{NS}:failed", 0, -1) == [no_queue, b"", b"not json"]
    # discard can clear them (e.g. the "" tombstones an interrupted Resque remove leaves)
    assert write.discard(backend(redis_url), FailureFilter()).done == 3 and not r.exists(f"{NS}:failed")


def test_concurrent_removal_and_appends_between_snapshot_and_run(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    """Entries removed by someone else after the snapshot shift every index below them: the walk
    must re-locate, never act on a neighbour; new failures appended after the snapshot stay."""
    r = redis_client
    recs = [failure_record(b'{"class":"%s","args":[%d]}' % (b"Sel" if i % 3 else b"Other", i), queue="q")
            for i in range(3000)]
    r.rpush(f"{NS}:failed", *recs)
    b = backend(redis_url)
    flt = FailureFilter(classes=("Sel",))
    snap = write.take_snapshot(b, flt)
    gone = {recs[i] for i in (5, 1001, 1500, 2998)}  # removed by "someone else" (Resque's LSET+LREM)
    for raw in gone:
        r.lrem(f"{NS}:failed", 1, raw)
    late = [failure_record(b'{"class":"Sel","args":["late%d"]}' % i, queue="q") for i in range(5)]
    r.rpush(f"{NS}:failed", *late)
    res = write.requeue(b, flt, snapshot=snap)
    selected = [x for i, x in enumerate(recs) if i % 3 and x not in gone]
    assert res.done == len(selected) and res.complete
    assert r.lrange(f"{NS}:queue:q", 0, -1).count(b'{"class":"Sel","args":[7]}') == 1
    assert sorted(r.lrange(f"{NS}:queue:q", 0, -1)) == sorted(x[slice(*payload_span(x))] for x in selected)
    assert r.lrange(f"{NS}:failed", 0, -1) == [x for i, x in enumerate(recs) if not i % 3 and x not in gone] + late


def test_relocation_without_lpos_reads_the_list_like_redis_5() -> None:
    # Redis < 6.0.6 has no LPOS: a private server with the command renamed away behaves like one
    from redis.exceptions import ResponseError
    from servers import RedisServer

    from jobctl.backends.resque.relocate import relocate

    srv = RedisServer(extra_args=["--rename-command", "LPOS", ""])
    srv.start()
    try:
        r = srv.client()
        r.rpush("resque:failed", *[b"x%d" % i for i in range(5000)], b"target", b"x-last")
        with pytest.raises(ResponseError, match="unknown command"):
            r.lpos("resque:failed", b"target")
        call = lambda fn, _w: (fn(), False)  # noqa: E731 - the walk's round-trip wrapper, no retry here
        assert relocate(r, call, "resque:failed", b"target", near=10, span=100) == 5000  # far: read from the tail
        assert relocate(r, call, "resque:failed", b"x20", near=10, span=100) == 20  # near: the window
        assert relocate(r, call, "resque:failed", b"gone", near=10, span=100) is None
    finally:
        srv.cleanup()
