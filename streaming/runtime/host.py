"""The runtime's side of streaming/pipeline/host.py: a process's lifecycle and metrics, as the pipeline's Host.

The launcher puts a Hosted(run) in the StreamConfig it builds the pipeline
with. Wherever a runner runs a DoFn, its setup() calls it: a worker in a
process of its own joins the run first (it sees the launcher's stop file),
and each gets the Host of its process, backed by that process's Lifecycle
and Prometheus metrics. A worker reports its readiness to the launcher once a
source reads in it (`reading`, streaming/runtime/workers.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from streaming.pipeline.host import Host
from streaming.runtime import lifecycle, workers
from streaming.runtime.lifecycle import Lifecycle
from streaming.runtime.metrics import (
    FRESHNESS,
    STREAM_DEAD_LETTERS,
    STREAM_LAG,
    STREAM_OBJECTS,
    STREAM_RECORDS,
    STREAM_RETRIES,
    STREAM_SINK_SECONDS,
    STREAM_WRITTEN,
)
from streaming.runtime.workers import RunDirectory


class ProcessHost:
    """A Host backed by one Lifecycle and this process's metrics, in a run whose folder is `folder` (empty
    when the workers are the launcher's process)."""

    def __init__(self, run: Lifecycle, folder: RunDirectory | None = None) -> None:
        self._run = run
        self._folder = folder or RunDirectory()

    def stop_requested(self) -> bool:
        return self._run.stop_requested()

    def failing(self, service: str, error: str) -> None:
        self._run.note_failing(service, error)

    def recovered(self, service: str) -> None:
        self._run.note_recovered(service)

    def retried(self, service: str) -> None:
        STREAM_RETRIES.labels(service).inc()

    def reading(self) -> None:
        workers.report(self._folder)  # a worker with a source reports its readiness to the launcher

    def polled(self, count: int) -> None:
        self._run.note_poll(count)

    def records_allowed(self, wanted: int) -> int:
        return self._run.records_allowed(wanted)

    def read(self, topic: str, count: int) -> None:
        STREAM_RECORDS.labels(topic).inc(count)

    def lag(self, topic: str, partition: int, behind: int) -> None:
        STREAM_LAG.labels(topic, str(partition)).set(behind)

    def finished(self, topic: str, partition: int) -> None:
        self._run.note_finished(topic, partition)

    def flushed(self, sink: str, seconds: float) -> None:
        STREAM_SINK_SECONDS.labels(sink).observe(seconds)

    def written(self, sink: str, count: int) -> None:
        STREAM_WRITTEN.labels(sink).inc(count)

    def object_written(self, prefix: str) -> None:
        STREAM_OBJECTS.labels(prefix).inc()

    def landed(self, publish_times_ms: Sequence[int]) -> None:
        FRESHNESS.observe(publish_times_ms)

    def dead_lettered(self, count: int) -> None:
        STREAM_DEAD_LETTERS.inc(count)


class NoRunInThisProcess(RuntimeError):
    """A DoFn was set up in a process where no run has begun and none can be joined."""


@dataclass(frozen=True)
class Hosted:
    """The Attach the launcher hands the pipeline: the Host of whichever process a DoFn is set up in."""

    run: RunDirectory = field(default_factory=RunDirectory)  # empty when the workers are the launcher's process

    def __call__(self) -> Host:
        workers.join(self.run)
        current = lifecycle.current()
        if current is None:
            raise NoRunInThisProcess(
                "the pipeline runs in a process no launcher began a run in, and has no run to join"
            )
        return ProcessHost(current, self.run)
