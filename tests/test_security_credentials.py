"""Credentials never leak: every command run with a password-bearing URL or config, with --trace
(and --debug on errors), and every byte it printed, notified or wrote is grepped for the password
(raw and URL-encoded). Also: the warning for a secret-holding config readable by others, and
passwords from an environment variable, a password file or JOBCTL_PASSWORD working end to end
against a real `requirepass` / ACL Redis.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from resque_data import load_dump
from servers import RedisServer, drop_database, make_database
from test_tui_support import first_tick, run, top_app

from jobctl.cli.common import LOCAL_WRITES, MUTATING, READS

PASSWORD = "s3cr:t@P/w%d#x"  # every URL-special character, so encoded and raw forms differ
ENCODED = quote(PASSWORD, safe="")
USER_PASSWORD = "acl-Pa55-ZQX"


def leaks(text: str | bytes) -> list[str]:
    t = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return [p for p in {PASSWORD, ENCODED, USER_PASSWORD, "s3cr:t", "Pa55-ZQX"} if p in t]


@pytest.fixture(scope="module")
def secured() -> Any:
    """A redis-server with requirepass and an ACL user, loaded with the real Resque fixture."""
    srv = RedisServer()
    srv.start()  # its readiness probe is an unauthenticated PING, so the password is set afterwards
    c = srv.client()
    load_dump(c)
    c.execute_command("ACL", "SETUSER", "ops", "on", f">{USER_PASSWORD}", "~*", "&*", "+@all")
    c.config_set("requirepass", PASSWORD)
    c.close()
    yield srv
    srv.cleanup()


def _url(srv: RedisServer, user: str = "") -> str:
    pw = ENCODED if not user else USER_PASSWORD
    return f"redis://{user}:{pw}@127.0.0.1:{srv.port}/0"


def _args(tmp: Path) -> dict[str, list[str]]:
    cap = tmp / "monitor.log"
    cap.write_bytes(b'1795808598.552929 [0 127.0.0.1:35672] "auth" "' + PASSWORD.encode() + b'"\n')
    return {
        "targets": ["targets"], "ping": ["ping"], "queues": ["queues"], "peek": ["peek", "low"], "failed": ["failed"],
        "show": ["show", "low@0"], "workers": ["workers"], "stats": ["stats"], "scheduled": ["scheduled"],
        "status": ["status"], "tail": ["tail", "--duration", "1s", "--interval", "0.5s"],
        "alert": ["alert", "--state", str(tmp / "state.json"), "--notify-command",
                  f"{sys.executable} -c \"import sys; open('{tmp / 'notified.json'}', 'w').write(sys.stdin.read())\""],
        "metrics": ["metrics", "--prom-file", str(tmp / "jobctl.prom")],
        "demo": ["demo", "--path", str(tmp / "demo.sqlite3"), "--no-peek"],
        "requeue": ["requeue", "--all", "--dry-run"], "discard": ["discard", "--all", "--dry-run"],
        "unlock": ["unlock", "--stuck", "--dry-run"],
    }


@pytest.mark.parametrize("command", sorted((READS | MUTATING | LOCAL_WRITES) - {"top"}))
@pytest.mark.parametrize("user", ["", "ops"], ids=["requirepass", "acl-user"])
def test_no_command_prints_or_writes_the_password(jobctl: Any, secured: RedisServer, isolated_env: Path,
                                                  command: str, user: str) -> None:
    url = _url(secured, user)
    cfg = isolated_env / "config.toml"
    cfg.write_text(f'default_target = "prod"\n[targets.prod]\nurl = "{url}"\n')
    os.chmod(cfg, 0o600)
    args = _args(isolated_env)[command]
    r = jobctl("--trace", "-u", url, *args, env={"JOBCTL_CONFIG": str(cfg)})
    assert "Traceback" not in r.stderr
    assert not leaks(r.stdout + r.stderr), (command, leaks(r.stdout + r.stderr), r.stderr[-500:])
    if command in ("ping", "queues", "stats", "peek", "failed"):
        assert r.returncode == 0, r.stderr  # the password was used: it connected
    if command == "ping":
        assert "redis://" in r.stdout and ":***@" in r.stdout
    ours = {cfg, isolated_env / "monitor.log"}
    for f in isolated_env.rglob("*"):  # what jobctl wrote: state file, prom file, notification payload …
        if f.is_file() and f not in ours and f.suffix != ".sqlite3":
            assert not leaks(f.read_bytes()), f


def test_targets_and_ping_show_the_masked_url(jobctl: Any, secured: RedisServer, isolated_env: Path) -> None:
    cfg = isolated_env / "config.toml"
    cfg.write_text(f'[targets.prod]\nurl = "{_url(secured)}"\n')
    os.chmod(cfg, 0o600)
    r = jobctl("targets", "-o", "json", env={"JOBCTL_CONFIG": str(cfg)})
    assert r.returncode == 0 and "redis://:***@127.0.0.1" in r.stdout and not leaks(r.stdout)
    r = jobctl("-t", "prod", "ping", env={"JOBCTL_CONFIG": str(cfg)})
    assert r.returncode == 0 and "***" in r.stdout and not leaks(r.stdout + r.stderr)


@pytest.mark.parametrize("debug", [False, True])
def test_errors_never_show_the_password(jobctl: Any, secured: RedisServer, pg_url: str, debug: bool) -> None:
    flags = ["--debug"] if debug else []
    bad = [
        f"redis://:wrong{ENCODED}@127.0.0.1:{secured.port}/0",  # wrong password
        f"redis://ops:{ENCODED}@127.0.0.1:{secured.port}/0",  # wrong ACL password
        f"redis://:{ENCODED}@127.0.0.1:1/0",  # nothing listening
        f"rediss://:{ENCODED}@127.0.0.1:{secured.port}/0",  # TLS against a plain port
        pg_url.replace("root@", f"root:{ENCODED}@") + "_missing",  # no such database
        f"mysql+pymysql://root:{ENCODED}@127.0.0.1:3306/jobctl_none",  # MariaDB refuses the password
        f"redis://:{ENCODED}@[::1:bad/0",  # not even a valid URL
    ]
    for url in bad:
        r = jobctl(*flags, "--trace", "-u", url, "queues", timeout=60)
        assert r.returncode != 0, url
        assert not leaks(r.stdout + r.stderr), (url, r.stderr[-800:])
        assert r.stderr.strip(), url


def test_postgres_password_in_trace_and_output(jobctl: Any) -> None:
    url, name = make_database("pg")
    try:
        from dj_data import load_fixture

        load_fixture(url)
        with_pw = url.replace("root@", f"root:{ENCODED}@")  # trust auth: accepted, and must stay hidden
        for args in (["ping"], ["queues"], ["failed", "-o", "json"], ["alert", "--no-state"], ["metrics"]):
            r = jobctl("--trace", "-u", with_pw, *args)
            assert r.returncode in (0, 1, 2), (args, r.stderr)
            assert not leaks(r.stdout + r.stderr), (args, leaks(r.stdout + r.stderr))
    finally:
        drop_database("pg", name)


def test_top_header_shows_no_password(secured: RedisServer) -> None:
    from test_tui_support import widget_text

    from jobctl.backends import open_backend
    from jobctl.targets import Target

    app = top_app(open_backend(Target(url=_url(secured))))

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        for w in app.screen.query("*"):
            if w.size.width and w.size.height:
                assert not leaks(widget_text(w)), type(w).__name__
        assert "***" in widget_text(app.screen.query_one("Meters"))

    run(app, scenario)


# ----------------------------------------------------------------------------- config secrets


def test_config_with_a_secret_readable_by_others_draws_a_warning(jobctl: Any, secured: RedisServer,
                                                                 isolated_env: Path) -> None:
    cfg = isolated_env / "config.toml"
    cfg.write_text(f'default_target = "prod"\n[targets.prod]\nurl = "{_url(secured)}"\n')
    os.chmod(cfg, 0o644)
    r = jobctl("queues", env={"JOBCTL_CONFIG": str(cfg)})
    assert r.returncode == 0 and "readable by other users" in r.stderr and "chmod 600" in r.stderr
    assert not leaks(r.stderr)
    os.chmod(cfg, 0o600)
    r = jobctl("queues", env={"JOBCTL_CONFIG": str(cfg)})
    assert r.returncode == 0 and "readable by other users" not in r.stderr
    cfg.write_text('default_target = "prod"\n[targets.prod]\nurl = "redis://127.0.0.1:1/0"\n')
    os.chmod(cfg, 0o644)  # no secret in it: world-readable is fine
    r = jobctl("targets", env={"JOBCTL_CONFIG": str(cfg)})
    assert "readable by other users" not in r.stderr


def test_password_from_env_file_and_jobctl_password(jobctl: Any, secured: RedisServer, isolated_env: Path) -> None:
    pw_file = isolated_env / "redis.pw"
    pw_file.write_text(PASSWORD + "\n")
    os.chmod(pw_file, stat.S_IRUSR)
    cfg = isolated_env / "config.toml"
    plain = f"redis://127.0.0.1:{secured.port}/0"
    cfg.write_text(f'[targets.env]\nurl = "{plain}"\npassword_env = "PROD_REDIS_PW"\n'
                   f'[targets.file]\nurl = "{plain}"\npassword_file = "{pw_file}"\n'
                   f'[targets.acl]\nurl = "redis://ops@127.0.0.1:{secured.port}/0"\npassword_env = "OPS_PW"\n')
    os.chmod(cfg, 0o644)  # holds no secret itself: no warning
    env = {"JOBCTL_CONFIG": str(cfg), "PROD_REDIS_PW": PASSWORD, "OPS_PW": USER_PASSWORD}
    for name in ("env", "file", "acl"):
        r = jobctl("--trace", "-t", name, "queues", "-o", "json", env=env)
        assert r.returncode == 0, (name, r.stderr)
        assert '"low"' in r.stdout and not leaks(r.stdout + r.stderr), name
        assert "readable by other users" not in r.stderr
    r = jobctl("--trace", "-u", plain, "stats", env={"JOBCTL_PASSWORD": PASSWORD})
    assert r.returncode == 0 and not leaks(r.stdout + r.stderr), r.stderr
    r = jobctl("-u", plain, "stats")  # and without it the server refuses: the secret really was used
    assert r.returncode == 3 and not leaks(r.stderr)
    r = jobctl("-t", "env", "queues", env={"JOBCTL_CONFIG": str(cfg)})  # the variable is missing
    assert r.returncode == 2 and "PROD_REDIS_PW" in r.stderr
