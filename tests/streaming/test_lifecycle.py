"""Stopping, retrying and readiness (pure)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from streaming.pipeline.retry import RetryPolicy, StoppedDuringOutage
from streaming.runtime import lifecycle
from streaming.runtime.host import ProcessHost
from streaming.runtime.launcher import _install_stop_handlers
from streaming.runtime.lifecycle import Lifecycle

QUICK_POLICY = RetryPolicy(first_delay=0.01, max_delay=0.02)


@pytest.fixture
def run() -> Lifecycle:
    return lifecycle.begin()


def quick(run: Lifecycle) -> dict[str, Any]:
    """A retry's arguments, its hooks the run's own (as a DoFn's, through its process's Host)."""
    return {"what": "x", "service": "test", "transient": (ConnectionError,), "hooks": ProcessHost(run)}


def test_a_record_limit_allows_exactly_that_many_then_stops() -> None:
    run = Lifecycle(max_records=5)

    assert run.records_allowed(3) == 3
    assert not run.stop_requested()
    assert run.records_allowed(3) == 2
    assert run.stop_requested()
    assert run.records_allowed(3) == 0
    assert run.stop_reason() == "read 5 records"


def test_an_idle_timeout_counts_consecutive_empty_polls() -> None:
    run = Lifecycle(idle_seconds=0.05)
    run.note_poll(0)
    time.sleep(0.1)  # a long bundle being written is not idleness...
    run.note_poll(10)
    run.note_poll(0)
    assert not run.stop_requested()
    time.sleep(0.1)  # ... but polls finding nothing for that long are
    run.note_poll(0)
    assert run.stop_requested()
    assert run.stop_reason() == "no record for 0.05s"


def test_retry_waits_out_transient_failures(run: Lifecycle) -> None:
    failures = iter([ConnectionError("down"), ConnectionError("still down")])

    def action() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "done"

    assert QUICK_POLICY.run(action, **quick(run)) == "done"


def test_retry_waits_on_the_clock_it_is_given_doubling_up_to_the_most() -> None:
    waits: list[float] = []
    policy = RetryPolicy(first_delay=1.0, max_delay=3.0, sleep=waits.append)
    failures = iter([TimeoutError("slow")] * 4)

    def action() -> str:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return "done"

    hooks = Recording()
    assert policy.run(action, what="x", service="registry", transient=(TimeoutError,), hooks=hooks) == "done"
    assert waits == [1.0, 2.0, 3.0, 3.0]  # no real time passed
    assert hooks.calls == [*[("failing", "registry"), ("retried", "registry")] * 4, ("recovered", "registry")]


def test_retry_takes_a_test_of_the_error_for_what_is_transient() -> None:
    hooks = Recording()
    policy = RetryPolicy(sleep=lambda _: None)
    attempts = iter([OSError(503, "busy"), OSError(400, "bad"), None])

    def action() -> None:
        failure = next(attempts)
        if failure is not None:
            raise failure

    with pytest.raises(OSError, match="bad"):
        policy.run(action, what="x", service="s3", transient=lambda error: error.args[0] >= 500, hooks=hooks)
    assert hooks.calls == [("failing", "s3"), ("retried", "s3")]


def test_retry_does_not_swallow_other_errors(run: Lifecycle) -> None:
    def action() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        QUICK_POLICY.run(action, **quick(run))


def test_a_stop_during_an_outage_fails_instead_of_waiting_forever(run: Lifecycle) -> None:
    run.request_stop("test")

    def action() -> None:
        raise ConnectionError("down")

    with pytest.raises(StoppedDuringOutage):
        QUICK_POLICY.run(action, **quick(run))


def test_ready_once_polling_and_not_while_a_service_fails(run: Lifecycle) -> None:
    ready, checks = run.readiness()
    assert not ready
    assert checks == {"source": "has not polled Kafka yet"}

    run.note_poll(1)
    assert run.readiness() == (True, {})

    attempts = iter([ConnectionError("refused"), None])
    states = []

    def action() -> None:
        failure = next(attempts)
        states.append(run.readiness())
        if failure is not None:
            raise failure

    QUICK_POLICY.run(action, **quick(run))
    # During the second attempt, the first failure made the job not ready.
    ready, checks = states[1]
    assert not ready
    assert checks["test"].endswith("ConnectionError: refused")
    assert run.readiness() == (True, {})


def test_the_health_server_reads_the_current_run_of_the_process() -> None:
    first = lifecycle.begin()
    first.note_poll(1)
    assert lifecycle.current_readiness() == (True, {})
    lifecycle.begin()  # a new run in the same process (a test's): the server answers for it
    assert lifecycle.current_readiness() == (False, {"source": "has not polled Kafka yet"})


@pytest.mark.timeout(30)  # what this guards against is a hang
def test_signals_while_the_lock_is_held_stop_the_run_without_a_deadlock(tmp_path: Path) -> None:
    """A handler runs in the main thread between two bytecodes, maybe while it holds the lifecycle's lock (the
    source notes each poll under it): taking the lock there would never return. Two SIGTERMs in a row, as a
    local runner's process once got, while the lock is held."""
    stop_file = tmp_path / "stop"
    run = Lifecycle(stop_file=str(stop_file))
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _install_stop_handlers(run)
        with run._lock:
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)
        assert run.stop_requested()
        assert run.stop_reason() == "signal SIGTERM"
        assert stop_file.read_text() == "signal SIGTERM"  # every worker of the run stops too
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


class Recording:
    """Retry hooks that write down what they were told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def stop_requested(self) -> bool:
        return False

    def failing(self, service: str, error: str) -> None:
        self.calls.append(("failing", service))

    def recovered(self, service: str) -> None:
        self.calls.append(("recovered", service))

    def retried(self, service: str) -> None:
        self.calls.append(("retried", service))
