"""Stopping, retrying and readiness (pure)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streaming.pipeline.retry import RetryPolicy, StoppedDuringOutage
from streaming.runtime import lifecycle
from streaming.runtime.launcher import _install_stop_handlers

QUICK_POLICY = RetryPolicy(first_delay=0.01, max_delay=0.02)
QUICK: dict[str, Any] = {"what": "x", "service": "test", "transient": (ConnectionError,)}


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    lifecycle.configure(max_records=None, idle_seconds=None)
    yield
    lifecycle.configure(max_records=None, idle_seconds=None)


def test_a_record_limit_allows_exactly_that_many_then_stops() -> None:
    lifecycle.configure(max_records=5, idle_seconds=None)

    assert lifecycle.records_allowed(3) == 3
    assert not lifecycle.stop_requested()
    assert lifecycle.records_allowed(3) == 2
    assert lifecycle.stop_requested()
    assert lifecycle.records_allowed(3) == 0
    assert lifecycle.stop_reason() == "read 5 records"


def test_an_idle_timeout_counts_consecutive_empty_polls() -> None:
    lifecycle.configure(max_records=None, idle_seconds=0.05)
    lifecycle.note_poll(0)
    time.sleep(0.1)  # a long bundle being written is not idleness...
    lifecycle.note_poll(10)
    lifecycle.note_poll(0)
    assert not lifecycle.stop_requested()
    time.sleep(0.1)  # ... but polls finding nothing for that long are
    lifecycle.note_poll(0)
    assert lifecycle.stop_requested()
    assert lifecycle.stop_reason() == "no record for 0.05s"


def test_retry_waits_out_transient_failures() -> None:
    failures = iter([ConnectionError("down"), ConnectionError("still down")])

    def action() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "done"

    assert QUICK_POLICY.run(action, **QUICK) == "done"


def test_retry_does_not_swallow_other_errors() -> None:
    def action() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        QUICK_POLICY.run(action, **QUICK)


def test_a_stop_during_an_outage_fails_instead_of_waiting_forever() -> None:
    lifecycle.request_stop("test")

    def action() -> None:
        raise ConnectionError("down")

    with pytest.raises(StoppedDuringOutage):
        QUICK_POLICY.run(action, **QUICK)


def test_ready_once_polling_and_not_while_a_service_fails() -> None:
    ready, checks = lifecycle.readiness()
    assert not ready
    assert checks == {"source": "has not polled Kafka yet"}

    lifecycle.note_poll(1)
    assert lifecycle.readiness() == (True, {})

    attempts = iter([ConnectionError("refused"), None])
    states = []

    def action() -> None:
        failure = next(attempts)
        states.append(lifecycle.readiness())
        if failure is not None:
            raise failure

    QUICK_POLICY.run(action, **QUICK)
    # During the second attempt, the first failure made the job not ready.
    ready, checks = states[1]
    assert not ready
    assert checks["test"].endswith("ConnectionError: refused")
    assert lifecycle.readiness() == (True, {})


@pytest.mark.timeout(30)  # what this guards against is a hang
def test_signals_while_the_lock_is_held_stop_the_run_without_a_deadlock(tmp_path: Path) -> None:
    """A handler runs in the main thread between two bytecodes, maybe while it holds the lifecycle's lock (the
    source notes each poll under it): taking the lock there would never return. Two SIGTERMs in a row, as a
    local runner's process once got, while the lock is held."""
    stop_file = tmp_path / "stop"
    lifecycle.configure(max_records=None, idle_seconds=None, stop_file=str(stop_file))
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _install_stop_handlers()
        with lifecycle._lock:
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
        assert lifecycle.stop_requested()
        assert lifecycle.stop_reason() == "signal SIGTERM"
        assert stop_file.read_text() == "signal SIGTERM"  # every worker of the run stops too
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
