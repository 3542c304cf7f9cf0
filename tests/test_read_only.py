"""Read-only mode: every mutating path is refused, every other path never writes.

The lists come from the code, not from this file: commands from the Typer app (each must be in
`cli.common.MUTATING`, `READS` or `LOCAL_WRITES`), TUI actions from every `BINDINGS` of every
Textual class under `jobctl.tui` (each must be in `tui.keymap.MUTATING_ACTIONS` or
`READ_ACTIONS`). A new command or key nobody classified fails here. Read-only is tested in its
three forms: `--read-only`, `JOBCTL_READ_ONLY=1`, `read_only = true` on a configured target.
"Never writes" is checked on the server: the whole Redis keyspace (DUMP of every key) and
INFO commandstats for Resque, a byte digest of the SQLite file for Delayed Job.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from dj_data import file_digest, sqlite_path
from resque_data import load_dump
from test_tui_support import WRITE_COMMANDS, commandstats, first_tick, run, screen_name, top_app, wait_for

from jobctl.cli.common import LOCAL_WRITES, MUTATING, READS

MODES = ("flag", "env", "config")


def all_commands() -> set[str]:
    import typer

    from jobctl.cli.app import app

    return set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def keyspace(client: Any) -> str:
    """Digest of every key's type and serialized value (TTLs excluded: they tick)."""
    h = hashlib.sha256()
    for key in sorted(client.scan_iter(count=1000)):
        h.update(key + b"\0" + (client.dump(key) or b"") + b"\0")
    return h.hexdigest()


def test_every_command_is_classified() -> None:
    assert not (MUTATING & READS or MUTATING & LOCAL_WRITES or READS & LOCAL_WRITES)
    cmds = all_commands()
    unclassified = cmds - (MUTATING | READS | LOCAL_WRITES)
    assert not unclassified, f"classify these in jobctl/cli/common.py: {sorted(unclassified)}"
    assert (MUTATING | READS | LOCAL_WRITES) - cmds == set(), "classified commands that do not exist"


