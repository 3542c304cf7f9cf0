"""Test certificates made with the openssl CLI: a CA, and certificates it issues (TLS tests for
Redis, PostgreSQL and SMTP). openssl missing is a failure, never a skip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def openssl(*args: str, cwd: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed to make test certificates")
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d: Path, name: str = "ca", cn: str = "jobctl-test-ca") -> None:
    """`<name>.crt` / `<name>.key` in `d`: a self-signed CA."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.crt",
            "-days", "2", "-subj", f"/CN={cn}", cwd=d)


def issue(d: Path, name: str, cn: str, *, san: str | None = None, ca: str = "ca") -> None:
    """`<name>.crt` / `<name>.key` in `d`, signed by the CA `<ca>` there; `san` e.g. "DNS:localhost"."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={cn}", cwd=d)
    ext: tuple[str, ...] = ()
    if san is not None:
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        ext = ("-extfile", f"{name}.ext")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.crt", "-days", "2", *ext, cwd=d)
