"""The real `jobctl` process on Delayed Job targets: the shared read commands over our backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dj_data import file_digest, fixture_names, fixture_rows, load_fixture, sqlite_path
from test_dj_backend import user_url


def _json(proc: Any) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_failed_json_has_djs_own_names(dj_fixture_sqlite: str, jobctl: Any, isolated_env: Path) -> None:
    rows = _json(jobctl("-u", dj_fixture_sqlite, "failed", "-n", "0", "-o", "json"))
    names = fixture_names("sqlite")
    failed_ids = {str(r["id"]) for r in fixture_rows("sqlite") if r["failed_at"]}
    assert len(rows) == 18 and {r["id"] for r in rows} == failed_ids
    for r in rows:
        assert r["name"] == names[int(r["id"])]
    assert [r["id"] for r in rows if r["queue"] is None] == ["6", "3"]


def test_queues_show_stuck_and_retrying(dj_fixture_sqlite: str, jobctl: Any, isolated_env: Path) -> None:
    # the fixture's killed worker locked its job at export time; 1 s later that lock is stale
    before = file_digest(sqlite_path(dj_fixture_sqlite))
    queues = {q["name"]: q for q in _json(jobctl("-u", dj_fixture_sqlite, "--max-run-time", "1s",
                                                 "queues", "-o", "json"))}
    assert queues["reports"]["stuck"] == 1 and queues["reports"]["running"] == 0
    assert queues["imports"]["retrying"] == 1 and queues["webhooks"]["retrying"] == 1
    assert sum(q["failed"] for q in queues.values()) == 18
    assert "(none)" in queues
    # the same through a config target's max_run_time
    cfg = isolated_env / "config" / "jobctl"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text(f'[targets.fx]\nurl = "{dj_fixture_sqlite}"\nmax_run_time = "2s"\n')
    stats = _json(jobctl("-t", "fx", "stats", "-o", "json"))
    stats = stats[0] if isinstance(stats, list) else stats
    assert (stats["stuck"], stats["retrying"], stats["failed_stored"]) == (1, 2, 18)
    assert file_digest(sqlite_path(dj_fixture_sqlite)) == before


def test_peek_state_and_show(dj_fixture_sqlite: str, jobctl: Any, isolated_env: Path) -> None:
    retry = _json(jobctl("-u", dj_fixture_sqlite, "peek", "webhooks", "--state", "retrying", "-o", "json"))
    assert [(j["id"], j["name"], j["attempts"]) for j in retry] == [("36", "FlakyWebhookJob", 1)]
    shown = _json(jobctl("-u", dj_fixture_sqlite, "show", "35", "-o", "json"))
    shown = shown[0] if isinstance(shown, list) else shown
    assert shown["name"] == "Delayed::PerformableMethod"
    assert shown["exception"] == "Delayed::DeserializationError"
    assert shown["extra"]["handler"]["_class"] == "Delayed::PerformableMethod"


def test_trace_and_workers_on_postgres(pg_url: str, jobctl: Any, isolated_env: Path) -> None:
    load_fixture(pg_url)
    proc = jobctl("-u", user_url(pg_url), "--trace", "workers", "-o", "json")
    workers = _json(proc)
    assert [w["host"] for w in workers] == ["vm"] and workers[0]["queues"] == ["reports"]
    sql_lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("[sql ")]
    assert any("SET TRANSACTION READ ONLY" in ln for ln in sql_lines)
    assert any("locked_by" in ln for ln in sql_lines)


def test_unreachable_database_exit_3_password_masked(jobctl: Any, isolated_env: Path) -> None:
    proc = jobctl("-u", "postgresql://app:hunter2@127.0.0.1:1/app", "queues")
    assert proc.returncode == 3
    assert "hunter2" not in proc.stderr and "app:***@127.0.0.1:1" in proc.stderr
    proc = jobctl("-u", "mysql://app:hunter2@127.0.0.1:1/app", "failed")
    assert proc.returncode == 3 and "hunter2" not in proc.stderr


def test_every_read_command_leaves_mariadb_rows_unchanged(mysql_url: str, jobctl: Any, isolated_env: Path) -> None:
    from dj_data import table_checksum

    load_fixture(mysql_url)
    before = table_checksum(mysql_url)
    url = user_url(mysql_url)
    for args in (["ping"], ["queues"], ["peek", "toxic"], ["peek", "low", "--state", "failed"], ["failed"],
                 ["failed", "--group-by", "class"], ["show", "35"], ["workers"], ["stats"]):
        proc = jobctl("-u", url, "--max-run-time", "1s", *args)
        assert proc.returncode == 0, (args, proc.stderr)
    assert table_checksum(mysql_url) == before
