"""The stall guard (jobctl/backends/resque/stall.py) on a real redis-server.

Removing entries from the middle of a Redis list costs an LREM scan from the nearer end; jobctl
refuses batches whose predicted scan is over --max-stall-ms, reports their entries as skipped
(still failed, untouched), keeps acting on everything near either end, and a rerun with a higher
limit finishes the work. `--all` (LTRIM at the ends) is never held back. No timing is asserted:
the limits used are far below or far above any real scan cost, or the assertions are structural.
"""

from __future__ import annotations

import json

import orjson
import pytest

from jobctl.backends.resque import write
from jobctl.backends.resque.backend import ResqueBackend
from jobctl.backends.resque.rawspan import payload_span
from jobctl.backends.resque.stall import StallGuard, max_stall_ms
from jobctl.errors import UsageError
from jobctl.model import FailureFilter
from jobctl.targets import Target

NS = "resque"
DEEP = FailureFilter(classes=("DeepJob",))


def backend(url: str, **opts: object) -> ResqueBackend:
    return ResqueBackend(Target(url=url, options=dict(opts)))


def load(r, n: int, every: int = 10) -> list[bytes]:  # type: ignore[no-untyped-def]
    """n failure records as Resque writes them; every `every`-th is a DeepJob (a scattered selection)."""
    recs = []
    for i in range(n):
        klass = "DeepJob" if i % every == 0 else "OtherJob"
        payload = orjson.dumps({"class": klass, "args": [i, "x" * 200]})
        recs.append(b'{"failed_at":"2026/11/27 19:43:27 UTC","payload":' + payload
                    + b',"exception":"Net::ReadTimeout","error":"boom","backtrace":[],"worker":"w:1:q","queue":"low"}')
    for k in range(0, n, 5000):
        r.rpush(f"{NS}:failed", *recs[k:k + 5000])
    return recs


def check_invariants(r, recs: list[bytes], res) -> None:  # type: ignore[no-untyped-def]
    """Every selected entry is either requeued exactly once or still failed, in order; others untouched."""
    deep = [x for x in recs if b'"DeepJob"' in x]
    failed = r.lrange(f"{NS}:failed", 0, -1)
    queued = r.lrange(f"{NS}:queue:low", 0, -1)
    still = [x for x in failed if b'"DeepJob"' in x]
    assert [x for x in failed if b'"DeepJob"' not in x] == [x for x in recs if b'"DeepJob"' not in x]
    assert sorted(queued + [x[slice(*payload_span(x))] for x in still]) == sorted(x[slice(*payload_span(x))] for x in deep)
    assert len(set(queued)) == len(queued) == res.done
    assert len(still) == res.skipped and res.selected == len(deep)
    left = set(failed)
    assert [x for x in recs if x in left] == failed  # order kept


