"""The real Kafka, through the project's settings: produce, then consume."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer
from django.conf import settings

pytestmark = pytest.mark.integration


def test_a_record_produced_with_acks_all_is_consumed_back(fresh_topic: str) -> None:
    producer = Producer(
        {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "acks": "all", "enable.idempotence": True}
    )
    delivered = []
    producer.produce(
        fresh_topic,
        key=b"key-1",
        value=b'{"hello": "kafka"}',
        headers=[("packageId", b"p-1")],
        on_delivery=lambda error, message: delivered.append((error, message)),
    )
    assert producer.flush(30) == 0
    assert len(delivered) == 1
    error, message = delivered[0]
    assert error is None
    assert message.offset() == 0

    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": f"test-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe([fresh_topic])
        record = None
        for _ in range(60):
            record = consumer.poll(0.5)
            if record is not None:
                break
        assert record is not None, "nothing consumed within 30 s"
        assert record.error() is None
        assert record.key() == b"key-1"
        assert record.value() == b'{"hello": "kafka"}'
        assert record.headers() == [("packageId", b"p-1")]
    finally:
        consumer.close()


def test_producing_to_a_missing_topic_is_refused(services_up: None) -> None:
    # The broker does not auto-create topics: they are declared in topics/main-topics.
    producer = Producer(
        {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "message.timeout.ms": 3000, "acks": "all"}
    )
    errors = []
    producer.produce(f"missing-{uuid.uuid4().hex}", value=b"x", on_delivery=lambda error, _: errors.append(error))
    producer.flush(10)
    assert len(errors) == 1
    assert errors[0] is not None
