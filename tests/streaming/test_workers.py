"""SDK workers in processes of their own: the stop file, the launcher's readiness and metrics from their reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from streaming.runtime import lifecycle, workers
from streaming.runtime.lifecycle import Lifecycle
from streaming.runtime.workers import RunDirectory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def launcher() -> Lifecycle:
    """This process, as a launcher: a run has begun in it."""
    return lifecycle.begin()


@pytest.fixture
def run(tmp_path: Path) -> RunDirectory:
    directory = RunDirectory(str(tmp_path), idle_seconds=None)
    directory.status_dir.mkdir()
    directory.metrics_dir.mkdir()
    return directory


def report(run: RunDirectory, pid: int, *, age: float = 0.0, **fields: object) -> None:
    status = {
        "reported_at": time.time() - age,
        "ready": True,
        "checks": {},
        "finished": [],
        "freshness": {},
    }
    (run.status_dir / str(pid)).write_text(json.dumps({**status, **fields}))


def test_a_signal_stop_reaches_every_worker_through_the_stop_file(run: RunDirectory) -> None:
    Lifecycle(stop_file=run.stop_file).request_stop("signal SIGTERM", everywhere=True)
    assert Path(run.stop_file).read_text() == "signal SIGTERM"

    # A worker: another process, which only shares the folder.
    worker = Lifecycle(stop_file=run.stop_file)
    assert worker.stop_requested()
    assert worker.stop_reason() == "the launcher asked: signal SIGTERM"


def test_a_workers_own_stop_stays_its_own(run: RunDirectory) -> None:
    Lifecycle(stop_file=run.stop_file).request_stop("no record for 5s")  # stops this worker's readers only
    assert not Path(run.stop_file).exists()


def test_joining_a_run_happens_once_and_never_in_the_launchers_process(run: RunDirectory) -> None:
    assert not workers.join(RunDirectory())  # no run folder: the workers are the launcher's process
    assert not workers.join(run)  # this process already runs one (fixture): it is the launcher


def test_not_ready_before_any_worker_reports(run: RunDirectory) -> None:
    assert workers.readiness(run) == (False, {"workers": "no worker has started yet"})


def test_ready_when_every_running_worker_is(run: RunDirectory) -> None:
    report(run, os.getpid())
    assert workers.readiness(run) == (True, {})


def test_a_workers_problem_and_a_silent_worker_make_it_not_ready(run: RunDirectory) -> None:
    report(run, os.getpid(), checks={"kafka": "failing for 12s: broker down"})
    report(run, os.getppid(), age=60)
    ready, checks = workers.readiness(run)
    assert not ready
    assert checks[f"worker {os.getpid()}: kafka"] == "failing for 12s: broker down"
    assert checks[f"worker {os.getppid()}"].startswith("last reported 6")


def test_a_worker_that_has_exited_is_not_waited_for(run: RunDirectory) -> None:
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    report(run, int(ended.stdout), age=600)
    report(run, os.getpid())
    assert workers.readiness(run) == (True, {})


def test_finished_partitions_add_up_over_the_workers_and_this_process(run: RunDirectory, launcher: Lifecycle) -> None:
    report(run, 11, finished=[["events.raw", 0]])
    report(run, 12, finished=[["events.raw", 1], ["events.dead.letter", 0]])
    launcher.note_finished("events.raw", 2)
    assert workers.finished(run) == {
        ("events.raw", 0),
        ("events.raw", 1),
        ("events.raw", 2),
        ("events.dead.letter", 0),
    }


WORKER = """
import sys
from streaming.runtime.metrics import STREAM_LAG, STREAM_RECORDS, STREAM_RESTARTS
STREAM_RECORDS.labels("events.raw").inc(int(sys.argv[1]))
STREAM_LAG.labels("events.raw", sys.argv[2]).set(int(sys.argv[1]) * 10)
"""


def test_the_launchers_metrics_add_up_what_worker_processes_counted(run: RunDirectory) -> None:
    # Two real processes, writing as the workers do (PROMETHEUS_MULTIPROC_DIR set before they import).
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(run.metrics_dir), "HOLDED_STREAM_RESTARTS": "0"}
    for count, partition in ((30, "0"), (12, "1")):
        subprocess.run([sys.executable, "-c", WORKER, str(count), partition], cwd=ROOT, env=environment, check=True)
    report(run, os.getpid(), freshness={"0.5": 0.4, "0.99": 1.5})
    report(run, os.getppid(), freshness={"0.5": 0.9, "0.99": float("nan")})

    text = generate_latest(workers.registry(run)).decode()

    assert 'holded_stream_records_read_total{topic="events.raw"} 42.0' in text
    assert 'holded_stream_consumer_lag{partition="0",topic="events.raw"} 300.0' in text
    assert 'holded_stream_consumer_lag{partition="1",topic="events.raw"} 120.0' in text
    assert 'holded_stream_freshness_seconds{quantile="0.5"} 0.9' in text  # the slowest worker's
    assert 'holded_stream_freshness_seconds{quantile="0.99"} 1.5' in text
    assert (
        text.count("# TYPE holded_stream_restarts_total counter") + text.count("# TYPE holded_stream_restarts counter")
        == 1
    )  # the launcher's own, once