def test_a_scattered_selection_over_the_limit_is_skipped_untouched_then_finished_by_a_rerun(
        redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    recs = load(r, 30_000)
    res = write.requeue(backend(redis_url), DEEP, max_stall_ms=0.001)  # below any scan: nothing may scan
    assert (res.selected, res.done, res.skipped) == (3000, 0, 3000)
    assert r.lrange(f"{NS}:failed", 0, -1) == recs and not r.exists(f"{NS}:queue:low")
    reason = res.skipped_entries[0]["reason"]
    assert "--max-stall-ms 0.001" in reason and "block Redis" in reason and "30,000-entry list" in reason
    assert all(len(s["id"]) == 12 for s in res.skipped_entries)  # ids usable with `jobctl show`
    again = write.requeue(backend(redis_url), DEEP, max_stall_ms=60_000)
    assert (again.done, again.skipped) == (3000, 0)
    check_invariants(r, recs, again)


def test_near_either_end_goes_on_while_the_deep_middle_waits(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    # 100,000 entries: batches near the tail or the head scan a few thousand entries at most
    # (well under 1 ms), those in the middle ~45,000 (over 2 ms on any machine: LREM passes an entry
    # in 0.05-0.12 µs); a 1.5 ms limit lets the ends through only.
    r = redis_client
    recs = load(r, 100_000)
    res = write.discard(backend(redis_url), DEEP, max_stall_ms=1.5)
    assert res.done > 0 and res.skipped > 0 and res.done + res.skipped == 10_000
    failed = r.lrange(f"{NS}:failed", 0, -1)
    position = {x: i for i, x in enumerate(recs)}
    still = [position[x] for x in failed if b'"DeepJob"' in x]
    assert still and min(still) > 0 and max(still) < 100_000 - 10  # the ends went, the middle stayed
    assert [x for x in failed if b'"DeepJob"' not in x] == [x for x in recs if b'"DeepJob"' not in x]
    assert write.discard(backend(redis_url), DEEP, max_stall_ms=60_000).done == res.skipped
    assert r.llen(f"{NS}:failed") == 90_000


def test_all_is_never_held_back(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    recs = load(r, 20_000)
    res = write.requeue(backend(redis_url), FailureFilter(), max_stall_ms=0.001)  # LTRIM at the ends: no scan
    assert (res.done, res.skipped) == (20_000, 0) and not r.exists(f"{NS}:failed")
    assert r.llen(f"{NS}:queue:low") == len(recs)


def test_dry_run_and_target_config_and_keep(redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    r = redis_client
    recs = load(r, 10_000)
    preview = write.requeue(backend(redis_url, max_stall_ms=0.001), DEEP, dry_run=True)  # from the config key
    assert (preview.selected, preview.skipped, preview.done) == (1000, 1000, 0)
    assert write.requeue(backend(redis_url), DEEP, dry_run=True).skipped == 0  # default 10 ms: a short list
    kept = write.requeue(backend(redis_url, max_stall_ms=0.001), DEEP, keep=True)  # keep removes nothing
    assert (kept.done, kept.skipped) == (1000, 0) and r.llen(f"{NS}:failed") == len(recs)


@pytest.mark.parametrize("value", ["abc", 0, -5, "0"])
def test_bad_limits_are_usage_errors(value: object) -> None:
    with pytest.raises(UsageError, match="max_stall_ms"):
        max_stall_ms(Target(url="redis://x", options={"max_stall_ms": value}), None)
    assert max_stall_ms(Target(url="redis://x", options={"max_stall_ms": "25"}), None) == 25.0
    assert max_stall_ms(Target(url="redis://x", options={"max_stall_ms": 25}), 3) == 3


def test_guard_distance_and_learning() -> None:
    g = StallGuard(10, 1_000_000)
    assert g.distance(0, 99, 100, 1_000_000) == 0  # the head, contiguous: LTRIM
    assert g.distance(999_900, 999_999, 100, 1_000_000) == 0  # the tail
    assert g.distance(500_000, 500_099, 10, 1_000_000) == 500_000  # from the tail: len - lo
    assert g.distance(100, 199, 10, 1_000_000) == 200  # from the head: hi + 1
    assert not g.allows(500_000, 500_099, 10) and g.allows(100, 199, 10)
    g.learn(500_000, 5_000, 999_990)  # 0.01 µs per entry measured on the server
    assert g.us_per_entry == pytest.approx(0.01) and g.length == 999_990
    assert g.allows(500_000, 500_099, 10)
    g.learn(100_000, 10_000, 999_980)  # one slow reading (the machine was busy): the median of two
    assert g.us_per_entry == pytest.approx(0.055)
    g.learn(100_000, 10_000, 999_970)
    assert g.us_per_entry == pytest.approx(0.1)  # median of 0.01, 0.1, 0.1: slow readings that last count


def test_cli_option_and_its_refusal_on_delayed_job(redis_url: str, redis_client, sqlite_url: str,  # type: ignore[no-untyped-def]
                                                   jobctl) -> None:
    load(redis_client, 5_000)
    p = jobctl("-u", redis_url, "requeue", "--class", "DeepJob", "--max-stall-ms", "0.001", "--yes", "-o", "json")
    assert p.returncode == 1, p.stderr  # skipped entries: exit 1
    out = json.loads(p.stdout)
    assert out["skipped"] == 500 and out["done"] == 0
    p = jobctl("-u", sqlite_url, "requeue", "--all", "--max-stall-ms", "5", "--dry-run")
    assert p.returncode == 2 and "Resque targets only" in p.stderr

