"""Real servers for the test suite: private redis-server processes, fresh PostgreSQL / MariaDB
databases on the machine's services, SQLite files. No fakes. A missing server is a test error,
never a skip (CI must fail when something is absent)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
if not SHARED.exists():  # CI clones next to a copy of shared/
    SHARED = Path(os.environ.get("JOBCTL_SHARED", "../shared")).resolve()
FIXTURES = SHARED / "fixtures"

PG_HOST = os.environ.get("JOBCTL_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432")
MYSQL_HOST = os.environ.get("JOBCTL_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A private redis-server on its own port (fault tests may stop/restart it)."""

    def __init__(self, port: int | None = None, extra_args: list[str] | None = None) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is not installed (scripts/test installs it); cannot run Redis tests")
        self.exe = exe
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="jobctl-redis-")
        self.extra_args = extra_args or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        args = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.dir, "--daemonize", "no", "--loglevel", "warning", *self.extra_args]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                pytest.fail(f"redis-server on port {self.port} exited: {err}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"redis-server on port {self.port} did not start within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self, **kw: object):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, protocol=2, **kw)  # type: ignore[arg-type]

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _sa_engine(url: str):  # type: ignore[no-untyped-def]
    from sqlalchemy import create_engine

    return create_engine(url, isolation_level="AUTOCOMMIT")


def make_database(kind: str) -> tuple[str, str]:
    """Create a fresh database on the machine's PostgreSQL or MariaDB; returns (url, name)."""
    from sqlalchemy import text

    name = f"jobctl_t_{uuid.uuid4().hex[:12]}"
    base = PG_HOST if kind == "pg" else MYSQL_HOST
    admin_db = "test"
    try:
        eng = _sa_engine(f"{base}/{admin_db}")
        with eng.connect() as c:
            c.execute(text(f"CREATE DATABASE {name}" + (" CHARACTER SET utf8mb4" if kind == "mysql" else "")))
        eng.dispose()
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"{'PostgreSQL' if kind == 'pg' else 'MariaDB'} is not reachable at {base}: {e}")
    return f"{base}/{name}", name


def drop_database(kind: str, name: str) -> None:
    from sqlalchemy import text

    base = PG_HOST if kind == "pg" else MYSQL_HOST
    eng = _sa_engine(f"{base}/test")
    with eng.connect() as c:
        if kind == "pg":
            c.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        else:
            c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    eng.dispose()


class SilentServer:
    """Accepts TCP connections and never sends a byte (a hung server / a black-holed proxy)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.conns.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        for c in self.conns:
            c.close()
        self.sock.close()
