"""A run's life in one process: when it stops, and what its readiness reports.

A Lifecycle is made by begin() when a run starts in a process: by the
launcher, or by a worker in a process of its own when it joins a run
(streaming/runtime/workers.py). It is then handed to whoever needs it: the
health server (readiness), the signal handlers, and, through the process's
Host (streaming/runtime/host.py), the pipeline's DoFns, which a runner
unpickles in whatever process it chooses and which find it with current().

A stop is asked by SIGTERM/SIGINT (the launcher installs the handlers), by a
record limit or by an idle timeout (options meant for tests and batch-like
runs). The source checks stop_requested() between polls: on a stop it claims
nothing more, so what was read is written and committed, and the pipeline
reaches DONE. SDK workers in processes of their own share no memory with the
launcher: a stop asked of the launcher is also written to a stop file, which
every worker's lifecycle reads too.
"""

from __future__ import annotations

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)


class Lifecycle:
    """One run in one process: its stop, its limits, the services it is waiting for, its finished readers."""

    def __init__(
        self,
        *,
        max_records: int | None = None,
        idle_seconds: float | None = None,
        stop_file: str = "",
    ) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._reason = ""
        self._records_read = 0
        self._empty_since: float | None = None
        self._last_poll_at: float | None = None
        self._failing: dict[str, tuple[float, str]] = {}  # service -> (since, last error)
        self._max_records = max_records
        self._idle_seconds = idle_seconds
        self._stop_file = stop_file
        self._finished: set[tuple[str, int]] = set()  # partitions whose reader has stopped, its objects committed
        self._signalled = ""  # the signal that asked for a stop, not yet acted on (note_signal)

    def request_stop(self, reason: str, *, everywhere: bool = False) -> None:
        """Stop this process's sources; `everywhere`, those of every worker of the run too (a signal's stop)."""
        with self._lock:
            if not self._stop.is_set():
                self._reason = reason
                self._stop.set()
                logger.info("stopping: %s", reason)
        if everywhere and self._stop_file:
            try:
                with open(self._stop_file, "w") as marker:
                    marker.write(reason)
            except OSError as error:
                logger.error("could not tell the workers to stop (%s): %s", self._stop_file, error)

    def note_signal(self, name: str) -> None:
        """From a signal handler: a stop of every worker, carried out by the next stop_requested().

        Only an assignment here. A handler runs in the main thread between two
        of its bytecodes, maybe while that thread holds this object's lock or
        is logging: taking the lock there deadlocks. It did, in a process that
        got SIGTERM twice, the second while the first one's stop was being
        logged. The source asks stop_requested() between polls, and so does
        every launcher's wait, at least twice a second.
        """
        self._signalled = name

    def stop_requested(self) -> bool:
        if self._signalled:
            name, self._signalled = self._signalled, ""
            self.request_stop(f"signal {name}", everywhere=True)
        if not self._stop.is_set() and self._stop_file and os.path.exists(self._stop_file):
            try:
                with open(self._stop_file) as marker:
                    reason = marker.read().strip() or "stop file"
            except OSError:
                reason = "stop file"
            self.request_stop(f"the launcher asked: {reason}")
        return self._stop.is_set()

    def note_poll(self, count: int) -> None:
        """What a poll of the source found; polls that find nothing for the idle timeout stop the job.

        Idleness is counted from the first of consecutive empty polls, not from
        the last record: writing a large bundle is not being idle.
        """
        now = time.monotonic()
        with self._lock:
            self._last_poll_at = now
            if count:
                self._empty_since = None
                return
            if self._empty_since is None:
                self._empty_since = now
            idle_for = now - self._empty_since
        if self._idle_seconds is not None and idle_for > self._idle_seconds:
            self.request_stop(f"no record for {self._idle_seconds:g}s")

    def note_finished(self, topic: str, partition: int) -> None:
        """A partition's reader has stopped, and what it read is written and committed."""
        with self._lock:
            self._finished.add((topic, partition))

    def finished(self) -> set[tuple[str, int]]:
        with self._lock:
            return set(self._finished)

    def stop_reason(self) -> str:
        return self._reason

    def records_allowed(self, wanted: int) -> int:
        """How many of `wanted` records may still be read under the record limit (and count them)."""
        with self._lock:
            limit = self._max_records
            allowed = wanted if limit is None else max(0, min(wanted, limit - self._records_read))
            self._records_read += allowed
            reached = limit is not None and self._records_read >= limit
        if reached:
            self.request_stop(f"read {limit} records")
        return allowed

    def note_failing(self, service: str, error: str) -> None:
        """`service` did not answer: readiness names it, with its last error, until it recovers."""
        with self._lock:
            since = self._failing.get(service, (time.monotonic(), ""))[0]
            self._failing[service] = (since, error)

    def note_recovered(self, service: str) -> None:
        if service in self._failing:
            with self._lock:
                self._failing.pop(service, None)

    def readiness(self, max_poll_age: float = 30.0) -> tuple[bool, dict[str, str]]:
        """Is the job working? Its source polled lately, and no service is being waited for."""
        now = time.monotonic()
        with self._lock:
            checks = {
                service: f"failing for {now - since:.0f}s: {error}"
                for service, (since, error) in sorted(self._failing.items())
            }
            polled = self._last_poll_at
        if polled is None:
            checks["source"] = "has not polled Kafka yet"
        elif now - polled > max_poll_age:
            checks["source"] = f"last polled Kafka {now - polled:.0f}s ago"
        return not checks, checks


# The run of this process, for the DoFns a runner unpickles here: they are handed the Attach, not the object.
_current: Lifecycle | None = None


def begin(*, max_records: int | None = None, idle_seconds: float | None = None, stop_file: str = "") -> Lifecycle:
    """A fresh run in this process: its lifecycle, the one current() gives from now on."""
    global _current
    _current = Lifecycle(max_records=max_records, idle_seconds=idle_seconds, stop_file=stop_file)
    return _current


def current() -> Lifecycle | None:
    """This process's run, if one has begun (the launcher's, or one a worker joined)."""
    return _current


def current_readiness() -> tuple[bool, dict[str, str]]:
    """The readiness of this process's run; the health server serves it for the life of the process, whichever
    run is current (a test's process runs several)."""
    run = _current
    return run.readiness() if run is not None else (False, {"run": "none has begun in this process"})
