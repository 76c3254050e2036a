"""Collecting one package: the work behind POST /collect.

For each event, in order: normalize its spellings, validate it against the
schema registered for events.raw (plus the sink's rules), and produce it,
keyed by its correlationId, to events.raw in Confluent's wire format; or, if
invalid, produce it as received to events.dead.letter with the error. Then
wait until Kafka has acknowledged every record, and copy the dead letters to
the S3 store. The result says, per event, what became of it.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings

from collector import dead_letter, kafka
from collector.ids import event_id, new_package_id
from collector.normalize import normalize_event
from collector.validation import InvalidEvent, validate_event
from holded import wire
from holded.metrics import COLLECT_ACK_SECONDS, COLLECT_EVENTS, COLLECT_REJECTIONS
from holded.registry import latest_schemas

logger = logging.getLogger(__name__)

Status = Literal["accepted", "rejected", "unconfirmed"]


def events_subject() -> str:
    # TopicNameStrategy: the value schema of topic T is registered as "T-value".
    return f"{kafka.topic('events')}-value"


@dataclass(frozen=True)
class EventOutcome:
    index: int
    correlation_id: uuid.UUID
    # accepted: on events.raw, acknowledged. rejected: invalid, on the dead
    # letter topic, acknowledged. unconfirmed: Kafka did not acknowledge it.
    status: Status
    error: str | None = None
    kafka_error: str | None = None


@dataclass(frozen=True)
class CollectResult:
    package_id: uuid.UUID
    schema_id: int
    events: list[EventOutcome]

    @property
    def confirmed(self) -> bool:
        return all(outcome.status != "unconfirmed" for outcome in self.events)

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.events if outcome.status == status)


def collect_package(*, events: list[Any]) -> CollectResult:
    schema = latest_schemas().get(events_subject())  # SchemaUnavailable: nothing produced
    producer = kafka.get_producer()
    package_id = new_package_id()
    deliveries = kafka.Deliveries(expected=len(events))
    timeout = settings.KAFKA_DELIVERY_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    errors: dict[int, str] = {}
    rejected_fields: list[str] = []
    letters: list[dead_letter.DeadLetter] = []
    correlation_ids = [event_id(package_id, index) for index in range(len(events))]
    package_header = str(package_id).encode()

    headers: kafka.Headers
    for index, raw in enumerate(events):
        correlation_id = correlation_ids[index]
        key = str(correlation_id).encode()
        try:
            event = normalize_event(raw)
            validate_event(event, schema.definition)
            value = wire.encode(schema.schema_id, schema.parsed, event)
        except (InvalidEvent, ValueError, TypeError) as invalid:
            # ValueError/TypeError: what fastavro refuses that validation let through.
            errors[index] = str(invalid)
            rejected_fields.append(invalid.errors[0].field if isinstance(invalid, InvalidEvent) else "encoding")
            letter = dead_letter.DeadLetter(
                event=raw, error=str(invalid), stage="collect", correlation_id=correlation_id, package_id=package_id
            )
            letters.append(letter)
            topic_name, value, headers = kafka.topic("dead_letter"), letter.value(), letter.headers()
        else:
            topic_name = kafka.topic("events")
            headers = [("correlationId", key), ("packageId", package_header)]
        refused = kafka.produce(
            producer,
            topic_name=topic_name,
            key=key,
            value=value,
            headers=headers,
            on_delivery=deliveries.callback(index),
            deadline=deadline,
        )
        if refused is not None:
            deliveries.settle(index, refused)

    # A little past librdkafka's own message timeout, so every record is settled.
    deliveries.wait(max(deadline - time.monotonic(), 0) + 1.0)
    COLLECT_ACK_SECONDS.observe(time.monotonic() - (deadline - timeout))
    dead_letter.archive(letters, timeout=timeout)

    outcomes = []
    for index, correlation_id in enumerate(correlation_ids):
        error = errors.get(index)
        if index in deliveries.confirmed:
            status: Status = "rejected" if error is not None else "accepted"
            outcomes.append(EventOutcome(index, correlation_id, status, error))
        else:
            kafka_error = deliveries.errors.get(index, "no acknowledgement in time")
            outcomes.append(EventOutcome(index, correlation_id, "unconfirmed", error, kafka_error))
    result = CollectResult(package_id, schema.schema_id, outcomes)
    for status in ("accepted", "rejected", "unconfirmed"):
        COLLECT_EVENTS.labels(status).inc(result.count(status))
    for field in rejected_fields:
        COLLECT_REJECTIONS.labels(field).inc()
    logger.info(
        "package %s: %s accepted, %s rejected, %s unconfirmed (schema id %s)",
        package_id,
        result.count("accepted"),
        result.count("rejected"),
        result.count("unconfirmed"),
        schema.schema_id,
    )
    return result
