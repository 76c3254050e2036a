"""Property: whatever is written to events.raw, the stream goes on and every offset ends in one place.

Hypothesis writes straight to the topic, as any producer could: arbitrary
bytes, payloads behind a valid header, events valid for the schema but
hostile to everything after it (calendar edges, control characters, NUL,
non-finite and huge numbers, very long strings, bad ids), records of a
foreign schema, and records of an older and a newer version of the contract.
Then the real job runs until idle, and each offset must be either enriched
(a row in PostgreSQL and an object in the bucket) or a dead letter naming
that offset, never both, never neither.
"""

from __future__ import annotations

import io
import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import fastavro
import pytest
from confluent_kafka import KafkaError, Message, Producer
from confluent_kafka.schema_registry import Schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract import wire
from contract.registry import remove_subject
from integrations.clients import kafka_config, registry_client
from tests.support.kafka import header_map, read_all
from tests.support.lanes import RAW_SCHEMA, StreamLane
from tests.support.stream import lake_lines, rows_for, run_in_process

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

RAW = json.loads(RAW_SCHEMA)
FOREIGN = {
    "type": "record",
    "name": "Invoice",
    "fields": [{"name": "n", "type": "long"}, {"name": "s", "type": "string"}],
}

# Anything a JSON string can hold, NUL and other control characters included (surrogates cannot be UTF-8).
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
# Tens of kilobytes: a drawn chunk repeated (Hypothesis draws at most a few thousand characters itself).
LONG_TEXT = st.builds(lambda chunk, times: (chunk or "x") * times, ANY_TEXT, st.integers(1_000, 3_000))
TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",  # outside the calendar once in UTC
            "9999-12-31T23:59:59-01:00",
            "1999-12-31T23:59:59+00:00",  # before the window
            "2999-01-01T00:00:00+00:00",  # after it
            "2024-03-05T10:12:35+00:00",
            "2024-02-29T23:59:59.999999-12:00",
            "2024-03-05T10:12:35",  # no offset
        ]
    ),
    ANY_TEXT,
)
UUIDS = st.one_of(st.uuids().map(str), ANY_TEXT)
# Drawn as a marker, made a fresh uuid4 when written: two records never share a correlationId or a
# messageIdStamp by chance (PostgreSQL rightly keeps one row for a resent message).
FRESH = "fresh-uuid"
AMOUNTS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1.7976931348623157e308, -0.0]))


def newer_schema() -> dict[str, Any]:
    """The contract plus an optional attribute: a compatible newer version."""
    schema: dict[str, Any] = json.loads(RAW_SCHEMA)
    attributes = schema["fields"][1]["type"]
    attributes["fields"].append({"name": "note", "type": ["null", "string"], "default": None})
    return schema


HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "timestampStamp": TIMESTAMPS,
    "messageIdStamp": ANY_TEXT,
    "type": st.one_of(ANY_TEXT, LONG_TEXT),
    "targetSubscription": ANY_TEXT,
    "accountId": UUIDS,
    "userId": UUIDS,
    "requestPlatform": st.one_of(ANY_TEXT, LONG_TEXT),
    "amplitudeTrackStamp": st.fixed_dictionaries(
        {"id": st.integers(-(2**63), 2**63 - 1), "trackedDevice": st.one_of(st.none(), ANY_TEXT)}
    ),
    "id": st.one_of(ANY_TEXT, LONG_TEXT),
    "amount": AMOUNTS,
}


@st.composite
def contract_events(draw: st.DrawFn, newer: bool) -> dict[str, Any]:
    """Events the Avro schema accepts: a valid one, with up to three values made hostile."""
    context = {"accountId": str(uuid.uuid4()), "userId": str(uuid.uuid4()), "requestPlatform": None}
    attributes: dict[str, Any] = {
        "timestampStamp": "2024-03-05T10:12:35+00:00",
        "messageIdStamp": FRESH,
        "type": "invoice.created",
        "targetSubscription": "accounting",
        "newContextStamp": context,
        "amplitudeTrackStamp": None,
    }
    data: dict[str, Any] = {"id": "inv-1", "amount": draw(st.floats(-1e12, 1e12))}
    for name in draw(st.lists(st.sampled_from(sorted(HOSTILE)), max_size=3, unique=True)):
        value = draw(HOSTILE[name])
        target = data if name in data else context if name in context else attributes
        target[name] = value
    if newer:
        attributes["note"] = draw(st.one_of(st.none(), ANY_TEXT))
    return {"data": data, "attributes": attributes}


Record = tuple[str, Any, Any]  # kind, key (FRESH, None or bytes), payload (bytes or an event)


