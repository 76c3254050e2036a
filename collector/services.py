"""Collecting one package: the work behind POST /collect, in three named steps.

1. `route`: each event, in order, is normalized, validated against the schema
   registered for events.raw (plus the sink's rules) and encoded in Confluent's
   wire format, or, if invalid, becomes a dead letter (the event as received,
   with the error). Pure: nothing leaves the process.
2. `produce`: every record goes to Kafka (events.raw or events.dead.letter),
   keyed by its correlationId, and the step waits until Kafka has acknowledged
   every one, or the delivery timeout has passed.
3. `answer`: per event, what became of it (accepted, rejected or
   unconfirmed), counted in the metrics and logged with the package id.

The collector depends on Kafka and the registry only: the stream archives
events.dead.letter to the S3 store (contract section 4).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from django.conf import settings

from collector import kafka
from collector.metrics import COLLECT_ACK_SECONDS, count_events, count_rejection
from collector.parsers import element_texts
from collector.schema import events_schema, timestamp_window
from contract import wire
from contract.dead_letter import DeadLetter, DeadLetterTooLarge, Headers
from contract.ids import event_id, new_package_id
from contract.limits import EVENT_MAX_BYTES
from contract.normalize import normalize_shaped
from contract.registry import RegisteredSchema
from contract.validation import FieldError, InvalidEvent, TimestampWindow, validate_event
from integrations.clients import topic
from integrations.producing import Deliveries

logger = logging.getLogger(__name__)

Status = Literal["accepted", "rejected", "unconfirmed"]
STATUSES: tuple[Status, ...] = ("accepted", "rejected", "unconfirmed")


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
    counts: dict[Status, int] = field(init=False)

    def __post_init__(self) -> None:
        counts = dict.fromkeys(STATUSES, 0)
        for outcome in self.events:
            counts[outcome.status] += 1
        object.__setattr__(self, "counts", counts)  # frozen: set once, here

    @property
    def confirmed(self) -> bool:
        return self.counts["unconfirmed"] == 0

    def count(self, status: Status) -> int:
        return self.counts[status]


@dataclass(frozen=True)
class Shaped:
    """One event of the package as received, and what is wrong with its shape (nothing, mostly): what the
    package's serializer gives (collector/serializers.py), and what collect_package takes."""

    event: Any
    errors: list[FieldError]


@dataclass(frozen=True)
class Routed:
    """One event of the package, ready to produce: to events.raw, or as a dead letter."""

    index: int
    correlation_id: uuid.UUID
    key: bytes  # the correlationId's text: the record's key and its correlationId header
    topic: str
    value: bytes
    headers: Headers
    letter: DeadLetter | None = None  # set for an invalid event
    rejected_field: str | None = None  # the first field its error names

    @property
    def error(self) -> str | None:
        return None if self.letter is None else self.letter.error


def collect_package(*, events: list[Shaped], body: bytes | None = None) -> CollectResult:
    """Collect the package `events` (its serializer's output), parsed from `body` (kept for dead letters too
    large to write again)."""
    schema = events_schema()  # SchemaUnavailable: nothing produced
    package_id = new_package_id()
    routed = route(
        events,
        package_id=package_id,
        schema=schema,
        window=timestamp_window(),
        max_record_bytes=settings.KAFKA_MESSAGE_MAX_BYTES,
        body=body,
    )
    deliveries = produce(routed)
    return answer(routed, deliveries, package_id=package_id, schema_id=schema.schema_id)


def route(
    events: list[Shaped],
    *,
    package_id: uuid.UUID,
    schema: RegisteredSchema,
    window: TimestampWindow,
    max_record_bytes: int,
    max_event_bytes: int = EVENT_MAX_BYTES,
    body: bytes | None = None,
) -> list[Routed]:
    """Every event of the package as the record it becomes, in order.

    An invalid event's dead letter holds it as received, written again as
    JSON; should that not fit a Kafka record, it holds the event's own text
    from `body`, which always fits (collector/checks.py).
    """
    events_topic, dead_letter_topic = topic("events"), topic("dead_letter")
    package_header = str(package_id).encode()
    routed = []
    texts: list[bytes] | None = None
    for index, shaped in enumerate(events):
        raw = shaped.event
        correlation_id = event_id(package_id, index)
        key = str(correlation_id).encode()
        headers: Headers = [("correlationId", key), ("packageId", package_header)]
        try:
            if shaped.errors:
                raise InvalidEvent(shaped.errors)
            event = normalize_shaped(raw)
            validate_event(event, schema.definition, window=window)
            value = wire.encode(schema.schema_id, schema.parsed, event)
            size = len(value) - wire.HEADER_BYTES
            if size > max_event_bytes:
                limit = f"an event holds at most {max_event_bytes} (contract/limits.py)"
                raise InvalidEvent([FieldError("event", f"is {size} bytes once encoded; {limit}")])
        except (InvalidEvent, ValueError, TypeError, OverflowError) as invalid:
            # ValueError/TypeError/OverflowError: what fastavro refuses that validation let through.
            letter = DeadLetter(
                event=raw, error=str(invalid), stage="collect", correlation_id=correlation_id, package_id=package_id
            )
            field = invalid.errors[0].field if isinstance(invalid, InvalidEvent) else "encoding"
            try:
                value, headers = letter.record(max_record_bytes)
            except DeadLetterTooLarge:
                if body is None:
                    raise
                texts = element_texts(body) if texts is None else texts
                letter = replace(letter, raw_value=texts[index])
                value, headers = letter.record(max_record_bytes)
            routed.append(Routed(index, correlation_id, key, dead_letter_topic, value, headers, letter, field))
        else:
            routed.append(Routed(index, correlation_id, key, events_topic, value, headers))
    return routed


def produce(routed: list[Routed]) -> Deliveries:
    """Queue every record, then wait for Kafka's acknowledgements (at most the delivery timeout)."""
    producer = kafka.get_producer()
    deliveries = Deliveries(expected=len(routed))
    timeout = settings.KAFKA_DELIVERY_TIMEOUT_SECONDS
    started = time.monotonic()
    deadline = started + timeout
    for record in routed:
        producer.send(
            deliveries, record.index, record.topic, key=record.key, value=record.value, headers=record.headers
        )
    # A little past librdkafka's own message timeout, so every record is settled.
    deliveries.wait(max(deadline - time.monotonic(), 0) + 1.0)
    COLLECT_ACK_SECONDS.observe(time.monotonic() - started)
    return deliveries


def answer(routed: list[Routed], deliveries: Deliveries, *, package_id: uuid.UUID, schema_id: int) -> CollectResult:
    """What became of each event, counted and logged."""
    outcomes = []
    for record in routed:
        if record.index in deliveries.confirmed:
            status: Status = "rejected" if record.letter is not None else "accepted"
            outcomes.append(EventOutcome(record.index, record.correlation_id, status, record.error))
        else:
            kafka_error = deliveries.errors.get(record.index, "no acknowledgement in time")
            outcomes.append(EventOutcome(record.index, record.correlation_id, "unconfirmed", record.error, kafka_error))
    result = CollectResult(package_id, schema_id, outcomes)
    count_events(result.counts)
    for record in routed:
        if record.rejected_field is not None:
            count_rejection(record.rejected_field)
    logger.info(
        "package %s: %s accepted, %s rejected, %s unconfirmed (schema id %s)",
        package_id,
        result.count("accepted"),
        result.count("rejected"),
        result.count("unconfirmed"),
        schema_id,
    )
    return result
