"""Monitoring never writes: MONITOR (a second connection on the private server) records every
command each read command sends; none may carry Redis's `write` flag (per COMMAND INFO)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from resque_data import load_dump

END_MARK = "jobctl-nowrite-end"


class Recorder:
    """Collects MONITOR lines in a thread until an ECHO END_MARK shows up."""

    def __init__(self, client: Any) -> None:
        self.lines: list[str] = []
        self._monitor = client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for event in self._monitor.listen():
            cmd = event["command"]
            if END_MARK in cmd:
                return
            self.lines.append(cmd)

    def stop(self, client: Any) -> list[str]:
        client.echo(END_MARK)
        self._thread.join(10)
        assert not self._thread.is_alive(), "MONITOR reader did not see the end mark"
        self._monitor.__exit__(None, None, None)
        return self.lines


def _write_commands(client: Any, lines: list[str]) -> list[str]:
    """Names of recorded commands that Redis flags as `write` / `@write` (COMMAND INFO)."""
    names = {line.split(" ", 1)[0].strip('"').lower() for line in lines if line}
    writes = []
    for name in sorted(names):
        info = client.execute_command("COMMAND", "INFO", name).get(name)
        assert info, f"unknown command in MONITOR output: {name}"
        flags = {f.decode() if isinstance(f, bytes) else str(f) for f in info["flags"]}
        cats = {c.decode() if isinstance(c, bytes) else str(c) for c in info["acl_categories"]}
        if "write" in flags or "@write" in cats:
            writes.append(name)
    return writes


def _snapshot(client: Any) -> dict[bytes, bytes]:
    """DUMP of every key without a TTL (the fixture's pruning lock expires on its own)."""
    return {k: client.dump(k) for k in sorted(client.keys("*")) if client.ttl(k) == -1}


READ_COMMANDS = [
    ("ping",), ("queues",), ("queues", "-o", "json"), ("peek", "low", "--limit", "50"),
    ("peek", "low", "--class", "UpdateMetrics", "--grep", "8"), ("peek", "high", "--raw"),
    ("failed",), ("failed", "-n", "0", "-o", "jsonl"), ("failed", "--group-by", "class,exception"),
    ("failed", "--oldest-first", "--exception", "RuntimeError"), ("failed", "--count", "--since", "3650d"),
    ("show", "low@9"), ("show", "failed[17]"), ("workers",), ("stats",), ("scheduled",),
    ("scheduled", "--jobs"), ("status",), ("status", "4f9b2c1e8d7a6b5c4d3e2f1a0b9c8d7e"),
]


@pytest.fixture
def loaded(redis_url: str, redis_client: Any, isolated_env: Any) -> str:
    load_dump(redis_client)
    sec = int(redis_client.time()[0])
    redis_client.zadd("resque:delayed_queue_schedule", {str(sec + 60): sec + 60})
    redis_client.rpush(f"resque:delayed:{sec + 60}", b'{"class":"Later","args":[],"queue":"low"}')
    uuid = "4f9b2c1e8d7a6b5c4d3e2f1a0b9c8d7e"
    redis_client.set(f"resque:status:{uuid}", json.dumps({"time": sec, "status": "working", "uuid": uuid}))
    redis_client.zadd("resque:_statuses", {uuid: sec})
    return redis_url


def test_no_read_command_sends_a_write(jobctl: Any, loaded: str, redis_server: Any) -> None:
    watcher = redis_server.client()
    checker = redis_server.client()
    before = _snapshot(checker)
    rec = Recorder(watcher)
    shown_failure = None
    try:
        for args in READ_COMMANDS:
            proc = jobctl("-u", loaded, *args)
            assert proc.returncode == 0, (args, proc.stderr)
        shown_failure = json.loads(jobctl("-u", loaded, "failed", "-n", "1", "-o", "json").stdout)[0]["id"]
        assert jobctl("-u", loaded, "show", shown_failure).returncode == 0
    finally:
        lines = rec.stop(checker)
    assert len(lines) > 50  # the recorder saw the traffic
    assert any(line.lower().startswith("lrange") for line in lines)
    assert any(line.lower().startswith("info") for line in lines)
    assert _write_commands(checker, lines) == []
    assert _snapshot(checker) == before
