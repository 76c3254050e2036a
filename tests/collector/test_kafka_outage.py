"""Kafka stopped under the collector: 503, and no event reported accepted that is not in the topic."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from tests.support.factories import brief_event
from tests.support.kafka import read_topic
from tests.support.lanes import Lane
from tests.support.scripts import run_script

pytestmark = pytest.mark.integration


@pytest.fixture
def kafka_restarted_after() -> Iterator[None]:
    yield
    result = run_script("services.sh", "up")
    assert result.returncode == 0, result.stderr


def test_kafka_down_gives_503_and_every_accepted_event_is_in_the_topic(
    client: APIClient,
    settings: SettingsWrapper,
    fresh_producer: None,
    lane: Lane,
    kafka_restarted_after: None,
) -> None:
    settings.KAFKA_DELIVERY_TIMEOUT_SECONDS = 3.0
    package = [brief_event(), {"not": "valid"}, brief_event()]
    before = client.post("/collect", json.dumps(package), content_type="application/json")
    assert before.status_code == 200

    stopped = run_script("services.sh", "stop", "kafka")
    assert stopped.returncode == 0, stopped.stderr
    during = client.post("/collect", json.dumps(package), content_type="application/json")

    assert during.status_code == 503
    assert during["Retry-After"] == str(settings.COLLECT_RETRY_AFTER_SECONDS)
    body = during.json()
    assert body["error"] == "kafka_unavailable"
    assert body["unconfirmed"] == 3
    assert [e["status"] for e in body["events"]] == ["unconfirmed"] * 3
    assert all(e["kafkaError"] for e in body["events"])
    assert body["events"][1]["error"].startswith("data: is required")  # it would have been a dead letter

    assert run_script("services.sh", "up").returncode == 0
    after = client.post("/collect", json.dumps(package), content_type="application/json")
    assert after.status_code == 200, after.content

    accepted = {
        e["correlationId"]
        for response in (before, during, after)
        for e in response.json()["events"]
        if e["status"] == "accepted"
    }
    in_topic = {(r.key() or b"").decode() for r in read_topic(lane.events_topic, expected=len(accepted))}
    assert accepted <= in_topic  # nothing reported accepted is missing
    unconfirmed = {uuid.UUID(e["correlationId"]) for e in body["events"]}
    assert not {uuid.UUID(k) for k in in_topic} & unconfirmed  # never sent: librdkafka gave up on them


def test_a_full_producer_queue_is_a_503_with_retry_after_counted_and_nothing_waits_for_it(
    client: APIClient, settings: SettingsWrapper, fresh_producer: None, lane: Lane
) -> None:
    settings.KAFKA_QUEUE_MAX_KBYTES = 1  # a queue of 1 KiB: a package of 300 events does not fit at once
    before = full_queue_count()

    response = client.post("/collect", json.dumps([brief_event() for _ in range(300)]), content_type="application/json")

    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.COLLECT_RETRY_AFTER_SECONDS)
    body = response.json()
    assert body["error"] == "kafka_unavailable"
    unconfirmed = [e for e in body["events"] if e["status"] == "unconfirmed"]
    assert unconfirmed, "every record fitted a 1 KiB queue"
    assert all(e["kafkaError"].startswith("the producer's queue is full") for e in unconfirmed)
    assert full_queue_count() - before == len(unconfirmed)
    # What was queued is acknowledged and reported so; what was not is not in the topic.
    accepted = {e["correlationId"] for e in body["events"] if e["status"] == "accepted"}
    in_topic = {(r.key() or b"").decode() for r in read_topic(lane.events_topic, expected=len(accepted))}
    assert in_topic == accepted


def full_queue_count() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("holded_collect_queue_full_total") or 0.0
