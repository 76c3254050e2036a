"""POST /collect against the real Kafka and Schema Registry."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from typing import Any

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from django.conf import settings
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from collector.serializers import shaped_package
from collector.services import route
from contract.ids import new_package_id, package_id_of, package_range
from contract.registry import compile_schema
from contract.validation import TimestampWindow
from integrations.clients import s3_client
from tests.support.factories import ACCOUNT_ID, TIMESTAMP, USER_ID, brief_event, messenger_event
from tests.support.kafka import header_map, read_topic, topic_size
from tests.support.lanes import RAW_SCHEMA, Lane

pytestmark = pytest.mark.integration


def post(client: APIClient, body: Any, **extra: Any) -> Any:
    return client.post("/collect", json.dumps(body), content_type="application/json", **extra)


def test_a_mixed_package_lands_each_event_in_its_place(client: APIClient, lane: Lane) -> None:
    valid = [brief_event(), messenger_event(), brief_event(attributes={"type": "invoice.voided"})]
    invalid = [
        brief_event(data={"id": "inv-9", "amount": "lots"}),
        {"data": {"id": "x", "amount": 1}, "attributes": {"type": "t"}},
    ]
    package = [valid[0], invalid[0], valid[1], invalid[1], valid[2]]

    response = post(client, package)

    assert response.status_code == 200, response.content
    body = response.json()
    assert [e["status"] for e in body["events"]] == ["accepted", "rejected", "accepted", "rejected", "accepted"]
    assert (body["accepted"], body["rejected"], body["unconfirmed"]) == (3, 2, 0)
    assert body["schemaId"] == lane.schema_id
    package_id = uuid.UUID(body["packageId"])
    ids = [uuid.UUID(e["correlationId"]) for e in body["events"]]
    assert all(package_id_of(i) == package_id for i in ids)
    assert body["events"][1]["error"] == "data.amount: must be a number, got a string 'lots'"

    # events.raw: the valid ones, in order, keyed and decodable with the registered schema.
    records = read_topic(lane.events_topic, expected=3)
    assert len(records) == 3
    deserialize = AvroDeserializer(SchemaRegistryClient({"url": settings.SCHEMA_REGISTRY_URL}), RAW_SCHEMA)
    for record, index in zip(records, [0, 2, 4], strict=True):
        assert record.key() == str(ids[index]).encode()
        assert dict(record.headers() or []) == {
            "correlationId": str(ids[index]).encode(),
            "packageId": str(package_id).encode(),
        }
        value = record.value()
        assert value is not None
        assert value[0] == 0
        assert int.from_bytes(value[1:5], "big") == lane.schema_id
        decoded = deserialize(value, SerializationContext(lane.events_topic, MessageField.VALUE))
        assert decoded["data"]["id"] == package[index]["data"]["id"]
        assert decoded["attributes"]["newContextStamp"]["accountId"] == ACCOUNT_ID
        assert decoded["attributes"]["newContextStamp"]["userId"] == USER_ID
    assert [r.value() is not None for r in records] == [True] * 3
    first = deserialize(records[0].value(), SerializationContext(lane.events_topic, MessageField.VALUE))
    assert first["attributes"]["amplitudeTrackStamp"] == {"id": 42, "trackedDevice": "ios"}

    # events.dead.letter: the invalid ones, as received, with their error.
    letters = read_topic(lane.dead_letter_topic, expected=2)
    assert len(letters) == 2
    for letter, index in zip(letters, [1, 3], strict=True):
        headers = header_map(letter)
        assert json.loads(letter.value() or b"") == package[index]
        assert letter.key() == str(ids[index]).encode()
        assert headers["error"] == body["events"][index]["error"]
        assert headers["error.stage"] == "collect"
        assert headers["correlationId"] == str(ids[index])
        assert headers["packageId"] == str(package_id)


def test_a_packages_ids_fall_in_its_range(client: APIClient, lane: Lane) -> None:
    body = post(client, [brief_event() for _ in range(10)]).json()

    low, high = package_range(uuid.UUID(body["packageId"]))
    ids = [uuid.UUID(e["correlationId"]) for e in body["events"]]
    assert all(low <= i <= high for i in ids)
    assert ids == sorted(ids)


def test_a_gzip_body_is_accepted(client: APIClient, lane: Lane) -> None:
    body = gzip.compress(json.dumps([brief_event(), brief_event()]).encode())

    response = client.post("/collect", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2
    assert len(read_topic(lane.events_topic, expected=2)) == 2


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        (b"[{not json", "application/json", 400, "parse_error"),
        (b'{"data": {}}', "application/json", 400, "invalid_package"),
        (b"[]", "application/json", 400, "invalid_package"),
        (b"", "application/json", 400, "invalid_package"),
        (b'[{"data": {"id": "x", "amount": NaN}}]', "application/json", 400, "parse_error"),
        (b"\xff\xfe[", "application/json", 400, "parse_error"),
        (b"[{}]", "text/plain", 415, "unsupported_media_type"),
        (b"[{}]", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
def test_request_faults_get_a_clear_4xx_and_produce_nothing(
    client: APIClient, lane: Lane, body: bytes, content_type: str, status: int, error: str
) -> None:
    response = client.post("/collect", body, content_type=content_type)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["detail"]
    assert topic_size(lane.events_topic) == 0
    assert topic_size(lane.dead_letter_topic) == 0


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nests more than 64 levels"),
        (b'[{"data": {"id": "x", "amount": 1e400}}]', "too large for a double"),
        (b'[{"data": {"id": "x", "amount": Infinity}}]', "Infinity is not valid JSON"),
    ],
)
def test_hostile_json_is_a_400_not_a_500(client: APIClient, lane: Lane, body: bytes, detail: str) -> None:
    response = client.post("/collect", body, content_type="application/json")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert detail in response.json()["detail"]
    assert topic_size(lane.events_topic) == 0


def test_hostile_values_are_rejected_per_event_naming_the_field(client: APIClient, lane: Lane) -> None:
    huge = brief_event()
    huge["data"]["amount"] = 10**400
    edge = brief_event(attributes={TIMESTAMP: "0001-01-01T00:00:00+01:00"})
    nul = brief_event(attributes={"type": "invoice\u0000created"})

    body = post(client, [huge, edge, nul, brief_event()]).json()

    assert [e["status"] for e in body["events"]] == ["rejected", "rejected", "rejected", "accepted"]
    assert body["events"][0]["error"].startswith("data.amount: must be a number")
    assert "attributes.timestampStamp: is outside the calendar" in body["events"][1]["error"]
    assert "attributes.type: must not contain the NUL character" in body["events"][2]["error"]
    letters = read_topic(lane.dead_letter_topic, expected=3)
    assert json.loads(letters[0].value() or b"")["data"]["amount"] == 10**400  # as received, digits and all


def test_an_event_past_a_text_limit_is_rejected_naming_the_field_and_kept_whole(client: APIClient, lane: Lane) -> None:
    # The contract's limits (contract/limits.py): a text of a megabyte is refused at the door, not by a sink.
    event = brief_event()
    event["data"]["id"] = "x" * 1_000_000

    body = post(client, [event, brief_event()]).json()

    assert [e["status"] for e in body["events"]] == ["rejected", "accepted"]
    assert body["events"][0]["error"] == "data.id: is 1000000 characters long; at most 255 (maxLength)"
    (letter,) = read_topic(lane.dead_letter_topic, expected=1)
    assert json.loads(letter.value() or b"")["data"]["id"] == "x" * 1_000_000  # the event whole


def test_an_event_past_the_event_size_is_rejected_naming_the_limit(lane: Lane) -> None:
    schema = compile_schema(lane.subject, lane.schema_id, 1, RAW_SCHEMA)
    package_id = new_package_id()

    routed = route(
        shaped_package([brief_event()]),
        package_id=package_id,
        schema=schema,
        window=TimestampWindow(),
        max_record_bytes=settings.KAFKA_MESSAGE_MAX_BYTES,
        max_event_bytes=100,
    )

    assert routed[0].topic == lane.dead_letter_topic
    assert routed[0].error is not None
    assert re.fullmatch(
        r"event: is \d+ bytes once encoded; an event holds at most 100 \(contract/limits.py\)", routed[0].error
    )


def test_a_dead_letter_too_large_once_written_again_keeps_the_event_as_sent(client: APIClient, lane: Lane) -> None:
    # 1e15 is read as a float, written again as 1000000000000000.0: this event's JSON would not fit a record.
    numbers = ",".join(["1e15"] * 200_000)
    event_text = '{"data": [' + numbers + '], "attributes": "oops"}'
    body = ("[" + event_text + "," + json.dumps(brief_event()) + "]").encode()
    assert len(body) < settings.COLLECT_MAX_BODY_BYTES

    response = client.post("/collect", body, content_type="application/json")

    assert response.status_code == 200, response.content[:300]
    assert [e["status"] for e in response.json()["events"]] == ["rejected", "accepted"]
    (letter,) = read_topic(lane.dead_letter_topic, expected=1)
    assert letter.value() == event_text.encode()  # exactly as sent


def test_an_unknown_content_encoding_is_415(client: APIClient, lane: Lane) -> None:
    response = client.post("/collect", b"[{}]", content_type="application/json", HTTP_CONTENT_ENCODING="br")

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_content_encoding"


def test_a_body_over_the_limit_is_413(client: APIClient, lane: Lane, settings: SettingsWrapper) -> None:
    settings.COLLECT_MAX_BODY_BYTES = 2000
    events = [brief_event() for _ in range(10)]

    response = post(client, events)

    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert topic_size(lane.events_topic) == 0


def test_a_gzip_bomb_is_413(client: APIClient, lane: Lane, settings: SettingsWrapper) -> None:
    settings.COLLECT_MAX_BODY_BYTES = 100_000
    bomb = gzip.compress(b"[" + b" " * 10_000_000 + b"]")
    assert len(bomb) < 100_000

    response = client.post("/collect", bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413


def test_a_body_that_is_not_gzip_is_400(client: APIClient, lane: Lane) -> None:
    response = client.post("/collect", b"[{}]", content_type="application/json", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 400
    assert "not" in response.json()["detail"]


def test_too_many_events_is_413(client: APIClient, lane: Lane, settings: SettingsWrapper) -> None:
    settings.COLLECT_MAX_EVENTS = 3

    response = post(client, [brief_event() for _ in range(4)])

    assert response.status_code == 413
    assert "at most 3 events" in response.json()["detail"]
    assert topic_size(lane.events_topic) == 0


def test_too_many_requests_is_429_with_retry_after(client: APIClient, lane: Lane, settings: SettingsWrapper) -> None:
    from django.core.cache import cache

    cache.clear()
    settings.COLLECT_THROTTLE_RATE = "2/minute"

    statuses = [post(client, [brief_event()]).status_code for _ in range(2)]
    third = post(client, [brief_event()])

    assert statuses == [200, 200]
    assert third.status_code == 429
    assert int(third["Retry-After"]) > 0
    assert third.json()["error"] == "throttled"
    assert topic_size(lane.events_topic) == 2
    cache.clear()


def test_no_schema_registry_is_503_and_nothing_produced(
    client: APIClient, lane: Lane, settings: SettingsWrapper
) -> None:
    from collector.schema import latest_schemas
    from integrations.clients import registry_client

    settings.SCHEMA_REGISTRY_URL = "http://127.0.0.1:9/apis/ccompat/v7"  # nothing listens on port 9
    registry_client.discard()
    latest_schemas.discard()
    try:
        response = post(client, [brief_event()])
    finally:
        registry_client.discard()
        latest_schemas.discard()

    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.COLLECT_RETRY_AFTER_SECONDS)
    assert response.json()["error"] == "schema_registry_unavailable"
    assert topic_size(lane.events_topic) == 0


def test_a_newly_registered_compatible_version_is_used_without_a_restart(
    client: APIClient, lane: Lane, registry: SchemaRegistryClient, settings: SettingsWrapper
) -> None:
    from collector.schema import latest_schemas

    settings.SCHEMA_REGISTRY_CACHE_SECONDS = 0.0
    latest_schemas.discard()
    assert post(client, [brief_event()]).json()["schemaId"] == lane.schema_id

    version_2 = json.loads(RAW_SCHEMA)
    version_2["fields"][0]["type"]["fields"].append({"name": "currency", "type": ["null", "string"], "default": None})
    new_id = registry.register_schema(lane.subject, Schema(json.dumps(version_2), "AVRO"))
    assert new_id != lane.schema_id

    event = brief_event(data={"id": "inv-3", "amount": 3.5, "currency": "EUR"})
    body = post(client, [event, brief_event(data={"id": "inv-4", "amount": 1, "currency": 5})]).json()

    assert body["schemaId"] == new_id
    assert [e["status"] for e in body["events"]] == ["accepted", "rejected"]
    assert body["events"][1]["error"] == "data.currency: must be a string, got a number 5"
    records = read_topic(lane.events_topic, expected=2)
    assert int.from_bytes((records[1].value() or b"")[1:5], "big") == new_id
    decode = AvroDeserializer(SchemaRegistryClient({"url": settings.SCHEMA_REGISTRY_URL}))
    decoded = decode(records[1].value(), SerializationContext(lane.events_topic, MessageField.VALUE))
    assert decoded["data"]["currency"] == "EUR"


def test_ready_when_every_service_answers(client: APIClient, services_up: None) -> None:
    response = client.get("/health/ready")

    assert response.status_code == 200, response.content
    assert set(response.json()["checks"]) == {"kafka", "schemaRegistry"}


def test_the_collector_needs_no_s3_store(client: APIClient, lane: Lane, settings: SettingsWrapper) -> None:
    """The stream archives the dead letters (contract section 4): with no store at all, the
    collector is ready, and an invalid event is still a dead letter in Kafka."""
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there
    s3_client.discard()
    try:
        ready = client.get("/health/ready")
        response = post(client, [brief_event(), brief_event(data={"id": "inv-9", "amount": "lots"})])
    finally:
        s3_client.discard()

    assert ready.status_code == 200, ready.content
    assert response.status_code == 200, response.content
    assert [e["status"] for e in response.json()["events"]] == ["accepted", "rejected"]
    assert len(read_topic(lane.dead_letter_topic, expected=1)) == 1


def test_alive(client: APIClient) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}


def test_the_openapi_description_documents_collect(client: APIClient) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    operation = schema["paths"]["/collect"]["post"]
    assert set(operation["responses"]) == {"200", "400", "401", "413", "415", "429", "503"}


def test_the_browsable_api_shows_collect(client: APIClient) -> None:
    response = client.get("/collect", HTTP_ACCEPT="text/html")

    assert response.status_code == 405  # POST only, but documented in the page
    assert b"Take a package of events" in response.content
