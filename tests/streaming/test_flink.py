"""The same pipeline on Apache Flink's embedded cluster: two partitions, crashes mid-run, exact accounting.

`manage.py run_stream --runner flink` runs the job on Flink 1.19 ([local]),
with its Python in SDK workers of their own, one a partition, while a
producer appends events to both partitions of the lane's events topic:

1. one SDK worker is killed with SIGKILL: Flink restarts the job from its
   last checkpoint, and the commits go on past where they were;
2. the launcher is killed with SIGKILL: its job server and workers go with
   it (none is left reading), and a new run starts from the committed
   offsets;
3. that run drains the topic and is stopped with SIGTERM: the stop reaches
   the workers through the launcher's stop file, each reader commits its
   last objects, and the run ends DONE (exit 0).

Then every record is a line of exactly one lake object of its partition,
with no two objects overlapping, PostgreSQL holds each once, the committed
offsets are the ends of both partitions, and `manage.py reconcile` accounts
for every event. The health and metrics endpoints are the launcher's, fed
by the workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka.admin import AdminClient

from tests.support.lanes import ROOT, StreamLane, free_port
from tests.support.load import Load
from tests.support.stream import (
    StreamJob,
    alive,
    assert_each_record_once_in_both_sinks,
    committed_offsets,
    descendants,
    health,
    log_ends,
    metric,
    spread_over,
    start_stream,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

RATE = 300  # events/s while the job is crashed and restarted
PARTITIONS = 2


@pytest.fixture(scope="session")
def flink_job_server() -> str:
    """The job server's jar, built by the project's script (about 3 minutes the first time)."""
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "flink-job-server.sh"), "jar"], capture_output=True, text=True, timeout=900
    )
    assert built.returncode == 0, built.stderr
    return built.stdout.strip().splitlines()[-1]


def sdk_workers(launcher: int) -> list[int]:
    return [pid for pid, command in descendants(launcher) if "streaming.runtime.sdk_worker" in command]


def committed(lane: StreamLane) -> list[int]:
    return committed_offsets(lane, PARTITIONS)


def test_flink_runs_the_pipeline_over_two_partitions_through_crashes_with_exact_accounting(
    stream_lane: StreamLane, kafka_admin: AdminClient, flink_job_server: str
) -> None:
    spread_over(kafka_admin, stream_lane, PARTITIONS)
    since = datetime.now(UTC) - timedelta(seconds=1)
    address = f"127.0.0.1:{free_port()}"
    options = ("--runner", "flink", "--metrics-address", address)
    environment = {"STREAM_FLINK_JOB_SERVER_JAR": flink_job_server, "LOG_LEVEL": "WARNING"}
    load = Load(stream_lane, RATE)
    load.start()
    stream: StreamJob | None = None
    try:
        stream = start_stream(stream_lane, *options, env=environment)
        wait_for(lambda: health(address)[0] == 200 or stream.poll() is not None, 180, "the Flink job ready")
        assert stream.poll() is None, stream.communicate()[0][-5000:]
        workers = sdk_workers(stream.pid)
        assert len(workers) == PARTITIONS, f"SDK workers: {descendants(stream.pid)}"
        assert metric(address, "holded_stream_records_read_total") > 0  # the workers' counts, at the launcher
        wait_for(lambda: min(committed(stream_lane)) > 0, 120, "both partitions committed by a checkpoint")

        # 1. A worker dies: Flink restarts the job from its last checkpoint.
        before = committed(stream_lane)
        os.kill(workers[0], signal.SIGKILL)
        wait_for(lambda: workers[0] not in sdk_workers(stream.pid), 30, "the killed worker gone")
        wait_for(
            lambda: all(now > then for now, then in zip(committed(stream_lane), before, strict=True)),
            180,
            f"commits past {before} after Flink's restart",
        )
        assert stream.poll() is None, stream.communicate()[0][-5000:]
        print(
            f"\nworker {workers[0]} killed at committed offsets {before}; after the restart: {committed(stream_lane)}"
        )

        # 2. The launcher dies: its job server and workers die with it.
        family = [pid for pid, _ in descendants(stream.pid)]
        stream.send_signal(signal.SIGKILL)
        stream.communicate(timeout=30)
        wait_for(lambda: not any(alive(pid) for pid in family), 30, "the job server and workers gone with the launcher")
        at_kill, sent_at_kill = committed(stream_lane), load.sent
        print(f"launcher killed with {sent_at_kill} records sent, committed offsets {at_kill}")
        time.sleep(3)  # records arrive while nothing reads
    finally:
        load.stop()
        if stream is not None and stream.poll() is None:
            stream.kill()

    # 3. A new run resumes from the committed offsets, drains the topic, and stops cleanly on SIGTERM.
    ends = log_ends(stream_lane, PARTITIONS)
    last = start_stream(stream_lane, *options, env={**environment, "LOG_LEVEL": "INFO"})
    wait_for(lambda: committed(stream_lane) == ends or last.poll() is not None, 300, f"commits at {ends}")
    assert last.poll() is None, last.communicate()[0][-5000:]
    last.send_signal(signal.SIGTERM)
    output, _ = last.communicate(timeout=180)
    assert last.returncode == 0, output[-5000:]
    assert "stream finished: DONE (signal SIGTERM)" in output

    assert sum(at_kill) < load.sent
    assert assert_each_record_once_in_both_sinks(stream_lane, PARTITIONS) == load.sent
    assert committed(stream_lane) == ends
    report = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "reconcile", "--since", since.isoformat()],
        env={**stream_lane.environment(), "LOG_LEVEL": "WARNING"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    print(report.stdout)
    assert report.returncode == 0, report.stdout + report.stderr
    assert "every event is in exactly one place" in report.stdout
    print(f"{load.sent} records over {PARTITIONS} partitions, each exactly once, commits at {ends}")
