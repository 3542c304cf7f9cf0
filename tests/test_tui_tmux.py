"""`jobctl top` in a real terminal: tmux runs the real command against a real Redis, the test reads
the screen with capture-pane and types with send-keys (a private tmux server socket, killed after)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from resque_data import load_dump

QUEUES = ("critical", "high", "low", "mailers", "reports", "toxic")


class Tmux:
    def __init__(self, env: dict[str, str]) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed; the real-terminal test needs it")
        self.socket = f"jobctl-test-{uuid.uuid4().hex[:8]}"
        self.env = env

    def __call__(self, *args: str) -> str:
        r = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=self.env,
                           timeout=30)
        return r.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "top")

    def wait_screen(self, predicate: Any, timeout: float = 40.0, what: str = "screen") -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; screen was:\n{text}")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env, timeout=30)


def test_top_in_tmux_shows_queues_takes_keys_and_quits_cleanly(redis_client: Any, redis_url: str,
                                                                 isolated_env: Path, tmp_path: Path) -> None:
    load_dump(redis_client)
    config = isolated_env / "config" / "jobctl" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[keymap]\npause = "z"\n', encoding="utf-8")  # the user keymap is honoured
    exit_file = tmp_path / "exit-code"
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "", "LINES": ""}
    env = {k: v for k, v in env.items() if v}
    # Textual draws on stderr, so nothing is redirected; the pane stays open briefly after exit
    # so the test can read what was left on the normal screen.
    command = f"{sys.executable} -m jobctl -u {redis_url} top --interval 1; echo $? > {exit_file}; sleep 5"
    tmux = Tmux(env)
    try:
        tmux("new-session", "-d", "-s", "top", "-x", "150", "-y", "45", "sh", "-c", command)
        screen = tmux.wait_screen(lambda s: all(q in s for q in QUEUES) and "ToxicPayloadJob" in s,
                                  what="queue names and failure groups")
        assert "jobctl top" in screen and "failures 31" in screen
        assert "\x1b" not in screen
        tmux("send-keys", "-t", "top", "z")
        tmux.wait_screen(lambda s: "PAUSED" in s, what="the remapped pause key")
        tmux("send-keys", "-t", "top", "3")
        tmux("send-keys", "-t", "top", "Enter")
        tmux.wait_screen(lambda s: "failures ›" in s and "boom: poisoned payload" in s, what="a failure group")
        tmux("send-keys", "-t", "top", "Escape")
        tmux.wait_screen(lambda s: "Queues" in s and "Workers" in s, what="back on the dashboard")
        tmux("send-keys", "-t", "top", "q")
        deadline = time.monotonic() + 20
        while not exit_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert exit_file.exists(), f"jobctl top did not exit on q; screen:\n{tmux.screen()}"
        assert exit_file.read_text().strip() == "0"
        after = tmux.screen()
        assert "Traceback" not in after and "Error" not in after
        assert "Queues" not in after  # the alternate screen was left: the terminal is restored
    finally:
        tmux.kill()