def tui_bindings() -> list[tuple[str, str, str]]:
    """(class, key, action) for every binding of every Textual class defined under jobctl.tui."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    import jobctl.tui

    found = []
    for mod_info in pkgutil.walk_packages(jobctl.tui.__path__, "jobctl.tui."):
        mod = importlib.import_module(mod_info.name)
        for name, cls in inspect.getmembers(mod, inspect.isclass):
            if not (issubclass(cls, DOMNode) and cls.__module__ == mod.__name__ and "BINDINGS" in cls.__dict__):
                continue
            for b in cls.__dict__["BINDINGS"]:
                key, action = (b.key, b.action) if isinstance(b, Binding) else (b[0], b[1])
                found.append((name, key, action))
    return found


def test_every_tui_action_is_classified() -> None:
    from jobctl.tui.keymap import MUTATING_ACTIONS, READ_ACTIONS, action_name

    bindings = tui_bindings()
    assert len(bindings) > 30
    unclassified = {(c, a) for c, _, a in bindings if action_name(a) not in MUTATING_ACTIONS | READ_ACTIONS}
    assert not unclassified, f"classify in jobctl/tui/keymap.py: {sorted(unclassified)}"
    assert {action_name(a) for _, _, a in bindings} >= MUTATING_ACTIONS


# ----------------------------------------------------------------------------- CLI


def _mode_env(mode: str, url: str, tmp: Path) -> tuple[list[str], dict[str, str]]:
    """Global args + env that make `url` read-only in the given way."""
    if mode == "flag":
        return ["--read-only", "-u", url], {}
    if mode == "env":
        return ["-u", url], {"JOBCTL_READ_ONLY": "1"}
    cfg = tmp / "config.toml"
    cfg.write_text(f'[targets.prod]\nurl = "{url}"\nread_only = true\n')
    os.chmod(cfg, 0o600)
    return ["-t", "prod"], {"JOBCTL_CONFIG": str(cfg)}


MUTATING_ARGS = {
    "requeue": ["requeue", "--all", "--yes"],
    "discard": ["discard", "--all", "--yes"],
    "unlock": ["unlock", "--stuck", "--older-than", "1s", "--yes"],
}


def test_every_mutating_command_has_a_refusal_case() -> None:
    assert set(MUTATING_ARGS) == MUTATING


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("command", sorted(MUTATING - {"unlock"}))
def test_resque_mutations_are_refused(jobctl: Any, redis_client: Any, redis_url: str, isolated_env: Path,
                                      command: str, mode: str) -> None:
    load_dump(redis_client)
    before = keyspace(redis_client)
    redis_client.config_resetstat()
    glob, env = _mode_env(mode, redis_url, isolated_env)
    r = jobctl(*glob, *MUTATING_ARGS[command], env=env)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "read-only" in r.stderr
    assert keyspace(redis_client) == before
    assert not set(commandstats(redis_client)) & WRITE_COMMANDS


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("command", sorted(MUTATING))
def test_delayed_job_mutations_are_refused(jobctl: Any, dj_fixture_sqlite: str, isolated_env: Path,
                                           command: str, mode: str) -> None:
    before = file_digest(sqlite_path(dj_fixture_sqlite))
    glob, env = _mode_env(mode, dj_fixture_sqlite, isolated_env)
    r = jobctl(*glob, *MUTATING_ARGS[command], env=env)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "read-only" in r.stderr
    assert file_digest(sqlite_path(dj_fixture_sqlite)) == before


def _read_args(tmp: Path, kind: str) -> dict[str, list[str]]:
    cap = tmp / "monitor.log"
    cap.write_bytes(b'1795808598.552929 [0 127.0.0.1:35672] "rpush" "resque:queue:low" "{\\"class\\":\\"A\\",\\"args\\":[]}"\n')
    queue = "low"
    return {
        "targets": ["targets"], "ping": ["ping"], "queues": ["queues"], "peek": ["peek", queue],
        "failed": ["failed"], "show": ["show", f"{queue}@0" if kind == "resque" else "1"], "workers": ["workers"],
        "stats": ["stats"], "scheduled": ["scheduled"], "status": ["status"],
        "tail": ["tail", "--duration", "2s"] if kind == "dj" else ["tail", "--duration", "2s", "--interval", "0.5s"],
        "alert": ["alert", "--no-state"], "metrics": ["metrics"],
        "demo": ["demo", "--path", str(tmp / "demo.sqlite3"), "--no-peek"],
        "requeue": ["requeue", "--all", "--dry-run"], "discard": ["discard", "--all", "--dry-run"],
        "unlock": ["unlock", "--stuck", "--dry-run"],
    }


def test_every_non_mutating_command_has_a_no_write_case(tmp_path: Path) -> None:
    assert set(_read_args(tmp_path, "resque")) >= (READS | LOCAL_WRITES) - {"top"}  # top: Pilot tests below


@pytest.mark.parametrize("command", sorted((READS | LOCAL_WRITES | MUTATING) - {"top"}))
def test_resque_non_mutating_paths_never_write(jobctl: Any, redis_client: Any, redis_url: str, isolated_env: Path,
                                               command: str) -> None:
    """Writable target (the stronger case): reads and --dry-run previews still write nothing."""
    load_dump(redis_client)
    before = keyspace(redis_client)
    redis_client.config_resetstat()
    r = jobctl("-u", redis_url, *_read_args(isolated_env, "resque")[command])
    assert r.returncode in (0, 1, 2, 3), r.stderr
    assert "Traceback" not in r.stderr
    assert keyspace(redis_client) == before, command
    used = set(commandstats(redis_client))
    assert not used & WRITE_COMMANDS, (command, sorted(used & WRITE_COMMANDS))


@pytest.mark.parametrize("command", sorted((READS | LOCAL_WRITES | MUTATING) - {"top"}))
def test_delayed_job_non_mutating_paths_never_write(jobctl: Any, dj_fixture_sqlite: str, isolated_env: Path,
                                                    command: str) -> None:
    before = file_digest(sqlite_path(dj_fixture_sqlite))
    r = jobctl("-u", dj_fixture_sqlite, *_read_args(isolated_env, "dj")[command])
    assert r.returncode in (0, 1, 2, 3), r.stderr
    assert "Traceback" not in r.stderr
    assert file_digest(sqlite_path(dj_fixture_sqlite)) == before, command


# ----------------------------------------------------------------------------- TUI


def _first_key(keys: str) -> str:
    return keys.split(",")[0].strip()


def test_tui_mutating_keys_are_refused_everywhere(redis_client: Any, redis_url: str) -> None:
    """Read-only target: every binding of a mutating action, in every screen that has one, is refused
    before a confirmation opens (so `confirm` is unreachable), and nothing is written."""
    from test_tui_support import loaded_resque, notifications

    from jobctl.tui.keymap import (
        DASHBOARD_KEYS,
        DETAIL_KEYS,
        FAILURE_LIST_KEYS,
        MUTATING_ACTIONS,
        action_name,
    )

    app = top_app(loaded_resque(redis_client, redis_url, read_only=True))
    before = keyspace(redis_client)
    redis_client.config_resetstat()
    refused: list[str] = []

    async def press_all(pilot: Any, keys: list[Any], where: str) -> None:
        for b in keys:
            if action_name(b.action) not in MUTATING_ACTIONS:
                continue
            n = len(notifications(app))
            await pilot.press(_first_key(b.key))
            await wait_for(pilot, lambda n=n: len(notifications(app)) > n, what=f"refusal of {b.action} on {where}")
            assert "read-only" in notifications(app)[-1], (where, notifications(app)[-1])
            assert screen_name(app) != "ConfirmScreen"
            refused.append(f"{where}:{b.action}")

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await pilot.press("3", "space")  # failures panel, tag the first group
        await press_all(pilot, DASHBOARD_KEYS, "dashboard")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "FailureListScreen", what="failure list")
        await pilot.press("space")
        await press_all(pilot, FAILURE_LIST_KEYS, "failure list")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "DetailScreen", what="detail")
        await press_all(pilot, DETAIL_KEYS, "detail")

    run(app, scenario)
    assert len(refused) == 6, refused
    assert keyspace(redis_client) == before
    assert not set(commandstats(redis_client)) & WRITE_COMMANDS


def test_tui_read_keys_never_write(redis_client: Any, redis_url: str) -> None:
    """Writable target: every non-mutating key of every scope (and cancelling a confirmation) writes nothing."""
    from test_tui_support import loaded_resque

    from jobctl.tui.keymap import READ_ACTIONS, SCOPES, action_name

    app = top_app(loaded_resque(redis_client, redis_url))
    before = keyspace(redis_client)
    redis_client.config_resetstat()
    pressed: set[str] = set()

    async def press_reads(pilot: Any, scope: str) -> None:
        for b in SCOPES[scope]:
            name = action_name(b.action)
            if name not in READ_ACTIONS or name in ("quit", "back", "cancel", "open"):
                continue
            await pilot.press(_first_key(b.key))
            await pilot.pause()
            if screen_name(app) in ("HelpScreen", "CommandPalette") or app.screen.focused is not None and \
                    type(app.screen.focused).__name__ == "Input":
                await pilot.press("escape")
                await pilot.pause()
            pressed.add(name)

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await press_reads(pilot, "Everywhere")
        await pilot.press("p")  # unpause if toggled
        await press_reads(pilot, "Dashboard (queues / workers / failures)")
        await pilot.press("escape")
        app.open_queue("low")
        await wait_for(pilot, lambda: screen_name(app) == "QueueJobsScreen", what="jobs")
        await press_reads(pilot, "Jobs of one queue")
        from jobctl.tui.widgets.job_list import JobList

        jobs = app.screen.query_one(JobList)
        jobs.focus()
        await pilot.press("g")
        await wait_for(pilot, lambda: jobs.job_at(0) is not None, what="first job")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "DetailScreen", what="job detail")
        await press_reads(pilot, "Job / failure detail")
        await pilot.press("escape", "escape", "3", "space", "r")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen", what="confirmation")
        await pilot.press("n")  # cancel: nothing may be written
        await wait_for(pilot, lambda: screen_name(app) == "MainScreen", what="back from confirm")
        await pilot.press("q")

    run(app, scenario)
    assert {"help", "panel", "filter", "sort", "tag", "show_tab", "cursor"} <= pressed, pressed
    assert keyspace(redis_client) == before
    assert not set(commandstats(redis_client)) & WRITE_COMMANDS
