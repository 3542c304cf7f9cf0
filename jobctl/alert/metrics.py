"""What each alert metric measures, its unit and its default thresholds.

The defaults apply only when a rule gives neither --warning nor --critical; they are documented
in README ("Alert metrics and defaults") and in `jobctl alert --help`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    what: str  # one line for --help / README
    unit: str = ""  # perfdata UOM ("s" for seconds)
    durations: bool = False  # threshold bounds may carry s/m/h/d units
    default_warning: str | None = None
    default_critical: str | None = None
    uses_failures: bool = False  # selects failed jobs with the failure filter (class/exception/error/window)
    needs_window: bool = False
    default_window: timedelta | None = None


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("failed", "failed jobs matching the selectors (failed_at inside --window, if given)",
                   default_critical="0", uses_failures=True),
        MetricSpec("size", "jobs waiting in the selected queues (all queues if none)",
                   default_warning="1000", default_critical="10000"),
        MetricSpec("latency", "age of the oldest waiting job in the selected queues, in seconds",
                   unit="s", durations=True, default_warning="5m", default_critical="1h"),
        MetricSpec("failure-rate", "matching failures per minute over --window (default 15m)",
                   default_warning="1", default_critical="5", uses_failures=True, needs_window=True,
                   default_window=timedelta(minutes=15)),
        MetricSpec("stuck", "jobs locked/running longer than max_run_time (default 4h), or held by a "
                   "dead worker", default_critical="0"),
        MetricSpec("stale-workers", "registered workers whose heartbeat is stale (dead or hung)",
                   default_warning="0"),
        MetricSpec("record-not-found", "failures caused by ActiveRecord::RecordNotFound (also wrapped "
                   "in a Delayed Job / ActiveJob DeserializationError)", default_warning="0",
                   uses_failures=True),
    )
}

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)


def perf_label(metric: str) -> str:
    """Perfdata label for a quick-form rule: 'failed', 'failure_rate', 'record_not_found'."""
    return metric.replace("-", "_")
