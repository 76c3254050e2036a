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

import json
import os
import random
import signal
import threading
import time
from functools import partial

import fastavro
import pytest
from confluent_kafka import Producer

from contract import lake, wire
from contract.ids import event_id, new_package_id
from integrations.clients import kafka_config
from tests.support.factories import canonical_event
from tests.support.kafka import read_all
from tests.support.lanes import RAW_SCHEMA, StreamLane, free_port
from tests.support.stream import StreamJob, committed_offset, lake_objects, ready, rows_for, start_stream, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

KILLS = 10
RATE = 400  # events/s while the job is killed and restarted
PARSED = fastavro.parse_schema(json.loads(RAW_SCHEMA))
# Warnings only: the output of twenty runs is read only when one fails.
QUIET = {"LOG_LEVEL": "WARNING"}


class Load(threading.Thread):
    """Valid events appended to the topic at RATE until stopped, each keyed by a new correlationId."""

    def __init__(self, lane: StreamLane) -> None:
        super().__init__(daemon=True)
        self._lane = lane
        self._halt = threading.Event()
        self.sent = 0

    def run(self) -> None:
        producer = Producer(kafka_config().producer("kill-nine-load"))
        started = time.monotonic()
        while not self._halt.is_set():
            due = int((time.monotonic() - started) * RATE) - self.sent
            for _ in range(max(0, due)):
                key = str(event_id(new_package_id(), 0)).encode()
                value = wire.encode(self._lane.schema_id, PARSED, canonical_event())
                producer.produce(self._lane.events_topic, key=key, value=value)
                self.sent += 1
            producer.poll(0)
            time.sleep(0.01)
        assert producer.flush(30) == 0

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=60)


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
    load = Load(stream_lane)
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

    records = read_all(stream_lane.events_topic)
    assert len(records) == load.sent
    offset_of = {(record.key() or b"").decode(): int(record.offset() or 0) for record in records}
    objects = lake_objects("enriched", stream_lane.events_topic)
    starts = [(lake.parse_key(key) or ("", 0, 0))[2] for key in objects]
    lines_at = []
    for (key, lines), start, following in zip(objects.items(), starts, [*starts[1:], 2**63], strict=True):
        offsets = [offset_of[line["metadata"]["correlationId"]] for line in lines]
        assert offsets == sorted(offsets), f"{key}: lines out of offset order"
        assert start <= offsets[0], f"{key} holds a record before its start"
        assert offsets[-1] < following, f"{key} overlaps the next object"
        lines_at += offsets
    assert sorted(lines_at) == list(range(load.sent)), "a record is missing from the lake, or in it twice"
    assert len(rows_for(list(offset_of))) == load.sent  # and once each in PostgreSQL
    assert committed_offset(stream_lane) == load.sent
    print(f"{load.sent} records, {len(objects)} objects, every record exactly once after {KILLS} kills")
