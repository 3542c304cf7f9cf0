"""`jobctl tail` against a real private redis-server: MONITOR on its own connection, events in
order, --count / --duration stop it, and the guards disconnect a consumer that stopped reading.

Each test runs the real CLI in a subprocess and drives Redis from this process with redis-py,
the way Resque's producers and workers talk to it (the same commands, one connection per role).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from servers import RedisServer

ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
WID = "host1:4242:low"
_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_leftover_tails() -> Iterator[None]:
    """A failed assertion must not leave a `jobctl tail` running: kill what this test started."""
    yield
    while _STARTED:
        p = _STARTED.pop()
        if p.poll() is None:
            p.kill()
            p.communicate(timeout=30)


def start_tail(url: str, *args: str, stdout: Any = subprocess.PIPE) -> subprocess.Popen[str]:
    p = subprocess.Popen([sys.executable, "-m", "jobctl", "-u", url, "tail", *args], stdout=stdout,
                         stderr=subprocess.PIPE, text=True, env=ENV)
    _STARTED.append(p)
    return p


def monitors(client: Any) -> list[dict[str, Any]]:
    return [c for c in client.client_list() if "O" in c.get("flags", "") or c.get("cmd") == "monitor"]


def wait_for_monitor(client: Any, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jobctl tail exited early ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}")
        if monitors(client):
            return
        time.sleep(0.05)
    pytest.fail("jobctl tail never opened MONITOR")


def payload(cls: str, *args: Any) -> bytes:
    return json.dumps({"class": cls, "args": list(args)}, separators=(",", ":")).encode()


def resque_run(srv: RedisServer) -> None:
    """A producer and a worker doing what Resque does (resque-format.md §2.4), on their own connections."""
    producer = srv.client()
    worker = srv.client(single_connection_client=True)
    child = srv.client(single_connection_client=True)
    p = producer.pipeline(transaction=False)
    p.sadd("resque:queues", "low").rpush("resque:queue:low", payload("Good", 1, "é"))
    p.sadd("resque:queues", "low").rpush("resque:queue:low", payload("Bad", 2))
    p.execute()
    worker.sadd("resque:workers", WID)
    worker.set(f"resque:worker:{WID}:started", "2026-11-27 19:51:54 +0000")
    for cls, args, fails in (("Good", [1, "é"], False), ("Bad", [2], True)):
        worker.get("resque:pause-all-workers")
        assert worker.lpop("resque:queue:low") is not None
        worker.set(f"resque:worker:{WID}", json.dumps({"queue": "low", "run_at": "2026-11-27T19:51:54Z",
                                                       "payload": {"class": cls, "args": args}}))
        if fails:
            child.rpush("resque:failed", json.dumps({
                "failed_at": "2026/11/27 19:51:54 UTC", "payload": {"class": cls, "args": args},
                "exception": "RuntimeError", "error": "boom\nsecond line", "backtrace": [], "worker": WID,
                "queue": "low"}))
            child.incrby("resque:stat:failed", 1)
        worker.delete(f"resque:worker:{WID}")
        worker.incrby("resque:stat:processed", 1)
    worker.get("resque:pause-all-workers")
    assert worker.lpop("resque:queue:low") is None  # an empty poll: not a reserve
    worker.get("resque:pause-all-workers")
    worker.srem("resque:workers", WID)
    worker.delete(f"resque:worker:{WID}")
    for c in (producer, worker, child):
        c.close()


def test_commands_appear_as_events_in_order_and_count_stops(private_redis: RedisServer) -> None:
    admin = private_redis.client()
    proc = start_tail(private_redis.url, "-o", "jsonl", "--count", "11")
    wait_for_monitor(admin, proc)
    resque_run(private_redis)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["kind"], e["job_class"]) for e in events] == [
        ("enqueue", "Good"), ("enqueue", "Bad"), ("worker-start", None),
        ("reserve", "Good"), ("start", "Good"), ("done", "Good"),
        ("reserve", "Bad"), ("start", "Bad"), ("fail", "Bad"), ("done", "Bad"), ("worker-stop", None)]
    assert events[0]["args"] == [1, "é"] and events[0]["queue"] == "low" and events[0]["db"] == 0
    assert events[3]["worker"] == WID and events[8]["detail"].startswith("RuntimeError: boom")
    assert events[9]["detail"].startswith("failed, ran ")
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    assert err.count("warning: MONITOR") == 1
    assert "--- tail summary" in err and "low" in err
    assert not monitors(admin)  # the MONITOR connection is closed on exit
    admin.close()


def test_ctrl_c_stops_with_a_summary_and_exit_0(private_redis: RedisServer) -> None:
    import signal

    admin = private_redis.client()
    proc = start_tail(private_redis.url, "-o", "jsonl")
    wait_for_monitor(admin, proc)
    admin.rpush("resque:queue:low", payload("BeforeCtrlC"))
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the event is out: now interrupt it
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert [json.loads(x)["job_class"] for x in (first + out).splitlines()] == ["BeforeCtrlC"]
    assert "1 events shown" in err and "Traceback" not in err
    assert not monitors(admin)
    admin.close()


def test_duration_stops_an_idle_tail_and_trace_shows_jobctl_commands(private_redis: RedisServer) -> None:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "jobctl", "-u", private_redis.url, "--trace", "tail",
                           "--duration", "2s", "--interval", "0.3s"], capture_output=True, text=True, env=ENV,
                          timeout=90)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 60
    assert "--- tail summary: 0 lines read" in proc.stderr
    assert "] MONITOR" in proc.stderr and "CLIENT LIST ID" in proc.stderr  # --trace: our own commands, timed


def test_other_db_and_other_namespace_are_not_shown_by_default(private_redis: RedisServer) -> None:
    admin = private_redis.client()
    proc = start_tail(private_redis.url, "-o", "jsonl", "--count", "1")
    wait_for_monitor(admin, proc)
    db3 = private_redis.client(db=3)
    db3.rpush("resque:queue:low", payload("InDb3"))
    admin.rpush("other:queue:low", payload("OtherNs"))
    admin.rpush("resque:queue:low", payload("Mine"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert [json.loads(x)["job_class"] for x in out.splitlines()] == ["Mine"]
    db3.close()
    admin.close()


def _flood(srv: RedisServer, megabytes: int) -> None:
    c = srv.client()
    value = b"x" * 1000
    p = c.pipeline(transaction=False)
    for i in range(megabytes * 1000):
        p.rpush("resque:queue:flood", value)
        if i % 1000 == 999:
            p.execute()
    p.execute()
    c.close()


def test_omem_guard_disconnects_a_consumer_that_stopped_reading(private_redis: RedisServer) -> None:
    admin = private_redis.client()
    # stdout is a pipe nobody reads: once it is full, jobctl blocks and stops reading MONITOR
    proc = start_tail(private_redis.url, "-o", "jsonl", "--max-omem", "256kb", "--interval", "0.2s",
                      "--max-lag", "0")
    wait_for_monitor(admin, proc)
    _flood(private_redis, 40)
    deadline = time.monotonic() + 60
    while monitors(admin) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not monitors(admin), "the guard did not end the MONITOR connection"
    assert proc.poll() is None or proc.returncode != 0  # it was stuck writing, not done reading
    out, err = proc.communicate(timeout=60)  # drain: jobctl then notices and stops
    assert proc.returncode == 1, err
    assert "stopped MONITOR" in err and "--max-omem 0.2 MB" in err
    assert "--- tail summary" in err and len(out.splitlines()) > 100
    assert int(admin.info("memory")["used_memory"]) < 200 * 1024 * 1024
    admin.close()


def test_lag_guard_stops_a_consumer_that_fell_behind(private_redis: RedisServer) -> None:
    admin = private_redis.client()
    proc = start_tail(private_redis.url, "-o", "jsonl", "--max-lag", "1s", "--max-omem", "1gb")
    wait_for_monitor(admin, proc)
    _flood(private_redis, 12)
    time.sleep(3)  # jobctl is blocked on its full stdout; the lines waiting for it get old
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, err
    assert "stopped MONITOR: jobctl fell" in err and "--max-lag 1 s" in err
    assert not monitors(admin)
    admin.close()


def test_monitor_refused_by_acl_says_what_is_needed(private_redis: RedisServer) -> None:
    admin = private_redis.client()
    admin.execute_command("ACL", "SETUSER", "limited", "on", ">pw", "~*", "&*", "+@all", "-@admin")
    url = f"redis://limited:pw@127.0.0.1:{private_redis.port}/0"
    proc = subprocess.run([sys.executable, "-m", "jobctl", "-u", url, "tail", "--count", "1"], capture_output=True,
                          text=True, env=ENV, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert "MONITOR refused" in proc.stderr and "@admin" in proc.stderr and "--from" in proc.stderr
    assert "pw@" not in proc.stderr  # the password is masked
    admin.close()


@pytest.mark.parametrize("parser", ["_HiredisParser", "_RESP2Parser"])
def test_reader_waits_a_tick_then_reads_with_either_parser(private_redis: RedisServer, parser: str) -> None:
    import redis
    import redis._parsers as parsers

    from jobctl.backends.resque.follow import Idle, _reader

    pool = redis.ConnectionPool(host="127.0.0.1", port=private_redis.port, protocol=2,
                                parser_class=getattr(parsers, parser))
    conn = pool.make_connection()
    conn.connect()
    conn.send_command("MONITOR")
    assert conn.read_response() == b"OK"
    read = _reader(conn)
    t0 = time.monotonic()
    with pytest.raises(Idle):
        read(0.3)
    assert 0.2 < time.monotonic() - t0 < 10
    other = private_redis.client()
    other.rpush("resque:queue:low", b"x" * 100_000)  # a reply bigger than one socket read
    line = read(5)
    assert line.endswith(b'"' + b"x" * 100_000 + b'"') and b'"RPUSH"' in line.upper()
    with pytest.raises(Idle):
        read(0.2)
    conn.disconnect()
    other.close()
    pool.disconnect()


def test_unreachable_target_is_exit_3(tmp_path: Any) -> None:
    from servers import free_port

    proc = subprocess.run([sys.executable, "-m", "jobctl", "-u", f"redis://127.0.0.1:{free_port()}/0", "tail",
                           "--count", "1"], capture_output=True, text=True, env=ENV, timeout=60)
    assert proc.returncode == 3 and "cannot reach Redis" in proc.stderr
