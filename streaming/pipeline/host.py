"""What the pipeline asks of the process that runs it: whether to stop, what to report, what to count.

The pipeline never imports the runtime (streaming/runtime/). The runtime
hands itself in instead: StreamConfig.host is an Attach, a small picklable
value that each DoFn calls once in setup() and that gives the Host of the
process the DoFn landed in (the launcher's, one of the local runner's
processes, or an SDK worker that Flink started). Outside a runtime, as when
a test calls a DoFn itself, the host is Detached: nothing asks it to stop,
and it counts nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class RetryHooks(Protocol):
    """What a retry tells the process while a service does not answer (streaming/pipeline/retry.py)."""

    def stop_requested(self) -> bool: ...

    def failing(self, service: str, error: str) -> None: ...

    def recovered(self, service: str) -> None: ...

    def retried(self, service: str) -> None: ...


class Host(RetryHooks, Protocol):
    """The process that runs the pipeline: its stop, its readiness and its metrics."""

    # The source (read_kafka).
    def reading(self) -> None: ...

    def polled(self, count: int) -> None: ...

    def records_allowed(self, wanted: int) -> int: ...

    def read(self, topic: str, count: int) -> None: ...

    def lag(self, topic: str, partition: int, behind: int) -> None: ...

    def finished(self, topic: str, partition: int) -> None: ...

    # The sinks.
    def flushed(self, sink: str, seconds: float) -> None: ...

    def written(self, sink: str, count: int) -> None: ...

    def object_written(self, prefix: str) -> None: ...

    def landed(self, publish_times_ms: Sequence[int]) -> None: ...

    def dead_lettered(self, count: int) -> None: ...


Attach = Callable[[], Host]


class _Unhosted:
    """A host that never stops and counts nothing."""

    def stop_requested(self) -> bool:
        return False

    def failing(self, service: str, error: str) -> None:
        pass

    def recovered(self, service: str) -> None:
        pass

    def retried(self, service: str) -> None:
        pass

    def reading(self) -> None:
        pass

    def polled(self, count: int) -> None:
        pass

    def records_allowed(self, wanted: int) -> int:
        return wanted

    def read(self, topic: str, count: int) -> None:
        pass

    def lag(self, topic: str, partition: int, behind: int) -> None:
        pass

    def finished(self, topic: str, partition: int) -> None:
        pass

    def flushed(self, sink: str, seconds: float) -> None:
        pass

    def written(self, sink: str, count: int) -> None:
        pass

    def object_written(self, prefix: str) -> None:
        pass

    def landed(self, publish_times_ms: Sequence[int]) -> None:
        pass

    def dead_lettered(self, count: int) -> None:
        pass


@dataclass(frozen=True)
class Detached:
    """The Attach of a pipeline no runtime hosts: a DoFn called by a test, a transform in a notebook."""

    def __call__(self) -> Host:
        return _Unhosted()
