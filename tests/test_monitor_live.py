"""Real redis-server MONITOR output of random binary arguments, through jobctl's parser.

A private redis-server; a raw-socket MONITOR connection (nothing of jobctl in the path); redis-py
sends commands whose arguments hypothesis draws from arbitrary bytes. Whatever Redis writes must
parse back to exactly the bytes that were sent, with the right db and client address.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import RedisServer

from jobctl.parse.monitor import parse_line


class RawMonitor:
    """MONITOR over a plain socket: returns each `+<line>\\r\\n` without the framing."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.sock.sendall(b"MONITOR\r\n")
        assert self.line() == b"OK"

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            assert chunk, "server closed the MONITOR connection"
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\r\n", 1)
        assert raw[:1] == b"+", raw
        return raw[1:]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    srv = RedisServer()
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture(scope="module")
def monitor(server: RedisServer) -> Iterator[RawMonitor]:
    m = RawMonitor(server.port)
    yield m
    m.close()


@pytest.fixture(scope="module")
def sender(server: RedisServer):  # type: ignore[no-untyped-def]
    c = server.client(single_connection_client=True)
    c.select(5)
    yield c
    c.close()


@given(key=st.binary(max_size=40), values=st.lists(st.binary(max_size=200), min_size=1, max_size=6))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_binary_arguments_round_trip_through_real_monitor_output(
        monitor: RawMonitor, sender, key: bytes, values: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    sender.execute_command("RPUSH", b"k:" + key, *values)
    line = monitor.line()
    parsed = parse_line(line)
    while parsed is not None and parsed.args[0].upper() == b"SELECT":  # the fixture's SELECT, once
        line = monitor.line()
        parsed = parse_line(line)
    assert parsed is not None, line
    assert parsed.args == [b"RPUSH", b"k:" + key, *values]
    assert parsed.db == 5
    port = sender.connection._sock.getsockname()[1]
    assert parsed.client == f"127.0.0.1:{port}"


def test_lua_client_and_every_byte_value(monitor: RawMonitor, sender) -> None:  # type: ignore[no-untyped-def]
    every = bytes(range(256))
    sender.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, b"all-bytes", every)
    lines = [monitor.line(), monitor.line()]
    ev, inner = (parse_line(x) for x in lines)
    assert ev is not None and inner is not None
    assert ev.args[0].upper() == b"EVAL" and ev.args[-1] == every
    assert inner.client == "lua" and inner.args == [b"SET", b"all-bytes", every] and inner.db == 5
