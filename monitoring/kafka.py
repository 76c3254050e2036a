"""What Kafka says about the last hour: records per minute, the stream's lag, the newest dead letters.

Counts per minute come from offsets, not from reading records: the offset at
each minute boundary (offsets_for_times) minus the one before is that
minute's count, at most 61 lookups per partition whatever the traffic. Only the
dead letters are read, newest first and at most DEAD_LETTER_SCAN of them a
partition, to split them by stage and show their errors: a bounded sample,
whatever the volume (the page says when the hour held more).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient
from django.conf import settings

from contract.dead_letter import header
from integrations.clients import kafka_config, per_process, topic
from integrations.kafka_range import read_range

TIMEOUT_SECONDS = 5.0
# Dead letters read per partition and page (newest first): a sample of bounded cost (the page is cached too).
DEAD_LETTER_SCAN = 2_000

_lock = threading.Lock()  # one consumer, several request threads: one read at a time


@per_process
def _consumer() -> Consumer:
    """One consumer per process, for offsets and reads only: it joins no group and commits nothing."""
    return Consumer(kafka_config().consumer(f"status-{uuid.uuid4()}", "status-page"))


@per_process
def _admin() -> AdminClient:
    return AdminClient(kafka_config().admin())


def _partitions(consumer: Consumer, name: str) -> list[int]:
    metadata = consumer.list_topics(name, timeout=TIMEOUT_SECONDS).topics[name]
    if metadata.error is not None:
        raise RuntimeError(f"topic {name}: {metadata.error}")
    return sorted(metadata.partitions)


def per_minute(name: str, minutes: list[int]) -> list[int]:
    """Records appended to topic `name` in each minute [m, m + 1) of `minutes` (Unix minutes, ascending)."""
    consumer = _consumer()
    counts = [0] * len(minutes)
    boundaries = [*minutes, minutes[-1] + 1]
    with _lock:  # one client, several request threads
        for partition in _partitions(consumer, name):
            _, high = consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=TIMEOUT_SECONDS)
            offsets = []
            for minute in boundaries:
                # One lookup per boundary: a request naming a partition twice gets one answer.
                (found,) = consumer.offsets_for_times(
                    [TopicPartition(name, partition, minute * 60_000)], timeout=TIMEOUT_SECONDS
                )
                # No record at or after the boundary: the offset there is the end of the log.
                offsets.append(high if found.offset < 0 else found.offset)
                if found.offset < 0:
                    break  # every later boundary is past the end too
            offsets += [high] * (len(boundaries) - len(offsets))
            for index in range(len(minutes)):
                counts[index] += max(0, offsets[index + 1] - offsets[index])
    return counts


@dataclass(frozen=True)
class Lag:
    partition: int
    committed: int | None  # None: the stream has committed nothing on this partition yet
    end: int

    @property
    def behind(self) -> int:
        return self.end - (self.committed or 0)


def stream_lag() -> list[Lag]:
    """Per partition of events.raw: the stream's committed offset and the end of the log."""
    name = topic("events")
    consumer = _consumer()
    with _lock:
        partitions = _partitions(consumer, name)
        ends = {
            p: consumer.get_watermark_offsets(TopicPartition(name, p), timeout=TIMEOUT_SECONDS)[1] for p in partitions
        }
    request = ConsumerGroupTopicPartitions(settings.STREAM_GROUP_ID, [TopicPartition(name, p) for p in partitions])
    (future,) = _admin().list_consumer_group_offsets([request], request_timeout=TIMEOUT_SECONDS).values()
    committed = {tp.partition: tp.offset for tp in future.result(timeout=TIMEOUT_SECONDS).topic_partitions}
    return [Lag(p, committed[p] if committed.get(p, -1) >= 0 else None, ends[p]) for p in partitions]


@dataclass(frozen=True)
class ShownDeadLetter:
    """A dead letter as the page lists it: when, where and why (contract/dead_letter.py has the record)."""

    appended_ms: int
    stage: str
    error: str
    correlation_id: str


@dataclass
class DeadLetters:
    newest: list[ShownDeadLetter]  # newest first
    by_stage_per_minute: dict[str, list[int]]
    scanned: int
    complete: bool  # False when the hour held more than DEAD_LETTER_SCAN and only the newest were read


def dead_letters(minutes: list[int], show: int = 10) -> DeadLetters:
    """The hour's dead letters, newest DEAD_LETTER_SCAN at most: per stage and minute, and the newest `show`."""
    name = topic("dead_letter")
    consumer = _consumer()
    start_ms = minutes[0] * 60_000
    index_of = {minute: index for index, minute in enumerate(minutes)}
    letters: list[ShownDeadLetter] = []
    complete = True
    with _lock:
        for partition in _partitions(consumer, name):
            low, high = consumer.get_watermark_offsets(TopicPartition(name, partition), timeout=TIMEOUT_SECONDS)
            (since,) = consumer.offsets_for_times([TopicPartition(name, partition, start_ms)], timeout=TIMEOUT_SECONDS)
            first = high if since.offset < 0 else max(low, since.offset)
            if high - first > DEAD_LETTER_SCAN:
                first, complete = high - DEAD_LETTER_SCAN, False
            for message in read_range(consumer, name, partition, first, high, timeout=TIMEOUT_SECONDS):
                headers = message.headers()
                letters.append(
                    ShownDeadLetter(
                        appended_ms=message.timestamp()[1],
                        stage=header(headers, "error.stage") or "unknown",
                        error=header(headers, "error") or "",
                        correlation_id=header(headers, "correlationId")
                        or (message.key() or b"").decode(errors="replace"),
                    )
                )
    letters.sort(key=lambda letter: letter.appended_ms, reverse=True)
    by_stage: dict[str, list[int]] = {}
    for letter in letters:
        index = index_of.get(letter.appended_ms // 60_000)
        if index is not None:
            by_stage.setdefault(letter.stage, [0] * len(minutes))[index] += 1
    return DeadLetters(letters[:show], by_stage, len(letters), complete)