@st.composite
def records(draw: st.DrawFn) -> Record:
    """(kind, key, payload) of one record for events.raw; `write` encodes it."""
    # Mostly a good key, so that what follows the key is tried too.
    key = FRESH if draw(st.integers(0, 9)) < 8 else draw(st.one_of(st.none(), st.binary(max_size=40)))
    kind = draw(st.sampled_from(["bytes", "garbage", "older", "newer", "foreign"]))
    if kind in ("bytes", "garbage"):  # garbage: arbitrary bytes behind a valid header
        return kind, key, draw(st.binary(max_size=200))
    if kind == "foreign":
        return kind, key, {"n": draw(st.integers(-(2**63), 2**63 - 1)), "s": draw(ANY_TEXT)}
    return kind, key, draw(contract_events(newer=kind == "newer"))


def avro(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def encode(kind: str, payload: Any, ids: dict[str, int]) -> bytes:
    if kind == "bytes":
        return bytes(payload)
    if kind == "garbage":
        return wire_header(ids["older"]) + bytes(payload)
    if kind == "foreign":
        return wire_header(ids["foreign"]) + avro(FOREIGN, payload)
    event = json.loads(json.dumps(payload))  # a copy, to fill in the fresh ids
    if event["attributes"]["messageIdStamp"] == FRESH:
        event["attributes"]["messageIdStamp"] = str(uuid.uuid4())
    return wire_header(ids[kind]) + avro(newer_schema() if kind == "newer" else RAW, event)


@pytest.fixture
def schema_ids(stream_lane: StreamLane) -> Iterator[dict[str, int]]:
    """The lane's contract as version 1 (older) and 2 (newer, the latest), and a foreign schema."""
    registry = registry_client()
    foreign_subject = f"{stream_lane.events_topic}-foreign-value"
    ids = {
        "older": stream_lane.schema_id,
        "newer": registry.register_schema(stream_lane.subject, Schema(json.dumps(newer_schema()), "AVRO")),
        "foreign": registry.register_schema(foreign_subject, Schema(json.dumps(FOREIGN), "AVRO")),
    }
    yield ids
    remove_subject(registry, foreign_subject)


def write(lane: StreamLane, ids: dict[str, int], batch: list[Record]) -> dict[int, tuple[str, bytes | None, bytes]]:
    """Produce the batch; each offset -> (kind, key, value) as written."""
    producer = Producer(kafka_config().producer("hostile-records"))
    offsets: dict[int, tuple[str, bytes | None, bytes]] = {}

    def delivered(item: tuple[str, bytes | None, bytes]) -> Any:
        def callback(error: KafkaError | None, message: Message) -> None:
            assert error is None, error
            offsets[int(message.offset() or 0)] = item

        return callback

    for kind, key_spec, payload in batch:
        key = str(uuid.uuid4()).encode() if key_spec == FRESH else key_spec
        value = encode(kind, payload, ids)
        producer.produce(lane.events_topic, key=key, value=value, on_delivery=delivered((kind, key, value)))
    assert producer.flush(30) == 0
    return offsets


def wire_header(schema_id: int) -> bytes:
    return bytes([wire.MAGIC_BYTE]) + schema_id.to_bytes(4, "big")


def enriched_id(key: bytes | None, value: bytes, ids: dict[str, int]) -> str | None:
    """The correlationId the record would be enriched under, if it could be decoded at all."""
    try:
        correlation_id = str(uuid.UUID((key or b"").decode()))
        schema = {ids["older"]: RAW, ids["newer"]: newer_schema()}[wire.schema_id_of(value)]
        fastavro.schemaless_reader(io.BytesIO(value[5:]), fastavro.parse_schema(schema), None)
        return correlation_id
    except Exception:
        return None


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(records(), min_size=30, max_size=60))
def test_every_offset_ends_in_exactly_one_place_and_the_job_goes_on(
    stream_lane: StreamLane, schema_ids: dict[str, int], batch: list[Record]
) -> None:
    offsets = write(stream_lane, schema_ids, batch)

    assert run_in_process(idle_seconds=3) == "DONE"  # the job was never stopped by a record

    letters = [header_map(letter) for letter in read_all(stream_lane.dead_letter_topic)]
    mine = [h for h in letters if int(h["source.offset"]) in offsets]
    dead = {int(h["source.offset"]): h for h in mine}
    assert len(dead) == len(mine), "an offset was dead-lettered twice"
    in_lake = {line["metadata"]["correlationId"] for line in lake_lines("enriched", stream_lane.events_topic)}
    archived = {line["source"]["offset"] for line in lake_lines("dead-letter", stream_lane.dead_letter_topic)}
    assert set(dead) <= archived, "a dead letter is not in the lake"
    for offset, (kind, key, value) in sorted(offsets.items()):
        correlation_id = enriched_id(key, value, schema_ids)
        enriched = False
        if correlation_id is not None:
            in_postgres = bool(rows_for([correlation_id]))
            assert in_postgres == (correlation_id in in_lake), f"offset {offset} ({kind}) is in only one sink"
            enriched = in_postgres
        assert enriched != (offset in dead), (
            f"offset {offset} ({kind}): enriched {enriched}, dead letter {dead.get(offset)}"
        )
        if offset in dead:
            assert dead[offset]["error"], f"offset {offset}: a dead letter without its error"
    enriched_count = len(offsets) - len(dead)
    print(f"\n{len(offsets)} hostile records: {enriched_count} enriched, {len(dead)} dead letters")


