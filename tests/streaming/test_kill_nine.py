"""kill -9 the stream at random points under load, ten times: the lake holds every record exactly once.

A producer thread appends valid events to the lane's events topic the whole
time. `manage.py run_stream` is started, killed with SIGKILL a random delay
after it is ready (some kills land while it reads, some while it writes, some
between an object's write and its commit), and started again, ten times;
then a last run drains the topic and stops when idle. Afterwards:

- every offset of the topic is a line of exactly one lake object, and no two
  objects overlap: each object's lines lie between its start offset and the
  next object's;
- PostgreSQL holds each event exactly once.

The seed of the kill points is printed, so a failing run can be replayed.
"""

from __future__ import annotations

import os
import random
import signal
import time
from functools import partial

import pytest

from tests.support.lanes import StreamLane, free_port
from tests.support.load import Load
from tests.support.stream import (
    StreamJob,
    assert_each_record_once_in_both_sinks,
    committed_offset,
    lake_objects,
    ready,
    start_stream,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

KILLS = 10
RATE = 400  # events/s while the job is killed and restarted
# Warnings only: the output of twenty runs is read only when one fails.
QUIET = {"LOG_LEVEL": "WARNING"}


def started(stream: StreamJob, address: str) -> bool:
    """Ready (it has polled Kafka), or ended: no use waiting longer."""
    return ready(address) or stream.poll() is not None


def test_ten_kill_nines_under_load_leave_every_record_exactly_once_in_the_lake(stream_lane: StreamLane) -> None:
    seed = int(os.environ.get("KILL_NINE_SEED") or random.randrange(2**32))
    print(f"\nkill points seeded with KILL_NINE_SEED={seed}")
    chance = random.Random(seed)
    # Objects of up to 200 records: many objects, so the kills fall among them.
    address = f"127.0.0.1:{free_port()}"
    options = ("--object-records", "200", "--metrics-address", address)
    load = Load(stream_lane, RATE)
    load.start()
    kills = []
    try:
        for _ in range(KILLS):
            stream = start_stream(stream_lane, *options, env=QUIET)
            wait_for(partial(started, stream, address), 120, "the job polling Kafka")
            delay = chance.uniform(0.0, 5.0)  # after it started to read and write
            time.sleep(delay)
            assert stream.poll() is None, stream.communicate()[0][-3000:]
            stream.send_signal(signal.SIGKILL)
            stream.communicate(timeout=30)
            assert stream.returncode == -signal.SIGKILL
            kills.append((round(delay, 1), load.sent, committed_offset(stream_lane)))
    finally:
        load.stop()
    print("kills (seconds after ready, records sent, committed offset):", kills)
    assert any(0 < committed < sent for _, sent, committed in kills), "no kill fell in the middle of the stream"

    last = start_stream(stream_lane, *options, "--idle-timeout", "5", env=QUIET)
    output, _ = last.communicate(timeout=300)
    assert last.returncode == 0, output[-3000:]

    assert assert_each_record_once_in_both_sinks(stream_lane, partitions=1) == load.sent
    objects = lake_objects("enriched", stream_lane.events_topic)
    assert committed_offset(stream_lane) == load.sent
    print(f"{load.sent} records, {len(objects)} objects, every record exactly once after {KILLS} kills")
