"""Shared fixtures: real servers only (see servers.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from servers import FIXTURES, RedisServer, SilentServer, drop_database, make_database  # noqa: E402


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.exists():
        pytest.fail(f"shared fixtures not found at {FIXTURES} (expected ../shared next to the repo)")
    return FIXTURES


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One private redis-server for the whole session (never the machine's shared 6379)."""
    srv = RedisServer()
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """An empty Redis (the private server, flushed) for one test."""
    if redis_server.proc is None or redis_server.proc.poll() is not None:
        redis_server.start()
    c = redis_server.client()
    c.flushall()
    c.close()
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: RedisServer, redis_url: str):  # type: ignore[no-untyped-def]
    c = redis_server.client()
    yield c
    c.close()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, for fault tests that stop or restart it."""
    srv = RedisServer()
    srv.start()
    yield srv
    srv.cleanup()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    """A TCP server that accepts connections and never answers (a wedged Redis or database)."""
    s = SilentServer()
    yield s
    s.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    url, name = make_database("pg")
    yield url
    drop_database("pg", name)


@pytest.fixture
def mysql_url() -> Iterator[str]:
    url, name = make_database("mysql")
    yield url
    drop_database("mysql", name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'dj.sqlite3'}"


@pytest.fixture
def dj_fixture_sqlite(tmp_path: Path, fixtures_dir: Path) -> str:
    """A copy of the real delayed_job 4.1.9 SQLite database; returns its URL."""
    dst = tmp_path / "fixture.sqlite3"
    shutil.copy(fixtures_dir / "delayed_job" / "sqlite.sqlite3", dst)
    return f"sqlite:///{dst}"


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG dirs in tmp, no JOBCTL_* from the caller's environment."""
    for k in list(os.environ):
        if k.startswith("JOBCTL_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def run_jobctl(*args: str, input: str | None = None, env: dict[str, str] | None = None,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real `jobctl` in a subprocess (python -m jobctl)."""
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run([sys.executable, "-m", "jobctl", *args], input=input, capture_output=True,
                          text=True, env=full_env, timeout=timeout)


@pytest.fixture
def jobctl():  # type: ignore[no-untyped-def]
    return run_jobctl
