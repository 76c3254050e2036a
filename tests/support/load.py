"""A steady load on a lane's events topic, for tests that crash the stream while it works."""

from __future__ import annotations

import json
import threading
import time

import fastavro
from confluent_kafka import Producer

from contract import wire
from contract.ids import event_id, new_package_id
from integrations.clients import kafka_config
from tests.support.factories import canonical_event
from tests.support.lanes import RAW_SCHEMA, StreamLane

PARSED = fastavro.parse_schema(json.loads(RAW_SCHEMA))


class Load(threading.Thread):
    """Valid events appended to the lane's events topic at `rate` a second until stopped, each keyed by a new
    correlationId (so, with several partitions, spread over all of them)."""

    def __init__(self, lane: StreamLane, rate: int) -> None:
        super().__init__(daemon=True)
        self._lane = lane
        self._rate = rate
        self._halt = threading.Event()
        self.sent = 0

    def run(self) -> None:
        producer = Producer(kafka_config().producer("stream-test-load"))
        started = time.monotonic()
        while not self._halt.is_set():
            due = int((time.monotonic() - started) * self._rate) - self.sent
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
