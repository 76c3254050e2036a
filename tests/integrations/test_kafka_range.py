"""The one reader of a partition's range, against the real Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer

from integrations.clients import kafka_config
from integrations.kafka_range import RangeIncomplete, read_range

pytestmark = pytest.mark.integration


@pytest.fixture
def ten_records(fresh_topic: str) -> str:
    producer = Producer(kafka_config().producer("tests"))
    for index in range(10):
        producer.produce(fresh_topic, value=str(index).encode())
    assert producer.flush(10) == 0
    return fresh_topic


@pytest.fixture
def consumer() -> Iterator[Consumer]:
    reader = Consumer(kafka_config().consumer(f"test-{uuid.uuid4()}", "tests"))
    yield reader
    reader.close()


def test_a_range_is_read_whole_in_order_and_nothing_past_its_end(ten_records: str, consumer: Consumer) -> None:
    read = [message.offset() for message in read_range(consumer, ten_records, 0, 3, 7, batch=2)]
    assert read == [3, 4, 5, 6]


def test_one_consumer_reads_range_after_range(ten_records: str, consumer: Consumer) -> None:
    first = [message.value() for message in read_range(consumer, ten_records, 0, 0, 2)]
    second = [message.value() for message in read_range(consumer, ten_records, 0, 8, 10)]
    assert (first, second) == ([b"0", b"1"], [b"8", b"9"])


def test_an_empty_range_asks_nothing(ten_records: str, consumer: Consumer) -> None:
    assert list(read_range(consumer, ten_records, 0, 5, 5)) == []


def test_a_range_the_broker_cannot_finish_is_an_error_not_a_short_read(ten_records: str, consumer: Consumer) -> None:
    # Past the high watermark nothing comes: the reader says so instead of returning the ten it had.
    read: list[int] = []

    def read_all() -> None:
        read.extend(message.offset() or 0 for message in read_range(consumer, ten_records, 0, 0, 12, timeout=0.5))

    with pytest.raises(RangeIncomplete, match=r"at offset 10 of 12"):
        read_all()
    assert read == list(range(10))
