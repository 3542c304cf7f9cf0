"""`jobctl alert` on both backends with the shared fixtures: every metric, every threshold form,
exit codes and first lines, unreachable / hung targets, bad rule files, and no writes.

Threshold forms run in-process through `jobctl.alert.runner` (same code path the CLI calls; exit
code = the plugin state); the contract itself (exit codes, stdout) is checked with the real CLI.
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dj_data import file_digest, load_fixture, shift_locks, sqlite_path, table_checksum
from resque_data import fixture_workers, load_dump, set_worker_clock, shift_worker_times

from jobctl.alert.report import first_line, plugin_text
from jobctl.alert.rules import RuleSet, quick_rule
from jobctl.alert.runner import RunOptions, run
from jobctl.alert.thresholds import parse_range
from jobctl.targets import Target

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)  # the fixtures were written at 19:51-19:53 that day
ENV = {"JOBCTL_NOW": NOW.isoformat()}

# what the fixtures hold (README / summary files)
EXPECT = {
    # resque: 31 stored, 1 retried, +1 RecordNotFound entry the fixture below appends
    "resque": {"toxic": 11, "checksum": 3, "size_low": 10, "in_15m": 31, "rate": "2.07", "rate_perf": "2.067",
               "rnf": 1},
    "dj": {"toxic": 8, "checksum": 3, "size_low": 3, "in_15m": 18, "rate": "1.2", "rate_perf": "1.2", "rnf": 3},
}

RNF_ENTRY = {
    "failed_at": "2026/11/27 19:59:00 UTC", "payload": {"class": "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper",
                                                        "args": [{"job_class": "WelcomeJob", "arguments": [7]}]},
    "exception": "ActiveRecord::RecordNotFound", "error": "Couldn't find User with 'id'=7",
    "backtrace": [], "worker": "vm:1:low", "queue": "low",
}


@pytest.fixture
def resque_url(redis_url: str, redis_client: Any) -> str:
    load_dump(redis_client)
    redis_client.rpush("resque:failed", json.dumps(RNF_ENTRY))
    server_now = datetime.fromtimestamp(redis_client.time()[0], UTC)
    set_worker_clock(redis_client, server_now, dead=[fixture_workers()["dead"]])
    shift_worker_times(redis_client, server_now - NOW)  # "stuck" is judged by the server's clock
    return redis_url


@pytest.fixture(params=["resque", "dj"])
def store(request: pytest.FixtureRequest) -> tuple[str, str]:
    if request.param == "resque":
        return "resque", request.getfixturevalue("resque_url")
    url = request.getfixturevalue("dj_fixture_sqlite")
    shift_locks(url, datetime.now(UTC) - NOW)  # stuck / stale locks are judged by the real clock
    return "dj", url


def check(url: str, **options: Any) -> tuple[int, str, Any]:
    """Run one quick-form rule in-process; returns (exit code, first line, report)."""
    rule = quick_rule(options, channels={})
    report = run(RuleSet(rules=[rule]), [Target(url=url, read_only=True)], RunOptions(now=NOW, timeout=20))
    return int(report.state), first_line(report.results, report.state), report


# ----------------------------------------------------------------------------- the required demo


def test_must_show_resque_toxic(isolated_env: Path, redis_url: str, redis_client: Any, jobctl: Any) -> None:
    load_dump(redis_client)
    r = jobctl("-u", redis_url, "alert", "--queue", "toxic", "-c", "1", "--no-state", env=ENV)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout.splitlines()[0] == "JOBCTL CRITICAL - toxic: 11 failed (crit >1) | failed=11;;1;0;"
    assert "boom: poisoned payload #900 (dead-worker-run)" in r.stdout  # newest failure first
    redis_client.delete("resque:failed")  # an empty toxic queue (no failures)
    r = jobctl("-u", redis_url, "alert", "--queue", "toxic", "-c", "1", "--no-state", env=ENV)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "JOBCTL OK - toxic: 0 failed | failed=0;;1;0;\n"


def test_must_show_dj_toxic(isolated_env: Path, dj_fixture_sqlite: str, jobctl: Any) -> None:
    r = jobctl("-u", dj_fixture_sqlite, "alert", "--queue", "toxic", "-c", "1", "--no-state", env=ENV)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout.splitlines()[0] == "JOBCTL CRITICAL - toxic: 8 failed (crit >1) | failed=8;;1;0;"
    import sqlite3

    con = sqlite3.connect(sqlite_path(dj_fixture_sqlite))
    con.execute("DELETE FROM delayed_jobs WHERE queue = 'toxic'")
    con.commit()
    con.close()
    r = jobctl("-u", dj_fixture_sqlite, "alert", "--queue", "toxic", "-c", "1", "--no-state", env=ENV)
    assert r.returncode == 0 and r.stdout == "JOBCTL OK - toxic: 0 failed | failed=0;;1;0;\n"


@pytest.mark.parametrize("db", ["pg", "mysql"])
def test_dj_server_databases(db: str, request: pytest.FixtureRequest, isolated_env: Path, jobctl: Any) -> None:
    url = request.getfixturevalue(f"{db}_url")
    load_fixture(url)
    r = jobctl("-u", url, "alert", "--queue", "toxic", "--window", "15m", "-w", "1", "-c", "5", "--no-state",
               env=ENV)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout.splitlines()[0] == "JOBCTL CRITICAL - toxic: 8 failed in 15m (crit >5) | failed=8;1;5;0;"


# ----------------------------------------------------------------------------- threshold forms


@pytest.mark.parametrize(
    ("warning", "critical", "code", "suffix"),
    [
        ("1", "5", 2, "(crit >5)"),
        ("5", "100", 1, "(warn >5)"),
        (None, "100", 0, ""),
        (None, "100:", 2, "(crit <100)"),
        (None, "~:5", 2, "(crit >5)"),
        (None, "1:5", 2, "(crit outside 1..5)"),
        (None, "@5:20", 2, "(crit inside 5..20)"),
        ("@0:3", "@50:60", 0, ""),
        ("@5:20", None, 1, "(warn inside 5..20)"),
    ],
)
def test_threshold_forms(store: tuple[str, str], warning: str | None, critical: str | None, code: int,
                         suffix: str) -> None:
    kind, url = store
    n = EXPECT[kind]["toxic"]
    opts = {"queue": ["toxic"], **({"warning": warning} if warning else {}), **({"critical": critical} if critical else {})}
    got_code, line, _ = check(url, **opts)
    state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code]
    body = f"toxic: {n} failed" + (f" {suffix}" if suffix else "")
    # perfdata carries the canonical range text ("@0:3" is written "@3")
    warn, crit = (parse_range(t).text if t else "" for t in (warning, critical))
    assert (got_code, line) == (code, f"JOBCTL {state} - {body} | failed={n};{warn};{crit};0;")


# ----------------------------------------------------------------------------- every metric


def test_failed_window_and_selectors(store: tuple[str, str]) -> None:
    kind, url = store
    e = EXPECT[kind]
    assert check(url, queue=["toxic"], window="15m", critical="5")[:2] == (
        2, f"JOBCTL CRITICAL - toxic: {e['toxic']} failed in 15m (crit >5) | failed={e['toxic']};;5;0;")
    assert check(url, queue=["toxic"], window="5m", critical="0")[:2] == (
        0, "JOBCTL OK - toxic: 0 failed in 5m | failed=0;;0;0;")
    code, line, _ = check(url, queue=["toxic"], error="bad checksum", critical="2")
    assert (code, line) == (2, f"JOBCTL CRITICAL - toxic: {e['checksum']} failed [error=/bad checksum/] (crit >2) "
                               f"| failed={e['checksum']};;2;0;")
    code, line, _ = check(url, window="15m", warning="10", critical="100")
    assert (code, line) == (1, f"JOBCTL WARNING - all queues: {e['in_15m']} failed in 15m (warn >10) "
                               f"| failed={e['in_15m']};10;100;0;")


def test_failed_by_exception_on_resque(resque_url: str) -> None:
    code, line, report = check(resque_url, queue=["toxic"], exception=["ArgumentError"], critical="2")
    assert (code, line) == (2, "JOBCTL CRITICAL - toxic: 3 failed [exception=ArgumentError] (crit >2) | failed=3;;2;0;")
    assert all(f.exception == "ArgumentError" for f in report.results[0].samples)


def test_size(store: tuple[str, str]) -> None:
    kind, url = store
    n = EXPECT[kind]["size_low"]
    assert check(url, metric="size", queue=["low"], warning="2", critical="20")[:2] == (
        1, f"JOBCTL WARNING - low: {n} waiting (warn >2) | size={n};2;20;0;")
    assert check(url, metric="size", queue=["no-such-queue"])[:2] == (
        0, "JOBCTL OK - no-such-queue: 0 waiting | size=0;1000;10000;0;")


def test_latency(store: tuple[str, str], redis_client: Any) -> None:
    kind, url = store
    if kind == "resque":
        # plain Resque payloads carry no enqueue time: UNKNOWN, never guessed
        code, line, _ = check(url, metric="latency", queue=["low"])
        assert code == 3 and line.startswith("JOBCTL UNKNOWN - low: latency unknown")
        assert line.endswith("| latency=U;300;3600;0;")
        enq = datetime.fromtimestamp(redis_client.time()[0] - 7200, UTC).isoformat()
        job = {"class": "ActiveJob::QueueAdapters::ResqueAdapter::JobWrapper",
               "args": [{"job_class": "ReportJob", "job_id": "j1", "queue_name": "aj", "arguments": [],
                         "executions": 0, "enqueued_at": enq}]}
        redis_client.sadd("resque:queues", "aj")
        redis_client.rpush("resque:queue:aj", json.dumps(job))
        code, line, _ = check(url, metric="latency", queue=["aj"], warning="5m", critical="1h")
        assert code == 2 and line.startswith("JOBCTL CRITICAL - aj: oldest job waiting 2h0")
        assert "(crit >1h) | latency=720" in line and line.endswith("s;300;3600;0;")
    else:
        code, line, _ = check(url, metric="latency", queue=["toxic"], warning="1s", critical="3650d")
        assert code == 1 and line.startswith("JOBCTL WARNING - toxic: oldest job waiting ")
        assert "(warn >1s) | latency=" in line and line.endswith("s;1;315360000;0;")


def test_failure_rate(store: tuple[str, str]) -> None:
    kind, url = store
    e = EXPECT[kind]
    assert check(url, metric="failure-rate", window="15m", warning="1", critical="5")[:2] == (
        1, f"JOBCTL WARNING - all queues: {e['rate']} failures/min over 15m ({e['in_15m']} failed) (warn >1) "
           f"| failure_rate={e['rate_perf']};1;5;0;")


def test_stuck(store: tuple[str, str], tmp_path: Path, isolated_env: Path, jobctl: Any) -> None:
    kind, url = store
    if kind == "resque":
        # the SIGKILLed worker still holds HangingExport; the busy one runs < 4h
        code, line, report = check(url, metric="stuck")
        assert (code, line) == (2, "JOBCTL CRITICAL - all queues: 1 stuck job (crit >0) | stuck=1;;0;0;")
        assert "HangingExport" in report.results[0].details[0]
        assert check(url, metric="stuck", max_run_time="1m")[0:2] == (
            2, "JOBCTL CRITICAL - all queues: 2 stuck jobs (crit >0) | stuck=2;;0;0;")
    else:
        assert check(url, metric="stuck")[:2] == (0, "JOBCTL OK - all queues: 0 stuck jobs | stuck=0;;0;0;")
        # max_run_time is a Delayed Job target option: the SIGKILLed worker's lock is then stale
        cfg = isolated_env / "config" / "jobctl"
        cfg.mkdir(parents=True)
        (cfg / "config.toml").write_text(f'[targets.dj]\nurl = "{url}"\nmax_run_time = "1m"\n')
        r = jobctl("-t", "dj", "alert", "--metric", "stuck", "--no-state", env=ENV)
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stdout.splitlines()[0] == "JOBCTL CRITICAL - all queues: 1 stuck job (crit >0) | stuck=1;;0;0;"
        # the same through the check's own --max-run-time, and through the global option
        for args in (("-u", url, "alert", "--metric", "stuck", "--max-run-time", "1m"),
                     ("--max-run-time", "1m", "-u", url, "alert", "--metric", "stuck")):
            r = jobctl(*args, "--no-state", env=ENV)
            assert r.returncode == 2 and r.stdout.startswith("JOBCTL CRITICAL - all queues: 1 stuck job"), r.stdout


def test_stale_workers(store: tuple[str, str]) -> None:
    kind, url = store
    code, line, report = check(url, metric="stale-workers")
    if kind == "resque":
        assert (code, line) == (1, "JOBCTL WARNING - workers: 1 stale worker (warn >0) | stale_workers=1;0;;0;")
        assert fixture_workers()["dead"] in report.results[0].details[0]
    else:
        assert (code, line) == (0, "JOBCTL OK - workers: 0 stale workers | stale_workers=0;0;;0;")


def test_record_not_found(store: tuple[str, str]) -> None:
    kind, url = store
    n = EXPECT[kind]["rnf"]
    code, line, report = check(url, metric="record-not-found")
    assert (code, line) == (1, f"JOBCTL WARNING - all queues: {n} RecordNotFound failures (warn >0) "
                               f"| record_not_found={n};0;;0;")
    text = plugin_text(report)
    assert "enqueued inside a database transaction" in text and "enqueue_after_transaction_commit" in text
    assert all("find" in (f.error or "") or "RecordNotFound" in (f.error or "") for f in report.results[0].samples)
    assert check(url, metric="record-not-found", queue=["toxic"])[0] == 0


# ----------------------------------------------------------------------------- the CLI contract


def test_cli_json_and_rules_file(store: tuple[str, str], isolated_env: Path, jobctl: Any) -> None:
    kind, url = store
    rules = isolated_env / "alerts.toml"
    rules.write_text(f"""
