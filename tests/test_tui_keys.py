"""Keys of `jobctl top`: the user keymap remaps bindings by id everywhere (footer, help, action),
the help screen lists every key, NO_COLOR, and the CLI entry point's guards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_tui_support import first_tick, loaded_resque, notifications, run, screen_name, top_app, widget_text


def test_user_keymap_remaps_requeue_everywhere(redis_client: Any, redis_url: str) -> None:
    app = top_app(loaded_resque(redis_client, redis_url), keymap={"requeue": "R", "filter": "f"},
                  keymap_warnings=["[keymap] unknown binding id 'nope' ignored"])

    async def scenario(pilot: Any) -> None:
        from textual.widgets import Footer

        await first_tick(pilot, app)
        assert any("unknown binding id 'nope'" in m for m in notifications(app))
        await pilot.press("3", "space", "r")  # r is no longer requeue
        assert screen_name(app) == "MainScreen"
        await pilot.press("R")
        assert screen_name(app) == "ConfirmScreen"
        await pilot.press("n", "U")
        await pilot.press("1", "f", *"^low$", "enter")  # f opens the filter now
        await pilot.press("1")
        footer = {fk.description: fk.key for fk in app.screen.query_one(Footer).query("FooterKey")}
        assert footer["Requeue"] == "R" and footer["Filter"] == "f"
        await pilot.press("question_mark")
        assert screen_name(app) == "HelpScreen"
        helptext = widget_text(app.screen.query_one("#help-keys"))
        lines = [line for line in helptext.splitlines() if "requeue" in line]
        assert lines and all(line.split()[0] == "R" for line in lines)
        assert any(line.split()[0] == "f" for line in helptext.splitlines() if line.rstrip().endswith("filter"))

    run(app, scenario, size=(160, 120))


def test_help_lists_every_binding_id_with_its_key(redis_client: Any, redis_url: str) -> None:
    from jobctl.tui.keymap import binding_ids

    app = top_app(loaded_resque(redis_client, redis_url), config_path="/etc/x/config.toml")

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        await pilot.press("f1")
        text = widget_text(app.screen.query_one("#help-keys"))
        for bid in binding_ids():
            assert bid in text, bid
        assert "[keymap] in /etc/x/config.toml" in text
        for key in ("? / f1", "ctrl+p", "space", "+", "-", "/"):
            assert key in text
        await pilot.press("escape")
        assert screen_name(app) == "MainScreen"

    run(app, scenario, size=(160, 120))


def test_no_color_renders_monochrome(redis_client: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = top_app(loaded_resque(redis_client, redis_url))
    assert app.no_color

    async def scenario(pilot: Any) -> None:
        await first_tick(pilot, app)
        svg = app.export_screenshot()
        chrome = {"ff5f57", "febc2e", "28c840", "c5c8c6"}  # the SVG's window buttons and title, not the app
        fills = {part.split('"')[0] for part in svg.split('fill="#')[1:]} - chrome
        grey = {f for f in fills if len(f) == 6 and f[0:2] == f[2:4] == f[4:6]}
        assert fills and fills == grey, sorted(fills - grey)[:5]

    run(app, scenario)


def test_top_needs_a_terminal(jobctl: Any, redis_url: str, isolated_env: Path) -> None:
    r = jobctl("-u", redis_url, "top")
    assert r.returncode == 2
    assert "needs a terminal" in r.stderr


def test_top_help_has_examples_and_options(jobctl: Any, isolated_env: Path) -> None:
    r = jobctl("top", "--help")
    assert r.returncode == 0
    assert "--interval" in r.stdout and "$ jobctl" in r.stdout and "keymap" in r.stdout
