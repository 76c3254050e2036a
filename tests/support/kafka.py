"""Reading the real topics back."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from confluent_kafka.admin import AdminClient

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


def wait_for_leaders(admin: AdminClient, topics: list[str], timeout: float = 30.0) -> None:
    """Until every partition of `topics` has a leader: a topic just created may not have one yet,
    and a request to it then fails with NOT_LEADER_FOR_PARTITION."""
    deadline = time.monotonic() + timeout
    while True:
        metadata = admin.list_topics(timeout=10).topics
        pending = [
            name
            for name in topics
            if name not in metadata
            or metadata[name].error is not None
            or not metadata[name].partitions
            or any(partition.leader < 0 for partition in metadata[name].partitions.values())
        ]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no leader after {timeout}s for {', '.join(pending)}")
        time.sleep(0.1)


def header_map(record: Message) -> dict[str, str]:
    headers = record.headers() or []
    items = headers.items() if isinstance(headers, dict) else headers
    return {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in items}


LEADER_MOVING = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def topic_size(topic: str) -> int:
    consumer = Consumer(kafka_config().consumer("sizes", "tests"))
    try:
        for attempt in range(50):
            try:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
                return int(high - low)
            except KafkaException as error:
                # A leader moving in or just elected: ask again, as any client would.
                if error.args[0].code() not in LEADER_MOVING or attempt == 49:
                    raise
                time.sleep(0.1)
        raise AssertionError("unreachable")
    finally:
        consumer.close()


def read_all(topic: str, partition: int = 0) -> list[Message]:
    """Every record of a partition of `topic` (the first by default), up to its end as of now."""
    consumer = Consumer(kafka_config().consumer(f"test-{uuid.uuid4()}", "tests"))
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        consumer.assign([TopicPartition(topic, partition, low)])
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