# --- The limits of the contract, at and just past each, against the real sinks -------------------------------

# Code points of each width in UTF-8 (1 to 4 bytes), without NUL and surrogates: random texts of them do not
# compress, so an index entry is as large as its text.
WIDTHS = [(0x01, 0x7F), (0x80, 0x7FF), (0xE000, 0xFFFD), (0x10000, 0x10FFFF)]


def random_text(rng: random.Random, length: int) -> str:
    return "".join(chr(rng.randint(*rng.choice(WIDTHS))) for _ in range(length))


FREE_TEXTS = {  # the texts whose content is free, with where they sit in the event
    "data.id": ("data", "id"),
    "attributes.type": ("attributes", "type"),
    "attributes.targetSubscription": ("attributes", "targetSubscription"),
    "attributes.newContextStamp.requestPlatform": ("newContextStamp", "requestPlatform"),
    "attributes.amplitudeTrackStamp.trackedDevice": ("amplitudeTrackStamp", "trackedDevice"),
}
EXTREME_AMOUNTS = st.sampled_from([1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -0.0, 0.1, 1e15])


def max_length(path: str) -> int:
    """The maxLength the contract states for the text at `path` (schemas/events.raw-value.avsc)."""
    schema: Any = RAW
    for name in path.split("."):
        fields = schema["fields"] if isinstance(schema, dict) else next(b for b in schema if b != "null")["fields"]
        schema = next(field["type"] for field in fields if field["name"] == name)
        if isinstance(schema, list):
            schema = next(branch for branch in schema if branch != "null")
    return int(schema["maxLength"])


@st.composite
def events_at_the_limits(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """An event whose free texts are each as long as the contract allows, one of them perhaps a character past;
    extreme numbers. And whether it is within every limit."""
    context = {"accountId": str(uuid.uuid4()), "userId": str(uuid.uuid4()), "requestPlatform": None}
    amplitude = {"id": draw(st.sampled_from([0, 2**63 - 1])), "trackedDevice": None}
    attributes: dict[str, Any] = {
        "timestampStamp": "2024-03-05T10:12:35+00:00",
        "messageIdStamp": FRESH,
        "newContextStamp": context,
        "amplitudeTrackStamp": amplitude,
    }
    data: dict[str, Any] = {"amount": draw(EXTREME_AMOUNTS)}
    places = {"data": data, "attributes": attributes, "newContextStamp": context, "amplitudeTrackStamp": amplitude}
    past = draw(st.sampled_from([None, *FREE_TEXTS]))
    rng = random.Random(draw(st.integers(0, 2**32)))  # the texts from a seed: a small example to shrink
    for path, (place, name) in FREE_TEXTS.items():
        places[place][name] = random_text(rng, max_length(path) + (1 if path == past else 0))
    return {"data": data, "attributes": attributes}, past is None


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batch=st.lists(events_at_the_limits(), min_size=20, max_size=40))
def test_events_at_every_limit_land_in_both_sinks_and_past_one_are_refused_naming_it(
    stream_lane: StreamLane, schema_ids: dict[str, int], batch: list[tuple[dict[str, Any], bool]]
) -> None:
    offsets = write(stream_lane, schema_ids, [("older", FRESH, event) for event, _ in batch])
    within = {offset: batch[index][1] for index, offset in enumerate(sorted(offsets))}

    assert run_in_process(idle_seconds=3) == "DONE"

    dead = {
        int(header_map(letter)["source.offset"]): header_map(letter)
        for letter in read_all(stream_lane.dead_letter_topic)
    }
    lake = {line["metadata"]["correlationId"] for line in lake_lines("enriched", stream_lane.events_topic)}
    for offset, (_, key, _) in sorted(offsets.items()):
        correlation_id = (key or b"").decode()
        if within[offset]:
            assert offset not in dead, f"offset {offset}, within every limit, was refused: {dead.get(offset)}"
            assert rows_for([correlation_id]), f"offset {offset}: no row"
            assert correlation_id in lake, f"offset {offset}: no line in the lake"
        else:
            assert "characters long; at most" in dead[offset]["error"], dead[offset]["error"]
            assert not rows_for([correlation_id])
            assert correlation_id not in lake
