"""The real Schema Registry, through confluent-kafka's client and the project's settings."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from django.conf import settings

from contract.registry import remove_subject
from tests.support.lanes import unique_name

pytestmark = pytest.mark.integration

SCHEMA = {
    "type": "record",
    "name": "Probe",
    "namespace": "tests",
    "fields": [{"name": "id", "type": "string"}],
}


@pytest.fixture
def registry(services_up: None) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": settings.SCHEMA_REGISTRY_URL})


@pytest.fixture
def subject(registry: SchemaRegistryClient) -> Iterator[str]:
    name = unique_name("test") + "-value"
    yield name
    remove_subject(registry, name)  # also when never registered: the test failed before it could


def test_a_registered_schema_is_fetched_back_by_its_id(registry: SchemaRegistryClient, subject: str) -> None:
    schema_id = registry.register_schema(subject, Schema(json.dumps(SCHEMA), "AVRO"))

    fetched = registry.get_schema(schema_id)

    assert fetched.schema_type == "AVRO"
    assert fetched.schema_str is not None
    assert json.loads(fetched.schema_str) == SCHEMA
    latest = registry.get_latest_version(subject)
    assert latest.schema_id == schema_id
    assert latest.version == 1


def test_the_global_compatibility_is_backward(registry: SchemaRegistryClient) -> None:
    # Confluent's default; Apicurio's is NONE until scripts/services.sh sets it.
    assert registry.get_compatibility() == "BACKWARD"


def test_a_subject_removed_twice_is_removed_without_an_error(registry: SchemaRegistryClient, subject: str) -> None:
    # As when the client retries a delete that timed out but was carried out.
    registry.register_schema(subject, Schema(json.dumps(SCHEMA), "AVRO"))

    remove_subject(registry, subject)
    remove_subject(registry, subject)

    assert subject not in registry.get_subjects()
    with pytest.raises(SchemaRegistryError) as gone:
        registry.get_latest_version(subject)
    assert gone.value.http_status_code == 404
