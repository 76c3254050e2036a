"""Reading the real topics back."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, Message, TopicPartition

from integrations.clients import kafka_config


def read_topic(topic: str, expected: int, timeout: float = 20.0) -> list[Message]:
    """Every record of partition 0 of `topic`, waiting until `expected` are there."""
    consumer = Consumer(kafka_config().consumer(f"test-{uuid.uuid4()}", "tests"))
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
    consumer = Consumer(kafka_config().consumer("sizes", "tests"))
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return int(high - low)
    finally:
        consumer.close()


def read_all(topic: str) -> list[Message]:
    """Every record of partition 0 of `topic`, up to its end as of now."""
    consumer = Consumer(kafka_config().consumer(f"test-{uuid.uuid4()}", "tests"))
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        consumer.assign([TopicPartition(topic, 0, low)])
        records: list[Message] = []
        position = low
        deadline = time.monotonic() + 30
        while position < high and time.monotonic() < deadline:
            record = consumer.poll(0.5)
            if record is not None and record.error() is None:
                records.append(record)
                position = int(record.offset() or 0) + 1
        return records
    finally:
        consumer.close()
