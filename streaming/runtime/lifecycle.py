"""Stopping the job cleanly, and what its readiness reports.

The stop flag lives in this importable module (not __main__) so that every
DoFn of the process sees the same one. It is set by SIGTERM/SIGINT (the
launcher installs the handlers), by a record limit or by an idle timeout
(options meant for tests and batch-like runs). The source checks it between
polls: on a stop, it claims nothing more, so what was read is written and
committed, and the pipeline reaches DONE.

SDK workers in processes of their own (Flink's task managers start them)
share no memory with the launcher: a stop asked of the launcher is also
written to a stop file, which every worker's flag reads too
(streaming/runtime/workers.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

_stop = threading.Event()
_lock = threading.Lock()
_reason = ""
_records_read = 0
_empty_since: float | None = None
_last_poll_at: float | None = None
_failing: dict[str, tuple[float, str]] = {}  # service -> (since, last error)
_max_records: int | None = None
_idle_seconds: float | None = None
_stop_file = ""
_configured = False
_finished: set[tuple[str, int]] = set()  # partitions whose reader has stopped, its objects committed
_signalled = ""  # the signal that asked for a stop, not yet acted on (note_signal)


def configure(*, max_records: int | None, idle_seconds: float | None, stop_file: str = "") -> None:
    """A fresh run: clear the flag and set the limits, and where a stop is shared with other processes."""
    global _reason, _records_read, _empty_since, _max_records, _idle_seconds, _last_poll_at, _stop_file, _configured
    with _lock:
        _stop.clear()
        _reason = ""
        _records_read = 0
        _empty_since = None
        _last_poll_at = None
        _failing.clear()
        _max_records = max_records
        _idle_seconds = idle_seconds
        _stop_file = stop_file
        _configured = True
        _finished.clear()


def configured() -> bool:
    """Has this process been set up for a run (the launcher, or a worker that joined one)?"""
    return _configured


def request_stop(reason: str, *, everywhere: bool = False) -> None:
    """Stop this process's sources; `everywhere`, those of every worker of the run too (a signal's stop)."""
    global _reason
    with _lock:
        if not _stop.is_set():
            _reason = reason
            _stop.set()
            logger.info("stopping: %s", reason)
    if everywhere and _stop_file:
        try:
            with open(_stop_file, "w") as marker:
                marker.write(reason)
        except OSError as error:
            logger.error("could not tell the workers to stop (%s): %s", _stop_file, error)


def note_signal(name: str) -> None:
    """From a signal handler: a stop of every worker, carried out by the next stop_requested().

    Only an assignment here. A handler runs in the main thread between two of
    its bytecodes, maybe while that thread holds this module's lock or is
    logging: taking the lock there deadlocks. It did, in a process that got
    SIGTERM twice, the second while the first one's stop was being logged.
    The source asks stop_requested() between polls, and so does every
    launcher's wait, at least twice a second.
    """
    global _signalled
    _signalled = name


def stop_requested() -> bool:
    global _signalled
    if _signalled:
        name, _signalled = _signalled, ""
        request_stop(f"signal {name}", everywhere=True)
    if not _stop.is_set() and _stop_file and os.path.exists(_stop_file):
        try:
            with open(_stop_file) as marker:
                reason = marker.read().strip() or "stop file"
        except OSError:
            reason = "stop file"
        request_stop(f"the launcher asked: {reason}")
    return _stop.is_set()


def note_poll(count: int) -> None:
    """What a poll of the source found; polls that find nothing for the idle timeout stop the job.

    Idleness is counted from the first of consecutive empty polls, not from the
    last record: writing a large bundle is not being idle.
    """
    global _empty_since, _last_poll_at
    now = time.monotonic()
    with _lock:
        _last_poll_at = now
        if count:
            _empty_since = None
            return
        if _empty_since is None:
            _empty_since = now
        idle_for = now - _empty_since
    if _idle_seconds is not None and idle_for > _idle_seconds:
        request_stop(f"no record for {_idle_seconds:g}s")


def note_finished(topic: str, partition: int) -> None:
    """A partition's reader has stopped, and what it read is written and committed."""
    with _lock:
        _finished.add((topic, partition))


def finished() -> set[tuple[str, int]]:
    with _lock:
        return set(_finished)


def stop_reason() -> str:
    return _reason


def records_allowed(wanted: int) -> int:
    """How many of `wanted` records may still be read under the record limit (and count them)."""
    global _records_read
    with _lock:
        allowed = wanted if _max_records is None else max(0, min(wanted, _max_records - _records_read))
        _records_read += allowed
    if _max_records is not None and _records_read >= _max_records:
        request_stop(f"read {_max_records} records")
    return allowed


def note_failing(service: str, error: str) -> None:
    """`service` did not answer: readiness names it, with its last error, until it recovers."""
    with _lock:
        since = _failing.get(service, (time.monotonic(), ""))[0]
        _failing[service] = (since, error)


def note_recovered(service: str) -> None:
    if service in _failing:
        with _lock:
            _failing.pop(service, None)


def readiness(max_poll_age: float = 30.0) -> tuple[bool, dict[str, str]]:
    """Is the job working? Its source polled lately, and no service is being waited for."""
    now = time.monotonic()
    with _lock:
        checks = {
            service: f"failing for {now - since:.0f}s: {error}" for service, (since, error) in sorted(_failing.items())
        }
        polled = _last_poll_at
    if polled is None:
        checks["source"] = "has not polled Kafka yet"
    elif now - polled > max_poll_age:
        checks["source"] = f"last polled Kafka {now - polled:.0f}s ago"
    return not checks, checks
