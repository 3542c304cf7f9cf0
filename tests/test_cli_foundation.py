"""The CLI contract of issue #2: fast start, help with examples, targets/config, exit codes,
completions up to date, masked secrets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("textual", "sqlalchemy", "redis")


def _modules_after(args: list[str]) -> set[str]:
    code = (
        "import sys\n"
        "from jobctl.cli.app import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    line = r.stderr.rsplit("MODULES ", 1)[-1]
    return set(line.split())


def _command_names() -> list[str]:
    import typer

    from jobctl.cli.app import app

    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_help_lists_commands_without_heavy_imports() -> None:
    r = subprocess.run([sys.executable, "-m", "jobctl", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for name in _command_names():
        assert name in r.stdout
    mods = _modules_after(["--help"])
    assert "jobctl.cli.app" in mods
    loaded = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    assert loaded == [], f"--help imported heavy modules: {loaded[:10]}"


@pytest.mark.parametrize("name", _command_names())
def test_every_command_help_is_light_and_has_an_example(name: str) -> None:
    mods = _modules_after([name, "--help"])
    loaded = sorted(m for m in mods if m.split(".")[0] in HEAVY)
    assert loaded == [], f"`jobctl {name} --help` imported {loaded[:10]}"
    r = subprocess.run([sys.executable, "-m", "jobctl", name, "--help"], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert "$ jobctl" in r.stdout, f"`jobctl {name} --help` shows no example"


def test_completions_are_current() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_completions.py"), "--check"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    bash = (ROOT / "completions" / "jobctl.bash").read_text()
    for name in _command_names():
        assert name in bash
    assert subprocess.run(["bash", "-n", str(ROOT / "completions" / "jobctl.bash")]).returncode == 0


def test_bash_completion_completes_commands() -> None:
    script = (
        f"source {ROOT / 'completions' / 'jobctl.bash'}\n"
        "COMP_WORDS=(jobctl pi); COMP_CWORD=1; _jobctl; echo \"${COMPREPLY[@]}\"\n"
        "COMP_WORDS=(jobctl ping -o j); COMP_CWORD=3; _jobctl; echo \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30).stdout.splitlines()
    assert out[0].split() == ["ping"]
    assert out[1].split() == ["json", "jsonl"]


def test_no_target_is_a_usage_error(jobctl, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    r = jobctl("ping", env={"XDG_CONFIG_HOME": str(isolated_env / "config"), "JOBCTL_URL": ""})
    assert r.returncode == 2
    assert "no target" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_scheme_is_a_usage_error(jobctl) -> None:  # type: ignore[no-untyped-def]
    r = jobctl("-u", "ftp://user:hunter2@example/x", "ping")
    assert r.returncode == 2
    assert "unsupported URL scheme" in r.stderr
    assert "hunter2" not in r.stderr


def test_unreachable_redis_exits_3_with_one_line(jobctl) -> None:  # type: ignore[no-untyped-def]
    from servers import free_port

    r = jobctl("-u", f"redis://:s3cret@127.0.0.1:{free_port()}/0", "ping")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1
    assert "s3cret" not in r.stderr and "Traceback" not in r.stderr


def test_unreachable_postgres_exits_3(jobctl) -> None:  # type: ignore[no-untyped-def]
    from servers import free_port

    r = jobctl("-u", f"postgresql://root:pw@127.0.0.1:{free_port()}/x", "ping")
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert "pw@" not in r.stderr and "Traceback" not in r.stderr


def test_ping_redis_reports_version(jobctl, redis_url: str, redis_client) -> None:  # type: ignore[no-untyped-def]
    redis_client.sadd("resque:queues", "low")
    redis_client.rpush("resque:queue:low", b'{"class":"A","args":[]}')
    r = jobctl("-u", redis_url, "ping", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["backend"] == "resque"
    assert data["format_detected"] is True
    info_version = redis_client.info("server")["redis_version"]
    assert data["server_version"] == info_version


def test_ping_empty_redis_is_not_a_queue_store(jobctl, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    r = jobctl("-u", redis_url, "ping")
    assert r.returncode == 3
    assert "resque" in r.stderr.lower()


def test_ping_sqlite_fixture_detects_delayed_job(jobctl, dj_fixture_sqlite: str) -> None:  # type: ignore[no-untyped-def]
    r = jobctl("-u", dj_fixture_sqlite, "ping", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["backend"] == "delayed_job"
    assert data["format_detected"] is True
    assert "3." in data["server_version"]  # e.g. "SQLite 3.40.1"


def test_ping_sqlite_without_table(jobctl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    db = tmp_path / "empty.sqlite3"
    sqlite3.connect(db).execute("create table other(x)").connection.close()
    r = jobctl("-u", f"sqlite:///{db}", "ping")
    assert r.returncode == 3
    assert "delayed_jobs" in r.stderr


def test_targets_from_config_masked_and_selected(jobctl, isolated_env: Path, redis_url: str,
                                                 redis_client) -> None:  # type: ignore[no-untyped-def]
    cfg_dir = isolated_env / "config" / "jobctl"
    cfg_dir.mkdir(parents=True)
    cfg = cfg_dir / "config.toml"
    cfg.write_text(
        'default_target = "local"\n'
        f'[targets.local]\nurl = "{redis_url}"\nnamespace = "app:resque"\n'
        '[targets.prod]\nurl = "redis://admin:topsecret@10.0.0.1:6379/2"\nread_only = true\n'
    )
    os.chmod(cfg, 0o600)
    env = {"XDG_CONFIG_HOME": str(isolated_env / "config")}
    r = jobctl("targets", "-o", "json", env=env)
    assert r.returncode == 0, r.stderr
    rows = {t["name"]: t for t in json.loads(r.stdout)}
    assert rows["prod"]["url"] == "redis://admin:***@10.0.0.1:6379/2"
    assert rows["prod"]["read_only"] is True
    assert rows["local"]["default"] is True and rows["local"]["namespace"] == "app:resque"
    assert "topsecret" not in r.stdout + r.stderr
    assert "warning" not in r.stderr
    # the default target is used, with its namespace
    redis_client.sadd("app:resque:queues", "low")
    r = jobctl("ping", "-o", "json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["format_detected"] is True
    # world-readable config holding a password draws a warning
    os.chmod(cfg, 0o644)
    r = jobctl("targets", env=env)
    assert "readable by other users" in r.stderr
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o644


def test_unknown_target_and_bad_config(jobctl, isolated_env: Path) -> None:  # type: ignore[no-untyped-def]
    cfg_dir = isolated_env / "config" / "jobctl"
    cfg_dir.mkdir(parents=True)
    (cfg_dir / "config.toml").write_text("[targets.a]\nurl = 'redis://x'\n")
    env = {"XDG_CONFIG_HOME": str(isolated_env / "config")}
    r = jobctl("-t", "nope", "ping", env=env)
    assert r.returncode == 2 and "unknown target 'nope'" in r.stderr
    (cfg_dir / "config.toml").write_text("[targets.a\n")
    r = jobctl("targets", env=env)
    assert r.returncode == 2 and "invalid TOML" in r.stderr


def test_bad_format_is_usage_error(jobctl) -> None:  # type: ignore[no-untyped-def]
    r = jobctl("targets", "-o", "xml")
    assert r.returncode == 2
