"""run_stream --supervise: a job that exits is started again, with backoff, and counted."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from streaming.runtime.supervisor import Backoff, supervise
from tests.support.factories import brief_event
from tests.support.lanes import StreamLane, free_port
from tests.support.stream import children, ready, rows_for, start_stream, wait_for


@pytest.fixture
def own_signal_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_failing_job_is_restarted_until_it_ends_by_itself(tmp_path: Path, own_signal_handlers: None) -> None:
    # Fails twice, then ends cleanly; each run records how many restarts came before it.
    runs = tmp_path / "runs"
    script = f'echo "$HOLDED_STREAM_RESTARTS" >> {runs}; [ "$(wc -l < {runs})" -ge 3 ]'

    code = supervise(["sh", "-c", script], Backoff(first_delay=0.01, max_delay=0.02))

    assert code == 0
    assert runs.read_text().split() == ["0", "1", "2"]


def test_a_signal_during_the_backoff_ends_the_supervisor_without_another_run(
    tmp_path: Path, own_signal_handlers: None
) -> None:
    # The job fails at once; the supervisor would wait 30 s before starting it again, but SIGTERM comes first.
    runs = tmp_path / "runs"
    script = f'echo "$HOLDED_STREAM_RESTARTS" >> {runs}; exit 3'
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    try:
        code = supervise(["sh", "-c", script], Backoff(first_delay=30, max_delay=30))
    finally:
        timer.cancel()

    assert code == 3
    assert time.monotonic() - started < 5
    assert runs.read_text().split() == ["0"]


def restarts(address: str) -> float:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "holded_stream_restarts_total":
                return sample.value
    raise AssertionError("no holded_stream_restarts_total")


@pytest.mark.integration
@pytest.mark.django_db
def test_a_killed_job_is_restarted_counted_and_goes_on(stream_lane: StreamLane) -> None:
    address = f"127.0.0.1:{free_port()}"
    supervisor = start_stream(stream_lane, "--supervise", "--metrics-address", address)
    try:
        wait_for(lambda: ready(address), 60, "the job ready")
        assert restarts(address) == 0
        (job,) = children(supervisor.pid)

        os.kill(job, signal.SIGKILL)

        wait_for(lambda: children(supervisor.pid) not in ([], [job]) and ready(address), 60, "a new job ready")
        assert restarts(address) == 1
        body = APIClient().post(
            "/collect", json.dumps([brief_event() for _ in range(5)]), content_type="application/json"
        )
        ids = [event["correlationId"] for event in body.json()["events"]]
        wait_for(lambda: len(rows_for(ids)) == 5, 60, "events posted after the restart written")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        output, _ = supervisor.communicate(timeout=120)

    assert supervisor.returncode == 0, output[-3000:]
    assert "stream exited with signal SIGKILL" in output
    assert "restarting in 1s (restart 1)" in output
    assert "stream finished: DONE (signal SIGTERM)" in output  # the job stopped cleanly, then its supervisor


@pytest.mark.integration
@pytest.mark.django_db
def test_a_killed_supervisor_takes_its_job_with_it(stream_lane: StreamLane) -> None:
    address = f"127.0.0.1:{free_port()}"
    supervisor = start_stream(stream_lane, "--supervise", "--metrics-address", address)
    wait_for(lambda: ready(address), 60, "the job ready")
    (job,) = children(supervisor.pid)

    supervisor.kill()
    supervisor.communicate(timeout=30)

    # The job got SIGTERM (the parent-death signal): it finishes its bundle and exits, never unsupervised.
    wait_for(
        lambda: not Path(f"/proc/{job}").exists() or "Z" in Path(f"/proc/{job}/stat").read_text().split()[2],
        60,
        "the job gone",
    )
