"""SDK workers in processes of their own: how they get a stop, and how the launcher reports on them.

On the local runner and with Flink's LOOPBACK environment, the pipeline's
Python code runs in the launcher's process, which serves /metrics and
/health itself. With Flink's PROCESS environment each task manager starts
workers of its own (scripts/sdk-worker), which share nothing in memory
with the launcher. They share a run directory, made by the launcher:

    <run>/stop            written on SIGTERM/SIGINT; every worker's source stops (streaming/runtime/lifecycle.py)
    <run>/workers/<pid>   the readiness and freshness of each worker a source reads in, rewritten every second
    <run>/metrics/        each worker's Prometheus values (prometheus_client's multiprocess mode)

and the launcher's endpoints serve the sum of them: /metrics adds the
workers' counters up, /health/ready is ready while every live worker is.
A shared folder means the workers run on the launcher's machine (Flink's
embedded cluster, or a one-machine session cluster); on a cluster of
several machines each task manager's workers are watched through Flink,
and a stop is Flink's own (docs/flink.md).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from streaming.runtime import lifecycle
from streaming.runtime.lifecycle import Lifecycle

logger = logging.getLogger(__name__)

REPORT_EVERY_SECONDS = 1.0
# A live worker whose report is older than this has hung: not ready.
STALE_AFTER_SECONDS = 30.0


@dataclass(frozen=True)
class RunDirectory:
    """The folder a launcher shares with its workers; empty when they run in its process."""

    path: str = ""
    idle_seconds: float | None = None  # each worker stops its own sources after this long without a record

    @property
    def stop_file(self) -> str:
        return os.path.join(self.path, "stop") if self.path else ""

    @property
    def status_dir(self) -> Path:
        return Path(self.path, "workers")

    @property
    def metrics_dir(self) -> Path:
        return Path(self.path, "metrics")

    @classmethod
    def create(cls, idle_seconds: float | None) -> RunDirectory:
        path = tempfile.mkdtemp(prefix="holded-stream-run-")
        run = cls(path, idle_seconds)
        run.status_dir.mkdir()
        run.metrics_dir.mkdir()
        return run


_joined = threading.Lock()


def join(run: RunDirectory) -> bool:
    """In a DoFn's setup: take part in the run as a worker of a process of its own (True), or do nothing.

    Nothing when this process already has a run (the launcher's, or one already joined). A worker's run
    sees the launcher's stop file; it reports to the launcher only once a source reads in it (report()):
    Flink may place only later stages in a worker, which never polls Kafka.
    """
    if not run.path or lifecycle.current() is not None:
        return False
    with _joined:
        if lifecycle.current() is not None:
            return False
        lifecycle.begin(idle_seconds=run.idle_seconds, stop_file=run.stop_file)
    logger.info("worker %s joined the run in %s", os.getpid(), run.path)
    return True


_reporting: set[int] = set()  # the pids of this process that report (one, but a fork copies the set)


def report(run: RunDirectory) -> None:
    """A source reads in this worker: report its readiness, freshness and finished readers to the launcher."""
    current = lifecycle.current()
    if not run.path or current is None:
        return  # the launcher's own process: it serves its readiness itself
    with _joined:
        if os.getpid() in _reporting:
            return
        _reporting.add(os.getpid())
    threading.Thread(target=_report_forever, args=(run, current), name="stream-worker-report", daemon=True).start()


def _report_forever(run: RunDirectory, joined: Lifecycle) -> None:
    from streaming.runtime.metrics import FRESHNESS, FRESHNESS_QUANTILES

    target = run.status_dir / str(os.getpid())
    while True:
        ready, checks = joined.readiness()
        status = {
            "reported_at": time.time(),
            "ready": ready,
            "checks": checks,
            "finished": sorted(joined.finished()),
            "freshness": dict(
                zip(map(str, FRESHNESS_QUANTILES), FRESHNESS.quantiles(FRESHNESS_QUANTILES), strict=True)
            ),
        }
        try:
            # Written whole, then renamed: a reader never sees half a report.
            partial = target.with_suffix(".tmp")
            partial.write_text(json.dumps(status))
            partial.replace(target)
        except OSError as error:
            logger.warning("could not report to %s: %s", target, error)
        time.sleep(REPORT_EVERY_SECONDS)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _all_reports(run: RunDirectory) -> dict[int, dict[str, Any]]:
    """The last report of each worker that has reported, running or not."""
    found: dict[int, dict[str, Any]] = {}
    for path in run.status_dir.glob("[0-9]*") if run.path else ():
        if path.suffix:
            continue  # a report being written
        try:
            found[int(path.name)] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # replaced while read: the next scrape reads the new one
    return found


def reports(run: RunDirectory) -> dict[int, dict[str, Any]]:
    """The last report of each worker still running."""
    return {pid: report for pid, report in _all_reports(run).items() if _alive(pid)}


def finished(run: RunDirectory) -> set[tuple[str, int]]:
    """The partitions whose reader has stopped, in whichever worker (one that has exited too), this process's
    included."""
    current = lifecycle.current()
    done = current.finished() if current is not None else set()
    for report in _all_reports(run).values():
        done.update((str(topic), int(partition)) for topic, partition in report.get("finished", ()))
    return done


def readiness(run: RunDirectory) -> tuple[bool, dict[str, str]]:
    """Ready while at least one worker runs and every running worker is ready and reporting."""
    now = time.time()
    workers = reports(run)
    if not workers:
        return False, {"workers": "no worker has started yet"}
    checks: dict[str, str] = {}
    for pid, report in sorted(workers.items()):
        age = now - float(report["reported_at"])
        if age > STALE_AFTER_SECONDS:
            checks[f"worker {pid}"] = f"last reported {age:.0f}s ago"
        for name, problem in dict(report["checks"]).items():
            checks[f"worker {pid}: {name}"] = problem
    return not checks, checks


class _WorkersFreshness(Collector):
    """holded_stream_freshness_seconds: the largest of the workers' quantiles (quantiles do not add up)."""

    def __init__(self, run: RunDirectory) -> None:
        self._run = run

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from streaming.runtime.metrics import FRESHNESS_QUANTILES, freshness_family

        values: dict[str, float] = {str(q): float("nan") for q in FRESHNESS_QUANTILES}
        for report in reports(self._run).values():
            for quantile, value in dict(report["freshness"]).items():
                if value == value and not values[quantile] >= value:  # NaN compares false both ways
                    values[quantile] = value
        yield freshness_family(values.items())


class _WorkersMetrics(Collector):
    """The workers' counters, gauges and histograms, added up over their files; restarts are the launcher's."""

    def __init__(self, run: RunDirectory) -> None:
        self._files = MultiProcessCollector(None, path=str(run.metrics_dir))

    def collect(self) -> Iterator[Metric]:
        from streaming.runtime.metrics import STREAM_RESTARTS

        launcher = {family.name for family in STREAM_RESTARTS.collect()}
        for family in self._files.collect():
            if family.name not in launcher:
                yield family
        yield from STREAM_RESTARTS.collect()


def registry(run: RunDirectory) -> CollectorRegistry:
    """What the launcher's /metrics serves when the workers are processes of their own."""
    combined = CollectorRegistry()
    combined.register(_WorkersMetrics(run))
    combined.register(_WorkersFreshness(run))
    return combined
