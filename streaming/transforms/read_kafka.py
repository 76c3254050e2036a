"""ReadFromKafka: a pure-Python, unbounded Kafka source (Beam's own is cross-language).

One splittable DoFn element per partition of the topic, whose restriction is
the range of offsets from the group's committed offset to the end of time.
Each call reads a short slice (at most `max_records_per_poll` records or
`poll_seconds`), claims each record's offset, then defers the rest, so
records flow through every transform fused after the source continuously.

Offsets are committed in a bundle finalizer: the runner calls it after every
fused transform has finished the bundle (the sinks flush in finish_bundle),
so a committed offset is always one both sinks already have. A crash between
a write and its commit replays records the idempotent sinks absorb.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.pvalue import PBegin
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration
from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, TopicPartition

from streaming import lifecycle
from streaming.config import StreamConfig
from streaming.metrics import STREAM_LAG, STREAM_RECORDS
from streaming.records import KafkaRecord
from streaming.replay import commit_metadata

logger = logging.getLogger(__name__)

END_OF_TIME = 2**63 - 1
PROGRESS_EVERY_SECONDS = 10.0
# The runner ignores a deferral's delay and calls again at once: an empty poll
# sleeps this long so that an idle job does not spin a core.
IDLE_SLEEP_SECONDS = 0.05


def consumer_config(config: StreamConfig) -> dict[str, Any]:
    # The source commits by itself, in its bundle finalizer (integrations/kafka.py turns auto-commit off).
    tuning = {"fetch.wait.max.ms": 10, "enable.partition.eof": False}
    return config.kafka.consumer(config.group_id, f"{config.group_id}-source", tuning)


# One element per partition to read: (topic, partition, config). The config
# travels with the element because the restriction provider needs it.
Partition = tuple[str, int, StreamConfig]


class _ListPartitions(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def process(self, _impulse: bytes) -> Iterator[Partition]:
        consumer = Consumer(consumer_config(self._config))
        try:
            topic = self._config.retry.run(
                lambda: consumer.list_topics(self._config.events_topic, timeout=10).topics[self._config.events_topic],
                what=f"listing the partitions of {self._config.events_topic}",
                service="kafka",
                transient=(KafkaException,),
            )
            if topic.error is not None:
                raise RuntimeError(f"topic {self._config.events_topic}: {topic.error}")
            for partition in sorted(topic.partitions):
                yield self._config.events_topic, partition, self._config
        finally:
            consumer.close()


class _CommittedOffsets(RestrictionProvider):
    """A partition's restriction: its group's committed offset (or the earliest) to the end of time."""

    def initial_restriction(self, element: Partition) -> OffsetRange:
        topic, partition, config = element
        consumer = Consumer(consumer_config(config))
        try:
            # The group coordinator may still be loading after a broker start (NOT_COORDINATOR): wait for it.
            start = config.retry.run(
                lambda: _start_offset(consumer, TopicPartition(topic, partition), config.dead_letter_topic),
                what=f"reading the committed offset of {topic}[{partition}]",
                service="kafka",
                transient=(KafkaException,),
            )
        finally:
            consumer.close()
        logger.info("reading %s[%s] from offset %s", topic, partition, start)
        return OffsetRange(start, END_OF_TIME)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return OffsetRestrictionTracker(restriction)

    def restriction_size(self, element: Partition, restriction: OffsetRange) -> int:
        return 1  # unbounded: no meaningful size


def _start_offset(consumer: Consumer, where: TopicPartition, dead_letter_topic: str) -> int:
    """The group's committed offset of a partition, or its earliest when the group has none.

    A group's first start commits that earliest offset at once, with where the
    dead-letter topic ends: the replay ledger's first mark (streaming/replay.py).
    """
    (committed,) = consumer.committed([where], timeout=30)
    if committed.error is not None:
        raise KafkaException(committed.error)
    start = int(committed.offset)
    if start == OFFSET_INVALID or start < 0:
        start, _ = consumer.get_watermark_offsets(where, timeout=30)
        ledger = commit_metadata(consumer, dead_letter_topic)
        first = TopicPartition(where.topic, where.partition, start, metadata=ledger)
        consumer.commit(offsets=[first], asynchronous=False)
    return int(start)


COMMITTED_OFFSETS = beam.DoFn.RestrictionParam(_CommittedOffsets())


class _ReadPartition(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        # One consumer per partition, positioned where its restriction starts.
        self._consumers: dict[tuple[str, int], Consumer] = {}
        self._position: dict[tuple[str, int], int] = {}
        self._read_since_report = 0
        self._reported_at = time.monotonic()

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        element: Partition,
        finalizer: Any = beam.DoFn.BundleFinalizerParam,
        tracker: Any = COMMITTED_OFFSETS,  # an OffsetRestrictionTracker, wrapped by the runner
    ) -> Iterator[KafkaRecord]:
        topic, partition, _ = element
        where = (topic, partition)
        restriction = tracker.current_restriction()
        if lifecycle.stop_requested():
            tracker.try_claim(restriction.stop)  # done: the rest of the range stays unread
            return
        start = restriction.start
        consumer = self._consumers.get(where)
        if consumer is None:
            consumer = self._consumers[where] = Consumer(consumer_config(self._config))
        if self._position.get(where) != start:
            # First read of this partition, or a replay: go to where the restriction starts.
            consumer.assign([TopicPartition(topic, partition, start)])
            self._position[where] = start

        messages = consumer.consume(self._config.max_records_per_poll, timeout=self._config.poll_seconds)
        lifecycle.note_poll(len(messages))
        allowed = lifecycle.records_allowed(len(messages))
        STREAM_RECORDS.labels(topic).inc(allowed)
        last_offset = None
        for message in messages[:allowed]:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    # The consumer reconnects by itself; meanwhile readiness names Kafka.
                    lifecycle.note_failing("kafka", f"reading {topic}[{partition}]: {error.str()}")
                    logger.warning("reading %s[%s]: %s", topic, partition, error)
                continue
            lifecycle.note_recovered("kafka")
            offset = message.offset()
            if offset is None or not tracker.try_claim(offset):
                return
            last_offset = offset
            _, timestamp_ms = message.timestamp()
            yield KafkaRecord(
                topic=topic,
                partition=partition,
                offset=offset,
                key=message.key(),
                value=message.value(),
                headers=tuple(message.headers() or ()),  # type: ignore[arg-type]  # a list from a consumer
                timestamp_ms=timestamp_ms,
            )

        if last_offset is not None:
            self._position[where] = last_offset + 1
            finalizer.register(partial(self._commit, consumer, topic, partition, last_offset + 1))
            self._report(consumer, topic, partition, last_offset, allowed)
        if allowed < len(messages):
            # The record limit cut this poll short: the rest is not ours to read.
            self._position.pop(where, None)
        self._measure_lag(consumer, topic, partition, self._position.get(where, start))
        if not messages:
            time.sleep(IDLE_SLEEP_SECONDS)
        tracker.defer_remainder(Duration.of(0))

    def _commit(self, consumer: Consumer, topic: str, partition: int, next_offset: int) -> None:
        try:
            # With where the dead-letter topic ends: a replay then writes no dead letter twice (streaming/replay.py).
            metadata = commit_metadata(consumer, self._config.dead_letter_topic)
            where = TopicPartition(topic, partition, next_offset, metadata=metadata)
            consumer.commit(offsets=[where], asynchronous=False)
        except KafkaException as error:
            # Not fatal: the next bundle commits a later offset; a restart before
            # then replays records the idempotent sinks absorb.
            logger.warning("could not commit %s[%s]@%s: %s", topic, partition, next_offset, error)

    @staticmethod
    def _measure_lag(consumer: Consumer, topic: str, partition: int, position: int) -> None:
        # The high watermark the last fetch brought back: no request to the broker.
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
        if high >= 0:
            STREAM_LAG.labels(topic, str(partition)).set(max(0, high - position))

    def _report(self, consumer: Consumer, topic: str, partition: int, last_offset: int, count: int) -> None:
        self._read_since_report += count
        elapsed = time.monotonic() - self._reported_at
        if elapsed < PROGRESS_EVERY_SECONDS:
            return
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
        logger.info(
            "read %.0f records/s from %s[%s]; at offset %s, lag %s",
            self._read_since_report / elapsed,
            topic,
            partition,
            last_offset,
            max(0, high - last_offset - 1) if high >= 0 else "unknown",
        )
        self._read_since_report = 0
        self._reported_at = time.monotonic()

    def teardown(self) -> None:
        for consumer in getattr(self, "_consumers", {}).values():
            consumer.close()


class ReadFromKafka(beam.PTransform[Any, Any]):
    """Every record of `config.events_topic`, from the group's committed offsets on, without end."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, begin: PBegin) -> Any:
        return (
            begin
            | "Start" >> beam.Impulse()
            | "ListPartitions" >> beam.ParDo(_ListPartitions(self._config))
            | "ReadPartition" >> beam.ParDo(_ReadPartition(self._config))
        )
