"""Connecting to Resque Redis every way the issue lists: db index, password + ACL user, unix socket,
TLS (CA, client cert, verify off), Sentinel, timeouts; errors are exit 3 with the URL masked."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from certs import issue, make_ca
from resque_data import load_dump
from servers import RedisServer, free_port

from jobctl.backends.resque.backend import ResqueBackend
from jobctl.errors import TargetUnreachable, UsageError
from jobctl.targets import Target


def _backend(url: str, **options: Any) -> ResqueBackend:
    return ResqueBackend(Target(url=url, options=options))


def test_db_index_from_url_and_option(redis_server: RedisServer, redis_url: str) -> None:
    c3 = redis_server.client(db=3)
    load_dump(c3)
    base = f"redis://127.0.0.1:{redis_server.port}"
    assert _backend(f"{base}/3").stats().failed_stored == 31
    assert _backend(f"{base}/0").stats().failed_stored == 0
    assert _backend(f"{base}/0", db=3).stats().failed_stored == 31
    assert _backend(f"{base}/0?db=3").stats().failed_stored == 31
    with pytest.raises(UsageError, match="unknown option 'bogus'"):
        _backend(f"{base}/0?bogus=1").ping()


def test_password_and_acl_user(private_redis: RedisServer, jobctl: Any, isolated_env: Any) -> None:
    admin = private_redis.client()
    load_dump(admin)
    admin.execute_command("ACL", "SETUSER", "reader", "on", ">reader-pw", "~*", "+@read", "+@connection",
                          "+info", "+ping", "+time", "+scan")
    admin.config_set("requirepass", "top-secret")
    port = private_redis.port
    assert _backend(f"redis://:top-secret@127.0.0.1:{port}/0").stats().failed_stored == 31
    assert _backend(f"redis://reader:reader-pw@127.0.0.1:{port}/0").stats().failed_stored == 31
    with pytest.raises(TargetUnreachable) as e:
        _backend(f"redis://reader:WRONG-pw@127.0.0.1:{port}/0").ping()
    assert "WRONG-pw" not in str(e.value) and "***" in str(e.value)
    proc = jobctl("-u", f"redis://127.0.0.1:{port}/0", "queues")  # no password at all
    assert proc.returncode == 3 and "cannot reach Redis" in proc.stderr
    proc = jobctl("-u", f"redis://:nope-nope@127.0.0.1:{port}/0", "failed")
    assert proc.returncode == 3 and "nope-nope" not in proc.stderr
    ok = jobctl("-u", f"redis://127.0.0.1:{port}/0", "stats", "-o", "json", env={"JOBCTL_PASSWORD": "top-secret"})
    assert ok.returncode == 0, ok.stderr


def test_unix_socket(tmp_path: Path) -> None:
    sock = tmp_path / "redis.sock"
    srv = RedisServer(extra_args=["--unixsocket", str(sock), "--unixsocketperm", "700"])
    srv.start()
    try:
        load_dump(srv.client(), namespace="sock")
        b = ResqueBackend(Target(url=f"unix://{sock}?db=0", namespace="sock"))
        assert b.ping().format_detected
        assert [q.name for q in b.queues()][:2] == ["critical", "high"]
        with pytest.raises(TargetUnreachable):
            _backend(f"unix://{tmp_path}/missing.sock").ping()
    finally:
        srv.cleanup()


def _make_certs(d: Path) -> None:
    make_ca(d)
    for name in ("server", "client"):
        issue(d, name, name, san="DNS:localhost,IP:127.0.0.1")


def test_tls_with_ca_client_cert_and_verify_off(tmp_path: Path) -> None:
    _make_certs(tmp_path)
    tls_port = free_port()
    srv = RedisServer(extra_args=["--tls-port", str(tls_port), "--tls-cert-file", str(tmp_path / "server.crt"),
                                  "--tls-key-file", str(tmp_path / "server.key"),
                                  "--tls-ca-cert-file", str(tmp_path / "ca.crt"), "--tls-auth-clients", "yes"])
    srv.start()
    try:
        load_dump(srv.client())
        url = f"rediss://127.0.0.1:{tls_port}/0"
        certs = {"ssl_certfile": str(tmp_path / "client.crt"), "ssl_keyfile": str(tmp_path / "client.key")}
        good = _backend(url, ssl_ca_certs=str(tmp_path / "ca.crt"), **certs)
        assert good.stats().failed_stored == 31
        # verification off: no CA needed (the client certificate is still required by this server)
        assert _backend(url, ssl_cert_reqs="none", **certs).ping().format_detected
        q = f"{url}?ssl_ca_certs={tmp_path / 'ca.crt'}&ssl_certfile={certs['ssl_certfile']}&ssl_keyfile={certs['ssl_keyfile']}"
        assert _backend(q).ping().format_detected  # the same options as URL query parameters
        with pytest.raises(TargetUnreachable):  # server certificate not trusted without the CA
            _backend(url, **certs).ping()
        with pytest.raises(TargetUnreachable):  # server demands a client certificate
            _backend(url, ssl_ca_certs=str(tmp_path / "ca.crt")).ping()
    finally:
        srv.cleanup()


def _start_sentinel(tmp_path: Path, master_port: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
                    f"sentinel monitor mymaster 127.0.0.1 {master_port} 1\n"
                    "sentinel down-after-milliseconds mymaster 5000\n")
    proc = subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    import redis

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            s = redis.Redis(port=port, protocol=2, socket_timeout=1)
            if s.execute_command("SENTINEL", "get-master-addr-by-name", "mymaster"):
                return proc, port
        except redis.RedisError:
            pass
        time.sleep(0.1)
    proc.kill()
    pytest.fail("redis sentinel did not start")


def test_sentinel(tmp_path: Path, private_redis: RedisServer, jobctl: Any, isolated_env: Any) -> None:
    load_dump(private_redis.client())
    proc, port = _start_sentinel(tmp_path, private_redis.port)
    try:
        b = _backend(f"redis+sentinel://127.0.0.1:{port}/mymaster/0")
        assert b.stats().failed_stored == 31
        assert _backend(f"redis://127.0.0.1:{port}/0", sentinel_service="mymaster").ping().format_detected
        out = jobctl("-u", f"redis+sentinel://127.0.0.1:{port}/mymaster/0", "failed", "--count")
        assert out.returncode == 0 and out.stdout.strip() == "31", out.stderr
        with pytest.raises(TargetUnreachable):
            _backend(f"redis+sentinel://127.0.0.1:{port}/no-such-master/0").ping()
        with pytest.raises(UsageError, match="service name"):
            _backend(f"redis+sentinel://127.0.0.1:{port}").ping()
    finally:
        proc.terminate()
        proc.wait(5)


def test_timeouts_and_refused(jobctl: Any, isolated_env: Any, silent_server: Any) -> None:
    port = silent_server.port
    t0 = time.monotonic()
    with pytest.raises(TargetUnreachable, match="cannot reach Redis"):
        _backend(f"redis://127.0.0.1:{port}/0", timeout=0.5, connect_timeout=0.5).ping()
    assert time.monotonic() - t0 < 10
    proc = jobctl("-u", f"redis://user:pw123@127.0.0.1:{free_port()}/0", "ping")
    assert proc.returncode == 3 and "pw123" not in proc.stderr
