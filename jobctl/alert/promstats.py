"""Metric families for `jobctl metrics` (queue store) and `jobctl alert --prom-file` (rule states).

Names follow sidekiq-prometheus-exporter's shape so dashboards carry over: base units, `_total`
for counters. Every sample carries `backend` and `instance` (the target name or masked URL);
a `command` label on the run metrics keeps the alert and metrics files from colliding when both
are written into one textfile directory. The `class` label is bounded: the top N classes by count,
the rest summed as `other`.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from jobctl.alert.promfile import MetricFamily

if TYPE_CHECKING:
    from jobctl.alert.evaluate import RuleResult
    from jobctl.backends.base import Backend

NO_QUEUE = "(none)"  # Delayed Job rows with queue NULL
OTHER = "other"
WORKER_STATES = {"working": "busy", "idle": "idle", "stale": "stale"}


def backend_families(backend: Backend, *, instance: str, now: datetime, top_classes: int = 20,
                     scan_limit: int = 2_000) -> list[MetricFamily]:
    """Read-only snapshot of the queue store as metric families."""
    base = {"backend": backend.kind, "instance": instance}
    size = MetricFamily("jobctl_queue_size", "gauge", "Jobs waiting in the queue.")
    latency = MetricFamily("jobctl_queue_latency_seconds", "gauge",
                           "Age of the oldest waiting job (only where jobs carry an enqueue time).")
    by_state = MetricFamily("jobctl_queue_jobs", "gauge", "Jobs per queue and state (Delayed Job breakdown).")
    queue_failed = MetricFamily("jobctl_queue_failed_jobs", "gauge",
                                "Failed jobs stored per queue (exact unless the backend's count cap was hit).")
    for q in backend.queues():
        lbl = {**base, "queue": q.name}
        size.add(q.size, **lbl)
        latency.add(q.latency_s, **lbl)
        queue_failed.add(q.failed, **lbl)
        for state in ("ready", "scheduled", "running", "stuck", "retrying"):
            by_state.add(getattr(q, state), **lbl, state=state)

    failed = MetricFamily("jobctl_failed_jobs", "gauge",
                          "Newest stored failed jobs by queue and class (class: top N, rest 'other'; "
                          "the scan is capped, see jobctl_failed_jobs_scan_capped).")
    capped = MetricFamily("jobctl_failed_jobs_scan_capped", "gauge",
                          "1 when the failed-job scan stopped at its limit (jobctl_failed_jobs is a lower bound).")
    counts: Counter[tuple[str, str]] = Counter()
    seen = 0
    it = backend.failures(None, newest_first=True, scan_limit=scan_limit)
    try:
        for f in islice(it, scan_limit):
            counts[(f.queue or NO_QUEUE, f.job_class or "?")] += 1
            seen += 1
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    by_class: Counter[str] = Counter()
    for (_qname, cls), n in counts.items():
        by_class[cls] += n
    keep = {cls for cls, _n in by_class.most_common(top_classes)}
    folded: Counter[tuple[str, str]] = Counter()
    for (qname, cls), n in counts.items():
        folded[(qname, cls if cls in keep else OTHER)] += n
    for (qname, cls), n in sorted(folded.items()):
        failed.add(n, **base, queue=qname, **{"class": cls})
    capped.add(1 if seen >= scan_limit else 0, **base)

    oldest = MetricFamily("jobctl_oldest_failure_age_seconds", "gauge", "Age of the oldest stored failure.")
    it2 = backend.failures(None, newest_first=False, scan_limit=1000)
    try:
        first = next(iter(it2), None)
    finally:
        close = getattr(it2, "close", None)
        if close is not None:
            close()
    if first is not None and first.failed_at is not None:
        oldest.add(max(0.0, (now - first.failed_at).total_seconds()), **base)

    workers = MetricFamily("jobctl_workers", "gauge", "Workers by state (busy, idle, stale).")
    wcount: Counter[str] = Counter(WORKER_STATES.get(w.state, w.state) for w in backend.workers())
    for state in ("busy", "idle", "stale"):
        workers.add(wcount.pop(state, 0), **base, state=state)
    for state, n in sorted(wcount.items()):
        workers.add(n, **base, state=state)

    st = backend.stats()
    processed = MetricFamily("jobctl_processed_jobs_total", "counter", "Jobs processed (Resque stat:processed).")
    failed_total = MetricFamily("jobctl_failed_jobs_total", "counter", "Jobs failed (Resque stat:failed counter).")
    stored = MetricFamily("jobctl_failed_jobs_stored", "gauge", "Failed jobs stored (may differ from the counter).")
    pending = MetricFamily("jobctl_pending_jobs", "gauge", "Jobs waiting in all queues.")
    scheduled = MetricFamily("jobctl_scheduled_jobs", "gauge", "Jobs scheduled for the future.")
    retrying = MetricFamily("jobctl_retrying_jobs", "gauge", "Jobs waiting for a retry (Delayed Job).")
    stuck = MetricFamily("jobctl_stuck_jobs", "gauge", "Jobs locked longer than max_run_time (Delayed Job).")
    processed.add(st.processed, **base)
    failed_total.add(st.failed_counter, **base)
    stored.add(st.failed_stored, **base)
    pending.add(st.pending, **base)
    scheduled.add(st.scheduled, **base)
    retrying.add(st.retrying, **base)
    stuck.add(st.stuck, **base)
    return [size, latency, by_state, queue_failed, failed, capped, oldest, workers, processed, failed_total, stored, pending,
            scheduled, retrying, stuck]


def run_families(command: str, *, success: bool, finished_at: datetime, duration_s: float,
                 instance: str | None = None) -> list[MetricFamily]:
    """Last-run metrics, so "cron stopped running" or "jobctl cannot reach Redis" can alert."""
    lbl = {"command": command, **({"instance": instance} if instance else {})}
    ok = MetricFamily("jobctl_last_run_success", "gauge", "1 if the last jobctl run read the queue store.")
    ts = MetricFamily("jobctl_last_run_timestamp_seconds", "gauge", "Unix time the last jobctl run finished.")
    dur = MetricFamily("jobctl_last_run_duration_seconds", "gauge", "How long the last jobctl run took.")
    ok.add(1 if success else 0, **lbl)
    ts.add(round(finished_at.timestamp(), 3), **lbl)
    dur.add(round(duration_s, 4), **lbl)
    return [ok, ts, dur]


def alert_families(results: list[RuleResult]) -> list[MetricFamily]:
    state = MetricFamily("jobctl_alert_state", "gauge", "Alert rule state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
    value = MetricFamily("jobctl_alert_value", "gauge", "The value the alert rule measured.")
    for r in results:
        lbl = {"rule": r.rule.name, "metric": r.rule.metric, "instance": r.target}
        state.add(int(r.state), **lbl)
        value.add(r.value, **lbl)
    return [state, value]
