"""The local runner in several processes (run_stream --processes): each its share of the partitions, through
crashes, with exact accounting.

`manage.py run_stream --processes 3` on an events topic of two partitions
runs two processes (never more than the partitions), each a whole pipeline
over its share, while a producer appends events to both partitions:

1. one process is killed with SIGKILL: the launcher stops the other (which
   commits what its sinks wrote) and exits non-zero, naming the process;
2. a second run is started, and its launcher is killed with SIGKILL: its
   processes die with it (none is left reading);
3. a third run drains the topic and is stopped with SIGTERM: the stop reaches
   both processes through the run's stop file, and the run ends DONE.

Then every record is a line of exactly one lake object of its partition,
with no two objects overlapping, PostgreSQL holds each once, and the
committed offsets are the ends of both partitions. The health and metrics
endpoints are the launcher's, fed by its processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient
from django.core.management import CommandError, call_command
from hypothesis import given
from hypothesis import strategies as st
from pytest_django.fixtures import Settings as SettingsWrapper

from streaming.pipeline.config import Share, StreamConfig
from streaming.runtime import launcher
from streaming.runtime.launcher import LocalProcesses, run
from streaming.runtime.lifecycle import Lifecycle
from tests.support.lanes import StreamLane, free_port
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

RATE = 300  # events/s while the job is crashed and restarted
PARTITIONS = 2


@given(st.integers(1, 8), st.integers(0, 64))
def test_each_partition_is_read_by_exactly_one_process(count: int, partition: int) -> None:
    readers = [index for index in range(count) if Share(index, count).takes(partition)]
    assert readers == [partition % count]


@pytest.mark.parametrize("asked", ["0", "-1", "two"])
def test_a_count_of_processes_that_is_none_is_refused(asked: str) -> None:
    with pytest.raises(CommandError, match="must be auto or at least 1"):
        call_command("run_stream", "--processes", asked, "--metrics-address", "")


def test_a_record_limit_needs_one_process(settings: SettingsWrapper) -> None:
    config = StreamConfig.from_settings(settings)
    with pytest.raises(ValueError, match=r"a record limit needs one process \(--processes 1\)"):
        run(config, [], max_records=5, processes=LocalProcesses(2, {}))


def test_processes_that_outlive_a_stop_by_the_grace_fail_the_run_naming_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A process that never reads the stop file (here: a sleep) is given STOP_GRACE_SECONDS, then reported.
    monkeypatch.setattr(launcher, "STOP_GRACE_SECONDS", 0.5)
    run = Lifecycle()
    stuck = subprocess.Popen(["sleep", "60"])
    try:
        run.request_stop("a test")
        started = time.monotonic()
        state = launcher._wait_for_processes([stuck], run)
        waited = time.monotonic() - started
    finally:
        stuck.kill()
        stuck.wait()

    assert state == f"FAILED: processes [{stuck.pid}] did not stop"
    assert 0.5 < waited < 5


def processes(launcher_pid: int) -> list[int]:
    return [pid for pid, command in descendants(launcher_pid) if "streaming.runtime.local_process" in command]


@pytest.mark.integration
@pytest.mark.django_db
def test_the_local_runner_in_two_processes_survives_crashes_with_exact_accounting(
    stream_lane: StreamLane, kafka_admin: AdminClient
) -> None:
    spread_over(kafka_admin, stream_lane, PARTITIONS)
    address = f"127.0.0.1:{free_port()}"
    options = ("--processes", "3", "--metrics-address", address)
    environment = {"LOG_LEVEL": "INFO"}
    load = Load(stream_lane, RATE)
    load.start()
    stream: StreamJob | None = None
    try:
        stream = first = start_stream(stream_lane, *options, env=environment)
        wait_for(lambda: health(address)[0] == 200 or first.poll() is not None, 120, "the processes ready")
        assert first.poll() is None, first.communicate()[0][-5000:]
        shares = processes(first.pid)
        assert len(shares) == PARTITIONS, f"processes: {descendants(first.pid)}"
        wait_for(lambda: min(committed_offsets(stream_lane, PARTITIONS)) > 0, 60, "both partitions committed")
        assert metric(address, "holded_stream_records_read_total") > 0  # the processes' counts, at the launcher

        # 1. A process dies: the launcher stops the other, which commits, and fails naming the dead one.
        os.kill(shares[0], signal.SIGKILL)
        output, _ = first.communicate(timeout=120)
        assert first.returncode != 0
        assert f"(pid {shares[0]}) ended with signal SIGKILL: stopping the others" in output
        assert "finished: DONE" in output  # the other process stopped cleanly, its objects committed
        assert "3 processes asked, but" in output  # never more processes than partitions
        assert not any(alive(pid) for pid in shares)
        print(f"\nprocess {shares[0]} killed; committed offsets {committed_offsets(stream_lane, PARTITIONS)}")

        # 2. The launcher dies: its processes die with it.
        stream = second = start_stream(stream_lane, *options, env=environment)
        wait_for(lambda: len(processes(second.pid)) == PARTITIONS, 60, "two processes again")
        shares = processes(second.pid)
        wait_for(lambda: health(address)[0] == 200, 120, "the second run ready")
        second.send_signal(signal.SIGKILL)
        second.communicate(timeout=30)
        wait_for(lambda: not any(alive(pid) for pid in shares), 60, "the processes gone with the launcher")
        time.sleep(2)  # records arrive while nothing reads
    finally:
        load.stop()
        if stream is not None and stream.poll() is None:
            stream.kill()

    # 3. A new run resumes from the committed offsets, drains the topic, and stops cleanly on SIGTERM.
    ends = log_ends(stream_lane, PARTITIONS)
    last = start_stream(stream_lane, *options, env=environment)
    wait_for(
        lambda: committed_offsets(stream_lane, PARTITIONS) == ends or last.poll() is not None, 180, f"commits at {ends}"
    )
    assert last.poll() is None, last.communicate()[0][-5000:]
    last.send_signal(signal.SIGTERM)
    output, _ = last.communicate(timeout=120)
    assert last.returncode == 0, output[-5000:]
    assert "stream finished: DONE (signal SIGTERM)" in output

    assert assert_each_record_once_in_both_sinks(stream_lane, PARTITIONS) == load.sent
    print(f"{load.sent} records over {PARTITIONS} partitions, each exactly once, commits at {ends}")