[defaults]
url = "{url}"

[rules.toxic]
queue = "toxic"
window = "15m"
critical = "5"

[rules.backlog]
metric = "size"
warning = "100000"

[rules.rnf]
metric = "record-not-found"
""")
    r = jobctl("alert", "--rules", str(rules), "--no-state", env=ENV)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    n, rnf = EXPECT[kind]["toxic"], EXPECT[kind]["rnf"]
    assert lines[0].startswith(f"JOBCTL CRITICAL - 2 of 3 rules not OK: toxic: {n} failed in 15m (crit >5); "
                               f"rnf: {rnf} RecordNotFound failures (warn >0) | toxic={n};;5;0; backlog=")
    assert lines[0].endswith(f" rnf={rnf};0;;0;")
    assert "[OK] backlog: " in r.stdout and "[CRITICAL] toxic: " in r.stdout
    r = jobctl("alert", "--rules", str(rules), "--no-state", "-o", "json", env=ENV)
    doc = json.loads(r.stdout)
    assert r.returncode == 2 and doc["state"] == "CRITICAL" and doc["exit_code"] == 2
    assert [x["rule"] for x in doc["rules"]] == ["toxic", "backlog", "rnf"]
    assert [x["state"] for x in doc["rules"]] == ["CRITICAL", "OK", "WARNING"]
    assert doc["rules"][0]["value"] == n and doc["rules"][0]["window_s"] == 900
    assert doc["rules"][0]["samples"][0]["queue"] == "toxic"
    assert doc["rules"][2]["hint"] and doc["notifier_errors"] == []


def test_bad_rule_file_and_options_are_unknown(isolated_env: Path, jobctl: Any) -> None:
    rules = isolated_env / "alerts.toml"
    rules.write_text('[rules.toxic]\nqueue = "toxic"\ncritical = "5x"\n')
    r = jobctl("-u", "redis://127.0.0.1:1/0", "alert", "--rules", str(rules))
    assert r.returncode == 3
    assert r.stdout.startswith("JOBCTL UNKNOWN - alerts.toml: rule 'toxic': field 'critical': invalid threshold range")
    r = jobctl("-u", "redis://127.0.0.1:1/0", "alert", "-c", "5x")
    assert r.returncode == 3 and r.stdout.startswith("JOBCTL UNKNOWN - option --critical: invalid threshold range")
    r = jobctl("-u", "redis://127.0.0.1:1/0", "alert", "--bogus")
    assert r.returncode == 3 and r.stdout.startswith("JOBCTL UNKNOWN - usage: No such option: --bogus")
    r = jobctl("-u", "redis://127.0.0.1:1/0", "alert", "--rules", str(rules), "-q", "x")
    assert r.returncode == 3 and "cannot be combined" in r.stdout
    r = jobctl("-u", "redis://127.0.0.1:1/0", "alert", env={"JOBCTL_NOW": "yesterday"})
    assert r.returncode == 3 and "JOBCTL_NOW" in r.stdout


def test_unreachable_states_and_masking(isolated_env: Path, jobctl: Any) -> None:
    from servers import free_port

    url = f"redis://:sekret-pw@127.0.0.1:{free_port()}/0"
    r = jobctl("-u", url, "alert", "--queue", "toxic", "--no-state")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout.startswith("JOBCTL CRITICAL - toxic: ") and "failed=U;;0;0;" in r.stdout
    assert "sekret-pw" not in r.stdout + r.stderr
    assert jobctl("-u", url, "alert", "--unreachable", "unknown", "--no-state").returncode == 3
    assert jobctl("-u", url, "alert", "--unreachable", "warning", "--no-state").returncode == 1
    pg = f"postgresql://root:pg-secret@127.0.0.1:{free_port()}/nope"
    r = jobctl("-u", pg, "alert", "--no-state")
    assert r.returncode == 2 and "pg-secret" not in r.stdout + r.stderr


def test_hung_server_never_hangs_cron(isolated_env: Path, silent_server: Any, jobctl: Any) -> None:
    t0 = time.monotonic()
    r = jobctl("-u", f"redis://127.0.0.1:{silent_server.port}/0", "alert", "--queue", "toxic", "--timeout", "2", "--no-state")
    took = time.monotonic() - t0
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout.startswith("JOBCTL CRITICAL - toxic: target redis://127.0.0.1:")
    assert "did not answer within 2s (--timeout)" in r.stdout
    assert took < 8, took
    r = jobctl("-u", f"postgresql://root@127.0.0.1:{silent_server.port}/x", "alert", "--timeout", "2",
               "--unreachable", "unknown", "--no-state")
    assert r.returncode == 3 and "did not answer within 2s" in r.stdout


def test_untrusted_text_is_escaped(isolated_env: Path, redis_url: str, redis_client: Any, jobctl: Any) -> None:
    evil = dict(RNF_ENTRY, queue="toxic", exception="RuntimeError",
                error="\x1b]0;owned\x07 \u202e reversed | pipe\nsecond line")
    redis_client.sadd("resque:queues", "toxic")
    redis_client.rpush("resque:failed", json.dumps(evil))
    r = jobctl("-u", redis_url, "alert", "--queue", "toxic", "--no-state", env=ENV)
    assert r.returncode == 2
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout and "\x07" not in r.stdout
    assert "\\x1b]0;owned\\x07" in r.stdout
    assert r.stdout.splitlines()[0] == "JOBCTL CRITICAL - toxic: 1 failed (crit >0) | failed=1;;0;0;"


# ----------------------------------------------------------------------------- never writes

WRITE_COMMANDS = {"SET", "DEL", "UNLINK", "LSET", "LREM", "RPUSH", "LPUSH", "LPOP", "RPOP", "HSET", "HDEL", "SADD",
                  "SREM", "INCR", "INCRBY", "EXPIRE", "RENAME", "EVAL", "EVALSHA", "FLUSHDB", "FLUSHALL", "LTRIM",
                  "ZADD", "ZREM", "SETEX", "PEXPIRE", "MULTI", "RPOPLPUSH", "LMOVE"}


def _keyspace(client: Any) -> dict[bytes, bytes]:
    return {k: client.dump(k) for k in client.scan_iter(count=1000)}


def test_alert_and_metrics_never_write_resque(isolated_env: Path, resque_url: str, redis_server: Any,
                                              redis_client: Any, jobctl: Any) -> None:
    rules = isolated_env / "all.toml"
    rules.write_text("".join(f'[rules.{m}]\nmetric = "{m}"\n' for m in
                             ("failed", "size", "latency", "failure-rate", "stuck", "stale-workers", "record-not-found")))
    before = _keyspace(redis_client)
    mon = redis_server.client()
    seen: list[str] = []
    ready = threading.Event()

    def watch() -> None:
        with mon.monitor() as m:
            ready.set()
            for cmd in m.listen():
                seen.append(cmd["command"])
                if "jobctl-monitor-stop" in cmd["command"]:
                    return

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    ready.wait(5)
    assert jobctl("-u", resque_url, "alert", "--rules", str(rules), env=ENV).returncode in (1, 2, 3)
    assert jobctl("-u", resque_url, "metrics").returncode == 0
    redis_client.echo("jobctl-monitor-stop")
    th.join(10)
    assert len(seen) > 10  # the monitor saw jobctl's reads
    writes = [c for c in seen if c.split(" ", 1)[0].upper() in WRITE_COMMANDS]
    assert writes == []
    assert _keyspace(redis_client) == before


def test_alert_and_metrics_never_write_dj(isolated_env: Path, dj_fixture_sqlite: str, pg_url: str, jobctl: Any) -> None:
    load_fixture(pg_url)
    rules = "".join(f'[rules.{m}]\nmetric = "{m}"\n' for m in
                    ("failed", "size", "latency", "failure-rate", "stuck", "stale-workers", "record-not-found"))
    (isolated_env / "all.toml").write_text(rules)
    digest, checksum = file_digest(sqlite_path(dj_fixture_sqlite)), table_checksum(pg_url)
    for url in (dj_fixture_sqlite, pg_url):
        assert jobctl("-u", url, "alert", "--rules", str(isolated_env / "all.toml"), env=ENV).returncode in (1, 2)
        assert jobctl("-u", url, "metrics").returncode == 0
    assert file_digest(sqlite_path(dj_fixture_sqlite)) == digest
    assert table_checksum(pg_url) == checksum
    assert os.path.exists(isolated_env / "state" / "jobctl" / "alert-state.json")  # state lives outside the store
    assert NOW - timedelta(days=1) < NOW  # pinned clock sanity
