"""Fixtures for the collector's integration tests: topics, subject and client of their own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Message, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from django.conf import settings
from rest_framework.test import APIClient

from collector import kafka
from holded.registry import registry_client
from tests.conftest import RAW_SCHEMA, Lane

__all__ = ["RAW_SCHEMA", "Lane", "header_map", "read_topic", "topic_size"]


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def registry(services_up: None) -> SchemaRegistryClient:
    return registry_client()


@pytest.fixture
def fresh_producer() -> Iterator[None]:
    """A producer built from the settings of this test, and none left behind."""
    kafka._discard_producer()
    yield
    kafka._discard_producer()


def read_topic(topic: str, expected: int, timeout: float = 20.0) -> list[Message]:
    """Every record of partition 0 of `topic`, waiting until `expected` are there."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"test-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        records: list[Message] = []
        deadline = time.monotonic() + timeout
        while len(records) < expected and time.monotonic() < deadline:
            record = consumer.poll(0.2)
            if record is not None and record.error() is None:
                records.append(record)
        # Anything beyond what was expected would be a duplicate: look a little longer.
        for _ in range(3):
            record = consumer.poll(0.2)
            if record is not None and record.error() is None:
                records.append(record)
        return records
    finally:
        consumer.close()


def header_map(record: Message) -> dict[str, str]:
    headers = record.headers() or []
    items = headers.items() if isinstance(headers, dict) else headers
    return {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in items}


def topic_size(topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "group.id": "sizes"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return int(high - low)
    finally:
        consumer.close()
