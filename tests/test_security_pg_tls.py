"""PostgreSQL over TLS: a private PostgreSQL cluster (initdb, run as the `postgres` user, on a free
port) with `ssl = on`, a certificate made by openssl in the test, and pg_hba allowing **only**
`hostssl` connections. jobctl's `sslmode` / `sslrootcert` URL parameters reach libpq (psycopg):
`require` connects and reads the real Delayed Job fixture, `verify-full` checks the chain and the
host name, `disable` is refused by the server, and every failure is one clear line (exit 3).
Never touches the machine's shared PostgreSQL.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from certs import issue, make_ca
from dj_data import load_fixture
from servers import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL's {name} is not installed (Debian package postgresql)")
    return found[-1]


def _as_postgres(*args: str, timeout: float = 60) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=timeout)


@pytest.fixture(scope="module")
def tls_pg() -> Iterator[tuple[int, Path]]:
    # Not under pytest's tmp dir: its parents are private to root, and the server runs as `postgres`
    base = Path(tempfile.mkdtemp(prefix="jobctl-pgtls-"))
    base.chmod(0o755)
    certs = base / "certs"
    certs.mkdir()
    make_ca(certs)
    make_ca(certs, "other-ca", "some-other-ca")
    issue(certs, "server", "localhost", san="DNS:localhost")  # not the IP: by IP, verify-full must fail
    run_dir = base / "run"
    run_dir.mkdir()
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: the cluster belongs to `postgres`
        shutil.chown(run_dir, "postgres")
    cluster = run_dir / "cluster"
    port = free_port()
    started = False
    try:
        _as_postgres(_bin("initdb"), "-D", str(cluster), "-A", "trust", "-U", "root", "--no-sync", "-E", "UTF8")
        for name in ("server.crt", "server.key"):
            shutil.copy(certs / name, cluster / name)
            (cluster / name).chmod(0o600)
            if os.geteuid() == 0:
                shutil.chown(cluster / name, "postgres")
        with (cluster / "postgresql.conf").open("a") as f:
            f.write(f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{run_dir}'\n"
                    "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nfsync = off\n")
        (cluster / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 trust\n"
                                              "hostnossl all all 127.0.0.1/32 reject\n"
                                              "local all all trust\n")
        _as_postgres(_bin("pg_ctl"), "-D", str(cluster), "-l", str(run_dir / "log"), "-w", "-t", "60", "start",
                     timeout=90)
        started = True
        load_fixture(f"postgresql+psycopg://root@localhost:{port}/postgres?sslmode=require")
        yield port, certs
    finally:
        if started:
            _as_postgres(_bin("pg_ctl"), "-D", str(cluster), "-m", "immediate", "stop", timeout=60)
        shutil.rmtree(base, ignore_errors=True)


def test_sslmode_require_connects_and_reads(jobctl: Any, tls_pg: tuple[int, Path]) -> None:
    port, _ = tls_pg
    r = jobctl("-u", f"postgresql://root@localhost:{port}/postgres?sslmode=require", "queues", "-o", "json")
    assert r.returncode == 0, r.stderr
    assert {q["name"] for q in json.loads(r.stdout)} >= {"toxic", "low"}


def test_verify_full_checks_the_chain_and_the_host_name(jobctl: Any, tls_pg: tuple[int, Path]) -> None:
    port, certs = tls_pg
    good = jobctl("-u", f"postgresql://root@localhost:{port}/postgres?sslmode=verify-full"
                        f"&sslrootcert={certs / 'ca.crt'}", "ping")
    assert good.returncode == 0, good.stderr
    wrong_ca = jobctl("-u", f"postgresql://root@localhost:{port}/postgres?sslmode=verify-full"
                            f"&sslrootcert={certs / 'other-ca.crt'}", "ping")
    by_ip = jobctl("-u", f"postgresql://root@127.0.0.1:{port}/postgres?sslmode=verify-full"
                         f"&sslrootcert={certs / 'ca.crt'}", "ping")
    for r in (wrong_ca, by_ip):
        assert r.returncode == 3, r.stdout + r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) <= 2
        assert "certificate" in r.stderr.lower() or "ssl" in r.stderr.lower(), r.stderr


def test_a_plain_connection_is_refused_by_the_server(jobctl: Any, tls_pg: tuple[int, Path]) -> None:
    port, _ = tls_pg
    r = jobctl("-u", f"postgresql://root@localhost:{port}/postgres?sslmode=disable", "ping")
    assert r.returncode == 3 and "Traceback" not in r.stderr, r.stderr
    assert "no encryption" in r.stderr or "pg_hba" in r.stderr or "rejects" in r.stderr, r.stderr
