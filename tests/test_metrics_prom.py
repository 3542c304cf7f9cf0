"""Prometheus textfile output: exposition format checked with prometheus_client's own parser,
label escaping of untrusted queue names, atomic writes, and `jobctl metrics` on both backends."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from resque_data import load_dump

from jobctl.alert.promfile import MetricFamily, render, write_atomic


def parse(text: str) -> dict[str, list[Any]]:
    """family name -> samples (prometheus_client strips `_total` from counter family names)."""
    out: dict[str, list[Any]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            assert s.timestamp is None  # node_exporter rejects client-side timestamps
            out.setdefault(s.name, []).append(s)
    return out


def value(samples: dict[str, list[Any]], name: str, **labels: str) -> float:
    hits = [s.value for s in samples[name] if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(hits) == 1, (name, labels, samples.get(name))
    return float(hits[0])


# ----------------------------------------------------------------------------- the format


def test_render_escapes_labels_and_help() -> None:
    fam = MetricFamily("jobctl_queue_size", "gauge", 'Help with \\ and\nnewline "quoted"')
    nasty = 'q"uote\\back\nnew line ünï 🚀 {x="y"}'
    fam.add(3, queue=nasty, backend="resque")
    fam.add(None, queue="skipped")  # unknown values are omitted, never guessed
    text = render([fam, MetricFamily("jobctl_empty", "gauge", "no samples")])
    assert text.endswith("\n") and "jobctl_empty" not in text and "skipped" not in text
    got = parse(text)
    assert value(got, "jobctl_queue_size", queue=nasty) == 3


def test_render_rejects_bad_names_and_duplicates() -> None:
    with pytest.raises(ValueError):
        render([MetricFamily("bad-name", "gauge", "x", [({}, 1.0)])])
    with pytest.raises(ValueError):
        render([MetricFamily("ok", "gauge", "x", [({"bad-label": "v"}, 1.0)])])
    with pytest.raises(ValueError):
        render([MetricFamily("ok", "gauge", "x", [({}, 1.0)]), MetricFamily("ok", "gauge", "x", [({}, 2.0)])])


def test_values_format() -> None:
    fam = MetricFamily("m", "gauge", "x")
    fam.add(1e20, k="big")
    fam.add(0.125, k="frac")
    fam.add(float("inf"), k="inf")
    fam.add(float("nan"), k="nan")
    got = parse(render([fam]))
    assert value(got, "m", k="big") == 1e20 and value(got, "m", k="frac") == 0.125
    assert value(got, "m", k="inf") == float("inf")
    assert value(got, "m", k="nan") != value(got, "m", k="nan")


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
def test_prop_any_label_value_round_trips(label: str) -> None:
    fam = MetricFamily("jobctl_queue_size", "gauge", "x")
    fam.add(7, queue=label)
    assert value(parse(render([fam])), "jobctl_queue_size", queue=label) == 7


def test_write_atomic(tmp_path: Path) -> None:
    path = tmp_path / "jobctl.prom"
    path.write_text("old\n")
    write_atomic(path, "jobctl_x 1\n")
    assert path.read_text() == "jobctl_x 1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobctl.prom"]
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing-dir" / "x.prom", "x 1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobctl.prom"]


# ----------------------------------------------------------------------------- jobctl metrics


def test_metrics_resque_stdout(isolated_env: Path, redis_url: str, redis_client: Any, jobctl: Any) -> None:
    load_dump(redis_client)
    hostile = 'evil"queue\\with\nnewline'
    redis_client.sadd("resque:queues", hostile)
    redis_client.rpush(f"resque:queue:{hostile}", json.dumps({"class": "X", "args": []}))
    r = jobctl("-u", redis_url, "metrics")
    assert r.returncode == 0, r.stderr
    got = parse(r.stdout)
    assert value(got, "jobctl_queue_size", queue="low") == 10
    assert value(got, "jobctl_queue_size", queue="toxic") == 4
    assert value(got, "jobctl_queue_size", queue=hostile) == 1
    assert all(s.labels["backend"] == "resque" and s.labels["instance"] == redis_url
               for s in got["jobctl_queue_size"])
    assert sum(s.value for s in got["jobctl_failed_jobs"]) == 31
    assert value(got, "jobctl_failed_jobs", queue="toxic", **{"class": "ToxicPayloadJob"}) >= 1
    assert value(got, "jobctl_queue_failed_jobs", queue="toxic") == 11
    assert sum(s.value for s in got["jobctl_queue_failed_jobs"]) == 31
    assert value(got, "jobctl_processed_jobs_total") == 70
    assert value(got, "jobctl_failed_jobs_total") == 30
    assert value(got, "jobctl_failed_jobs_stored") == 31
    assert {s.labels["state"] for s in got["jobctl_workers"]} == {"busy", "idle", "stale"}
    assert sum(s.value for s in got["jobctl_workers"]) == 3
    assert value(got, "jobctl_failed_jobs_scan_capped") == 0
    assert value(got, "jobctl_oldest_failure_age_seconds") > 0
    assert value(got, "jobctl_last_run_success", command="metrics") == 1
    ts = value(got, "jobctl_last_run_timestamp_seconds", command="metrics")
    assert abs(ts - datetime.now(UTC).timestamp()) < 120


def test_metrics_top_classes_fold_into_other(isolated_env: Path, redis_url: str, redis_client: Any, jobctl: Any) -> None:
    load_dump(redis_client)
    got = parse(jobctl("-u", redis_url, "metrics", "--top-classes", "2").stdout)
    classes = {s.labels["class"] for s in got["jobctl_failed_jobs"]}
    assert "other" in classes and len(classes - {"other"}) == 2
    assert sum(s.value for s in got["jobctl_failed_jobs"]) == 31
    capped = parse(jobctl("-u", redis_url, "metrics", "--failed-scan-limit", "5").stdout)
    assert value(capped, "jobctl_failed_jobs_scan_capped") == 1
    assert sum(s.value for s in capped["jobctl_failed_jobs"]) == 5
    assert sum(s.value for s in capped["jobctl_queue_failed_jobs"]) == 31  # exact per queue regardless


def test_metrics_dj_prom_file(isolated_env: Path, dj_fixture_sqlite: str, jobctl: Any) -> None:
    out = isolated_env / "textfile" / "jobctl.prom"
    out.parent.mkdir()
    r = jobctl("-u", dj_fixture_sqlite, "metrics", "--prom-file", str(out))
    assert r.returncode == 0 and r.stdout == "", r.stderr
    got = parse(out.read_text())
    assert sum(s.value for s in got["jobctl_failed_jobs"]) == 18
    assert value(got, "jobctl_queue_failed_jobs", queue="toxic") == 8
    assert value(got, "jobctl_failed_jobs", queue="(none)", **{"class": "User#send_heavy_report"}) == 2
    assert value(got, "jobctl_queue_jobs", queue="reports", state="running") + \
        value(got, "jobctl_queue_jobs", queue="reports", state="stuck") == 1
    assert value(got, "jobctl_retrying_jobs") == 2
    assert "jobctl_processed_jobs_total" not in got  # Delayed Job keeps no counter: omitted, not 0
    assert value(got, "jobctl_last_run_success", command="metrics") == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["jobctl.prom"]


def test_metrics_unreachable_still_writes_last_run(isolated_env: Path, jobctl: Any) -> None:
    from servers import free_port

    out = isolated_env / "jobctl.prom"
    r = jobctl("-u", f"redis://127.0.0.1:{free_port()}/0", "metrics", "--prom-file", str(out))
    assert r.returncode == 3, r.stderr
    got = parse(out.read_text())
    assert value(got, "jobctl_last_run_success", command="metrics") == 0
    assert "jobctl_queue_size" not in got


def test_alert_prom_file(isolated_env: Path, redis_url: str, redis_client: Any, jobctl: Any) -> None:
    load_dump(redis_client)
    out = isolated_env / "alert.prom"
    r = jobctl("-u", redis_url, "alert", "--queue", "toxic", "-c", "5", "--no-state", "--prom-file", str(out),
               env={"JOBCTL_NOW": "2026-11-27T20:00:00Z"})
    assert r.returncode == 2
    got = parse(out.read_text())
    assert value(got, "jobctl_alert_state", rule="toxic", metric="failed") == 2
    assert value(got, "jobctl_alert_value", rule="toxic") == 11
    assert value(got, "jobctl_last_run_success", command="alert") == 1
    assert os.stat(out).st_size > 0
