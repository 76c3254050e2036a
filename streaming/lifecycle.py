"""Stopping the job cleanly, and what its readiness reports.

The stop flag lives in this importable module (not __main__) so that every
DoFn of the process sees the same one. It is set by SIGTERM/SIGINT (the
launcher installs the handlers), by a record limit or by an idle timeout
(options meant for tests and batch-like runs). The source checks it between
polls: on a stop, it claims nothing more, so what was read is written and
committed, and the pipeline reaches DONE.
"""

from __future__ import annotations

import logging
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


def configure(*, max_records: int | None, idle_seconds: float | None) -> None:
    """A fresh run: clear the flag and set the limits."""
    global _reason, _records_read, _empty_since, _max_records, _idle_seconds, _last_poll_at
    with _lock:
        _stop.clear()
        _reason = ""
        _records_read = 0
        _empty_since = None
        _last_poll_at = None
        _failing.clear()
        _max_records = max_records
        _idle_seconds = idle_seconds


def request_stop(reason: str) -> None:
    global _reason
    with _lock:
        if not _stop.is_set():
            _reason = reason
            _stop.set()
            logger.info("stopping: %s", reason)


def stop_requested() -> bool:
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
