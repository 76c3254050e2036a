"""Fixtures shared by the whole suite.

Integration tests talk to the real services that scripts/services.sh starts,
through the project's own settings. Each test gets its own topic, subject or
object prefix, and removes it afterwards.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


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
    return AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})


@pytest.fixture
def fresh_topic(kafka_admin: AdminClient) -> Iterator[str]:
    """A topic of its own for one test, deleted afterwards."""
    name = unique_name("test")
    kafka_admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    yield name
    kafka_admin.delete_topics([name])[name].result(timeout=30)
