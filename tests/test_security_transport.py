"""Transport and authentication against real servers: Redis requirepass and ACL users (including
a user without write permission), rediss:// against a private TLS redis-server with certificates
made by openssl in the test (CA, client certificate, hostname check), PostgreSQL `sslmode` passed
through, and servers that accept a connection but never answer (a bare socket listener) giving a
clear one-line error within the timeout for Redis, PostgreSQL and MySQL URLs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from certs import issue, make_ca
from resque_data import load_dump
from servers import RedisServer, SilentServer, free_port

# ----------------------------------------------------------------------------- Redis auth


@pytest.fixture(scope="module")
def acl_redis() -> Iterator[RedisServer]:
    srv = RedisServer()
    srv.start()
    c = srv.client()
    load_dump(c)
    c.execute_command("ACL", "SETUSER", "ops", "on", ">ops-pw", "~*", "&*", "+@all")
    c.execute_command("ACL", "SETUSER", "viewer", "on", ">viewer-pw", "~*", "&*", "+@read", "+@connection",
                      "+info", "+time", "+scan", "+type", "+ping", "+client")
    c.config_set("requirepass", "root-pw")
    c.close()
    yield srv
    srv.cleanup()


def test_requirepass_and_acl_users(jobctl: Any, acl_redis: RedisServer) -> None:
    port = acl_redis.port
    for url in (f"redis://:root-pw@127.0.0.1:{port}/0", f"redis://ops:ops-pw@127.0.0.1:{port}/0",
                f"redis://viewer:viewer-pw@127.0.0.1:{port}/0"):
        r = jobctl("-u", url, "queues", "-o", "json")
        assert r.returncode == 0 and '"low"' in r.stdout, (url, r.stderr)
    for url, why in ((f"redis://127.0.0.1:{port}/0", "auth"), (f"redis://:nope@127.0.0.1:{port}/0", "password"),
                     (f"redis://ops:nope@127.0.0.1:{port}/0", "password")):
        r = jobctl("-u", url, "queues")
        assert r.returncode == 3, (url, r.stderr)
        assert why in r.stderr.lower() and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr


def test_a_user_without_write_permission_is_refused_by_redis_and_nothing_changes(jobctl: Any,
                                                                                 acl_redis: RedisServer) -> None:
    url = f"redis://viewer:viewer-pw@127.0.0.1:{acl_redis.port}/0"
    admin = acl_redis.client(password="root-pw")
    before = admin.lrange("resque:failed", 0, -1)
    r = jobctl("-u", url, "requeue", "--all", "--yes")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "noperm" in r.stderr.lower() or "permission" in r.stderr.lower(), r.stderr
    assert admin.lrange("resque:failed", 0, -1) == before
    admin.close()


# ----------------------------------------------------------------------------- TLS


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, int, Path]]:
    """A redis-server with a TLS port requiring client certificates (plain port for loading data)."""
    d = tmp_path_factory.mktemp("tls")
    make_ca(d)
    issue(d, "server", "127.0.0.1", san="DNS:localhost")  # not the IP: connecting by IP must fail the check
    issue(d, "client", "jobctl-client")
    tls_port = free_port()
    srv = RedisServer(extra_args=["--tls-port", str(tls_port), "--tls-cert-file", str(d / "server.crt"),
                                  "--tls-key-file", str(d / "server.key"), "--tls-ca-cert-file", str(d / "ca.crt"),
                                  "--tls-auth-clients", "yes"])
    srv.start()
    c = srv.client()
    load_dump(c)
    c.close()
    yield srv, tls_port, d
    srv.cleanup()


def test_rediss_with_ca_and_client_certificate(jobctl: Any, tls_redis: Any, isolated_env: Path) -> None:
    _, port, d = tls_redis
    ca, cert, key = d / "ca.crt", d / "client.crt", d / "client.key"
    url = f"rediss://localhost:{port}/0?ssl_ca_certs={ca}&ssl_certfile={cert}&ssl_keyfile={key}"
    r = jobctl("-u", url, "ping", "-o", "json")
    assert r.returncode == 0 and '"format_detected": true' in r.stdout, r.stderr
    r = jobctl("-u", url, "queues")
    assert r.returncode == 0 and "low" in r.stdout, r.stderr
    cfg = isolated_env / "config.toml"  # the same options from a configured target
    cfg.write_text(f'[targets.tls]\nurl = "rediss://localhost:{port}/0"\nssl_ca_certs = "{ca}"\n'
                   f'ssl_certfile = "{cert}"\nssl_keyfile = "{key}"\n')
    r = jobctl("-t", "tls", "stats", "-o", "json", env={"JOBCTL_CONFIG": str(cfg)})
    assert r.returncode == 0 and '"backend": "resque"' in r.stdout, r.stderr
    r = jobctl("-u", f"rediss://127.0.0.1:{port}/0?ssl_cert_reqs=none&ssl_certfile={cert}&ssl_keyfile={key}", "queues")
    assert r.returncode == 0, r.stderr  # no CA, verification explicitly off


@pytest.mark.parametrize("case", ["no-ca", "no-client-cert", "plain-redis-on-tls-port", "wrong-host"])
def test_rediss_failures_are_clear(jobctl: Any, tls_redis: Any, case: str) -> None:
    _, port, d = tls_redis
    ca, cert, key = d / "ca.crt", d / "client.crt", d / "client.key"
    url = {
        "no-ca": f"rediss://localhost:{port}/0?ssl_certfile={cert}&ssl_keyfile={key}",
        "no-client-cert": f"rediss://localhost:{port}/0?ssl_ca_certs={ca}",
        "plain-redis-on-tls-port": f"redis://127.0.0.1:{port}/0?timeout=2",
        "wrong-host": f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}&ssl_certfile={cert}&ssl_keyfile={key}",
    }[case]
    t0 = time.monotonic()
    r = jobctl("-u", url, "queues", timeout=60)
    assert r.returncode == 3, (case, r.stdout, r.stderr)
    assert r.stderr.startswith("jobctl: error: cannot reach Redis") and r.stderr.count("\n") == 1, r.stderr
    assert time.monotonic() - t0 < 20
    if case in ("no-ca", "wrong-host"):
        assert "certificate" in r.stderr.lower() or "hostname" in r.stderr.lower(), r.stderr


# ----------------------------------------------------------------------------- PostgreSQL sslmode


def test_postgres_sslmode_is_passed_through(jobctl: Any, pg_url: str) -> None:
    from dj_data import load_fixture

    load_fixture(pg_url)
    r = jobctl("-u", pg_url + "?sslmode=disable", "queues")
    assert r.returncode == 0, r.stderr
    r = jobctl("-u", pg_url + "?sslmode=require", "queues")  # the local server has no SSL: libpq must say so
    assert r.returncode == 3 and "SSL" in r.stderr and r.stderr.count("\n") == 1, r.stderr
    r = jobctl("-u", pg_url + "?sslmode=bogus", "queues")
    assert r.returncode in (2, 3) and "sslmode" in r.stderr, r.stderr


# ----------------------------------------------------------------------------- servers that never answer


@pytest.mark.parametrize("scheme,query,bound", [
    ("redis", "", 15.0),  # default timeout 5 s
    ("redis", "?timeout=1&connect_timeout=1", 6.0),
    ("rediss", "?timeout=1&connect_timeout=1&ssl_cert_reqs=none", 6.0),  # hangs in the TLS handshake
    ("postgresql", "", 20.0),  # default connect timeout
    ("postgresql", "?connect_timeout=2", 8.0),
    ("mysql+pymysql", "", 20.0),
    ("mysql+pymysql", "?connect_timeout=2", 8.0),
])
def test_a_server_that_never_answers_gives_a_clear_error_in_time(jobctl: Any, silent_server: SilentServer, scheme: str,
                                                                  query: str, bound: float) -> None:
    path = "/0" if scheme.startswith("redis") else "/app"
    url = f"{scheme}://root:pw@127.0.0.1:{silent_server.port}{path}{query}"
    t0 = time.monotonic()
    r = jobctl("-u", url, "queues", timeout=bound + 30)
    took = time.monotonic() - t0
    assert r.returncode == 3, (url, r.stdout, r.stderr)
    assert took < bound, f"{url}: {took:.1f}s"
    assert r.stderr.startswith("jobctl: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert "timed out" in r.stderr.lower() or "timeout" in r.stderr.lower(), r.stderr
    assert ":pw@" not in r.stderr
    assert len(silent_server.conns) >= 1  # it really connected and then waited
