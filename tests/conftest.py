"""Fixtures shared by the whole suite (helpers to import are in tests/support/).

Integration tests talk to the real services that scripts/services.sh starts,
through the project's own settings. Each test gets its own topic, subject,
consumer group or object prefix, and removes it afterwards.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from django.conf import settings
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from collector import kafka
from collector.schema import latest_schemas
from contract.registry import remove_subject
from integrations.clients import kafka_config, registry_client
from tests.support.kafka import wait_for_leaders
from tests.support.lanes import RAW_SCHEMA, Lane, StreamLane, unique_name

# As topics/main-topics creates the real ones.
TOPIC_CONFIG = {"max.message.bytes": str(settings.KAFKA_MESSAGE_MAX_BYTES)}


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def services_up() -> None:
    """Fail early, and say how to fix it, when the services are not running."""
    endpoints = {
        "Kafka": settings.KAFKA_BOOTSTRAP_SERVERS.split(",")[0],
        "Schema Registry": urlsplit(settings.SCHEMA_REGISTRY_URL).netloc,
        "S3 store": urlsplit(settings.S3_ENDPOINT_URL).netloc,
        "PostgreSQL": f"{settings.DATABASES['default']['HOST']}:{settings.DATABASES['default']['PORT']}",
    }
    down = []
    for name, netloc in endpoints.items():
        host, _, port = netloc.rpartition(":")
        if not _answers(host, int(port)):
            down.append(f"{name} ({netloc})")
    if down:
        pytest.fail(f"not running: {', '.join(down)}. Start them with scripts/services.sh up", pytrace=False)


@pytest.fixture(scope="session")
def kafka_admin(services_up: None) -> AdminClient:
    return AdminClient(kafka_config().admin())


@pytest.fixture
def fresh_topic(kafka_admin: AdminClient) -> Iterator[str]:
    """A topic of its own for one test, deleted afterwards."""
    name = unique_name("test")
    kafka_admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    wait_for_leaders(kafka_admin, [name])
    yield name
    kafka_admin.delete_topics([name])[name].result(timeout=30)


@pytest.fixture
def lane(kafka_admin: AdminClient, settings: SettingsWrapper) -> Iterator[Lane]:
    """Topics and a subject of this test's own, in the settings while it runs."""
    events_topic, dead_letter_topic = unique_name("events.raw"), unique_name("events.dead.letter")
    futures = kafka_admin.create_topics(
        [
            NewTopic(events_topic, 1, 1, config={**TOPIC_CONFIG, "message.timestamp.type": "LogAppendTime"}),
            NewTopic(dead_letter_topic, 1, 1, config={**TOPIC_CONFIG, "message.timestamp.type": "LogAppendTime"}),
        ]
    )
    for future in futures.values():
        future.result(timeout=30)
    wait_for_leaders(kafka_admin, [events_topic, dead_letter_topic])
    subject = f"{events_topic}-value"
    registry = registry_client()
    schema_id = registry.register_schema(subject, Schema(RAW_SCHEMA, "AVRO"))
    settings.KAFKA_TOPICS = {"events": events_topic, "dead_letter": dead_letter_topic}
    latest_schemas.discard()
    yield Lane(events_topic, dead_letter_topic, subject, schema_id)
    latest_schemas.discard()
    remove_subject(registry, subject)
    for future in kafka_admin.delete_topics([events_topic, dead_letter_topic]).values():
        future.result(timeout=30)


@pytest.fixture
def stream_lane(lane: Lane, settings: SettingsWrapper, django_db_setup: None) -> StreamLane:
    """A lane with a consumer group of its own, for the stream."""
    settings.STREAM_GROUP_ID = group_id = unique_name("stream")
    return StreamLane(**vars(lane), group_id=group_id)


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def registry(services_up: None) -> SchemaRegistryClient:
    return registry_client()


@pytest.fixture
def fresh_producer() -> Iterator[None]:
    """A producer built from the settings of this test, and none left behind."""
    kafka.discard_producer()
    yield
    kafka.discard_producer()
