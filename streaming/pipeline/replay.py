"""A replay writes no dead letter twice.

The stream's dead letters reach Kafka in finish_bundle, before the source
commits the bundle's offsets; a crash between the two replays the bundle, and
its rejects would be produced again. So each commit carries, in its metadata,
where the dead-letter topic ended at that moment. After a restart, the first
time a partition's reject is about to be produced, the dead-letter topic is
read from those positions to its end (the letters written since the last
commit, a handful), and an offset found there is not produced again: only its
S3 copy is written, which overwrites itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition

from integrations.kafka_range import read_range
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.host import RetryHooks

logger = logging.getLogger(__name__)

Source = tuple[str, int]  # topic, partition of events.raw


# The dead-letter topic's partitions, asked of the broker once a minute rather than at every commit.
PARTITIONS_TTL_SECONDS = 60.0
_partitions: dict[str, tuple[float, list[int]]] = {}


def _partitions_of(consumer: Consumer, topic: str) -> list[int]:
    known = _partitions.get(topic)
    if known is None or time.monotonic() - known[0] > PARTITIONS_TTL_SECONDS:
        partitions = sorted(consumer.list_topics(topic, timeout=5).topics[topic].partitions)
        known = _partitions[topic] = (time.monotonic(), partitions)
    return known[1]


def commit_metadata(consumer: Consumer, dead_letter_topic: str) -> str:
    """Where each partition of the dead-letter topic ends now, as the commit's metadata."""
    ends = {}
    for partition in _partitions_of(consumer, dead_letter_topic):
        _, high = consumer.get_watermark_offsets(TopicPartition(dead_letter_topic, partition), timeout=5)
        ends[str(partition)] = int(high)
    return json.dumps({"dead_letter_ends": ends}, separators=(",", ":"))


class ReplayLedger:
    """The offsets of each source partition already dead-lettered after its committed offset."""

    def __init__(self, config: StreamConfig, hooks: RetryHooks) -> None:
        self._config = config
        self._hooks = hooks
        self._lock = threading.Lock()
        self._known: dict[Source, set[int]] = {}

    def already_written(self, source: Source, offset: int) -> bool:
        with self._lock:
            if source not in self._known:
                self._known[source] = self._config.retry.run(
                    lambda: self._load(source),
                    what=f"reading the dead letters written since the last commit of {source[0]}[{source[1]}]",
                    service="kafka",
                    transient=(KafkaException,),
                    hooks=self._hooks,
                )
            return offset in self._known[source]

    def _load(self, source: Source) -> set[int]:
        topic, partition = source
        consumer = Consumer(
            self._config.kafka.consumer(self._config.group_id, f"{self._config.group_id}-replay-ledger")
        )
        try:
            (committed,) = consumer.committed([TopicPartition(topic, partition)], timeout=10)
            if committed.error is not None:
                raise KafkaException(committed.error)
            if committed.offset < 0 or not committed.metadata:
                return set()  # nothing committed yet, or by a version that kept no ledger
            ends = json.loads(committed.metadata).get("dead_letter_ends", {})
        finally:
            consumer.close()
        written = self._scan(ends, topic, partition, int(committed.offset))
        if written:
            logger.info("%s[%s]: %s offsets were dead-lettered before the restart", topic, partition, len(written))
        return written

    def _scan(self, ends: dict[str, int], topic: str, partition: int, committed: int) -> set[int]:
        """Source offsets at or past `committed` among the dead letters written after `ends`."""
        reader = Consumer(self._config.kafka.consumer(f"replay-ledger-{uuid.uuid4()}", "replay-ledger"))
        written: set[int] = set()
        try:
            for dead_letter_partition, start in ends.items():
                topic_partition = TopicPartition(self._config.dead_letter_topic, int(dead_letter_partition))
                _, high = reader.get_watermark_offsets(topic_partition, timeout=10)
                letters = read_range(
                    reader, self._config.dead_letter_topic, int(dead_letter_partition), int(start), high
                )
                for message in letters:  # RangeIncomplete, a KafkaException, is retried by the caller
                    headers = dict(message.headers() or [])
                    if headers.get("source.topic") != topic.encode():
                        continue
                    if headers.get("source.partition") != str(partition).encode():
                        continue
                    offset = int(headers.get("source.offset") or -1)
                    if offset >= committed:
                        written.add(offset)
        finally:
            reader.close()
        return written
