"""ReadFromKafka: a pure-Python, unbounded Kafka source (Beam's own is cross-language).

One splittable DoFn element per partition of the events topic and of the
dead-letter topic (of this process's share of them, when the local runner
runs in several processes), whose restriction is the range of offsets from the
group's committed offset to the end of time. Each call reads a short slice
(at most `max_records_per_poll` records or `poll_seconds`) into the
partition's open lake object (streaming/pipeline/objects.py), then defers the rest.
An object's records are claimed and emitted, as one Span, only once the
object is closed: the restriction, and so a checkpoint, never ends inside
an object, and an open object is only a read-ahead that a new reader
rebuilds from the restriction's start.

Offsets are committed in a bundle finalizer: the runner calls it after every
fused transform has finished the bundle (the sinks flush in finish_bundle),
so a committed offset is always the end of an object both sinks already
have. A crash before the commit replays whole objects, which the sinks write
again identically.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import apache_beam as beam
from apache_beam.io.restriction_trackers import OffsetRange, OffsetRestrictionTracker
from apache_beam.pvalue import PBegin
from apache_beam.transforms.core import RestrictionProvider
from apache_beam.utils.timestamp import Duration
from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, TopicPartition

from streaming.pipeline.config import StreamConfig
from streaming.pipeline.objects import BrokerClock, ObjectAssembler, Span
from streaming.pipeline.records import KafkaRecord
from streaming.pipeline.replay import commit_metadata

logger = logging.getLogger(__name__)

END_OF_TIME = 2**63 - 1
FETCH_BYTES = 8 * 1024 * 1024
PROGRESS_EVERY_SECONDS = 10.0
# The runner ignores a deferral's delay and calls again at once: an empty poll
# sleeps this long so that an idle job does not spin a core.
IDLE_SLEEP_SECONDS = 0.05
# While the last poll of some partition found records, a poll waits this long at most.
BUSY_POLL_SECONDS = 0.01
# On a stop, how long a reader waits for the commit of objects it emitted (Flink commits after a checkpoint).
STOP_COMMIT_WAIT_SECONDS = 30.0


def consumer_config(config: StreamConfig) -> dict[str, Any]:
    # The source commits by itself, in its bundle finalizer (integrations/kafka.py turns auto-commit off).
    # Fetches of up to 8 MiB a partition (1 MiB by default, about 1,300 events): a backlog takes fewer round trips.
    # What librdkafka holds fetched ahead, a partition: two such fetches (its default is 64 MiB).
    tuning = {
        "fetch.wait.max.ms": 10,
        "enable.partition.eof": False,
        "max.partition.fetch.bytes": FETCH_BYTES,
        "queued.max.messages.kbytes": 2 * FETCH_BYTES // 1024,
    }
    return config.kafka.consumer(config.group_id, f"{config.group_id}-source", tuning)


# One element per partition to read: (topic, partition, config). The config
# travels with the element because the restriction provider needs it.
Partition = tuple[str, int, StreamConfig]


def partitions_of(config: StreamConfig, names: tuple[str, ...]) -> list[tuple[str, int]]:
    """Every (topic, partition) of the topics named, in order, asked of Kafka with one consumer."""
    consumer = Consumer(consumer_config(config))
    hooks = config.host()
    found: list[tuple[str, int]] = []
    try:
        for name in names:
            topic = config.retry.run(
                lambda name=name: consumer.list_topics(name, timeout=10).topics[name],  # type: ignore[misc]
                what=f"listing the partitions of {name}",
                service="kafka",
                transient=(KafkaException,),
                hooks=hooks,
            )
            if topic.error is not None:
                raise RuntimeError(f"topic {name}: {topic.error}")
            found += [(name, partition) for partition in sorted(topic.partitions)]
    finally:
        consumer.close()
    return found


class _ListPartitions(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def process(self, _impulse: bytes) -> Iterator[Partition]:
        topics = (self._config.events_topic, self._config.dead_letter_topic)
        for name, partition in partitions_of(self._config, topics):
            if self._config.share.takes(partition):  # this process's share, when the local runner runs several
                yield name, partition, self._config


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
                hooks=config.host(),
            )
        finally:
            consumer.close()
        logger.info("reading %s[%s] from offset %s", topic, partition, start)
        return OffsetRange(start, END_OF_TIME)

    def create_tracker(self, restriction: OffsetRange) -> OffsetRestrictionTracker:
        return CheckpointOnlyTracker(restriction)

    def restriction_size(self, element: Partition, restriction: OffsetRange) -> int:
        return 1  # unbounded: no meaningful size


class CheckpointOnlyTracker(OffsetRestrictionTracker):
    """Offsets of one partition, split only at a checkpoint: where reading has reached.

    A runner may offer to split a restriction at a fraction of what remains,
    to share it out; a range that ends at 2**63 has no middle worth reading
    in parallel (Prism once split one near 2**62), and a split inside an open
    object would end an object at an offset its replay could not find. So
    only a checkpoint (a fraction of 0, the runner's or the source's own
    deferral) is accepted; any other split is refused, which Beam allows.
    """

    def try_split(self, fraction_of_remainder: float) -> tuple[OffsetRange, OffsetRange] | None:
        if fraction_of_remainder != 0:
            return None
        return super().try_split(fraction_of_remainder)  # type: ignore[no-any-return]


def _start_offset(consumer: Consumer, where: TopicPartition, dead_letter_topic: str) -> int:
    """The group's committed offset of a partition, or its earliest when the group has none.

    A group's first start commits that earliest offset at once, with where the
    dead-letter topic ends: the replay ledger's first mark (streaming/pipeline/replay.py).
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


@dataclass
class _PartitionReader:
    """One partition's consumer, where it has read to, and the object it is filling.

    A cache of the restriction's reading: valid while `claimed_to` (the first
    offset no emitted object holds) is where the restriction starts. After a
    split, a restart or a failed bundle it is not, and the partition is read
    again from the restriction's start, its open object with it.
    """

    consumer: Consumer
    assembler: ObjectAssembler
    claimed_to: int
    position: int  # the next offset to read


class _ReadPartition(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._host = self._config.host()  # the process's stop, readiness and metrics
        self._host.reading()  # readiness now waits for this source's polls
        self._consumers: dict[tuple[str, int], Consumer] = {}
        self._readers: dict[tuple[str, int], _PartitionReader] = {}
        self._clocks: dict[tuple[str, int], BrokerClock] = {}
        self._read_since_report = 0
        self._reported_at = time.monotonic()
        self._found: dict[tuple[str, int], bool] = {}  # did each partition's last poll find records?
        self._pending: dict[tuple[str, int], int] = {}  # finalizers registered, not yet called
        self._stop_seen_at: float | None = None

    def _reader(self, topic: str, partition: int, start: int) -> _PartitionReader:
        where = (topic, partition)
        reader = self._readers.get(where)
        if reader is not None and reader.claimed_to == start:
            return reader
        consumer = self._consumers.get(where)
        if consumer is None:
            consumer = self._consumers[where] = Consumer(consumer_config(self._config))
        # First read of this partition, or a replay: go to where the restriction starts, with no open object.
        consumer.assign([TopicPartition(topic, partition, start)])
        reader = _PartitionReader(consumer, ObjectAssembler(self._config.objects, topic, partition), start, start)
        self._readers[where] = reader
        return reader

    @beam.DoFn.unbounded_per_element()
    def process(
        self,
        element: Partition,
        finalizer: Any = beam.DoFn.BundleFinalizerParam,
        tracker: Any = COMMITTED_OFFSETS,  # an OffsetRestrictionTracker, wrapped by the runner
    ) -> Iterator[Span[KafkaRecord]]:
        topic, partition, _ = element
        where = (topic, partition)
        restriction = tracker.current_restriction()
        if self._host.stop_requested():
            if self._commits_pending(where):
                # Flink commits an object's offsets after the next checkpoint: wait for it, reading nothing.
                time.sleep(IDLE_SLEEP_SECONDS)
                tracker.defer_remainder(Duration.of(0))
                return
            # Done: the open object's records stay uncommitted, and are read again at the next start.
            tracker.try_claim(restriction.stop)
            self._host.finished(topic, partition)
            return
        reader = self._reader(topic, partition, restriction.start)
        clock = self._clocks.setdefault(where, BrokerClock())

        # The runner calls every partition in turn in one bundle: while any of them has records, an
        # empty one must not hold the others up, so it waits only a moment for its consumer's fetches.
        busy = any(self._found.values())
        messages = reader.consumer.consume(
            self._config.max_records_per_poll, timeout=BUSY_POLL_SECONDS if busy else self._config.poll_seconds
        )
        received_ms = time.time_ns() // 1_000_000
        self._found[where] = bool(messages)
        self._host.polled(len(messages))
        allowed = self._host.records_allowed(len(messages))
        self._host.read(topic, allowed)
        closed: list[Span[KafkaRecord]] = []
        newest_ms = -1  # the poll's newest broker timestamp: its gap to the receipt is the poll's smallest
        for message in messages[:allowed]:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    # The consumer reconnects by itself; meanwhile readiness names Kafka.
                    self._host.failing("kafka", f"reading {topic}[{partition}]: {error.str()}")
                    logger.warning("reading %s[%s]: %s", topic, partition, error)
                continue
            self._host.recovered("kafka")
            offset = message.offset()
            if offset is None:
                continue
            if offset < reader.position:
                # The consumer went back (its position reset after a broker restart, say): what follows
                # would not continue the open object. Read again from the restriction's start instead.
                logger.warning(
                    "%s[%s]: the consumer went back from offset %s to %s; reading again from %s",
                    topic,
                    partition,
                    reader.position,
                    offset,
                    reader.claimed_to,
                )
                self._readers.pop(where, None)
                closed = []
                break
            _, timestamp_ms = message.timestamp()
            newest_ms = max(newest_ms, timestamp_ms)
            record = KafkaRecord(
                topic=topic,
                partition=partition,
                offset=offset,
                key=message.key(),
                value=message.value(),
                headers=tuple(message.headers() or ()),  # type: ignore[arg-type]  # a list from a consumer
                timestamp_ms=timestamp_ms,
            )
            reader.position = offset + 1
            span = reader.assembler.add(record)
            if span is not None:
                closed.append(span)
        if newest_ms >= 0:
            clock.observe(newest_ms, received_ms)
        if not messages:
            span = self._close_if_idle(reader, clock, topic, partition)
            if span is not None:
                closed.append(span)

        for span in closed:
            if not tracker.try_claim(span.end - 1):
                self._readers.pop(where, None)  # the runner took the rest: it is read again from there
                return
            reader.claimed_to = span.end
            yield span
        if closed:
            self._pending[where] = self._pending.get(where, 0) + 1
            finalizer.register(partial(self._commit, reader.consumer, topic, partition, reader.claimed_to))
            self._report(reader.consumer, topic, partition, closed)
        if allowed < len(messages):
            # The record limit cut this poll short: the rest is not ours to read.
            self._readers.pop(where, None)
        self._measure_lag(reader.consumer, topic, partition, reader.position)
        if not messages and not busy:
            time.sleep(IDLE_SLEEP_SECONDS)
        tracker.defer_remainder(Duration.of(0))

    def _close_if_idle(
        self, reader: _PartitionReader, clock: BrokerClock, topic: str, partition: int
    ) -> Span[KafkaRecord] | None:
        """The open object, once its window has closed by the broker's clock and nothing is left to read."""
        window_end = reader.assembler.window_end_ms()
        broker_now = clock.at_least()
        if window_end is None or broker_now is None or broker_now < window_end:
            return None
        try:
            # Asked of the broker now, after the window closed: any record stamped within it is below this end.
            _, high = reader.consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=5)
        except KafkaException as error:
            logger.warning("could not read the end of %s[%s]: %s", topic, partition, error)
            return None
        # A broker that does not know its end yet (restarting) answers -1: not the log end.
        return reader.assembler.close_idle() if 0 <= high <= reader.position else None

    def _commits_pending(self, where: tuple[str, int]) -> bool:
        """Are objects of this partition written but not yet committed (on Flink, until a checkpoint)?

        Waited for at most STOP_COMMIT_WAIT_SECONDS after the stop: a finalizer that never comes (its
        bundle failed) leaves its objects to be read again at the next start, as after a crash.
        """
        if not self._pending.get(where):
            return False
        if self._stop_seen_at is None:
            self._stop_seen_at = time.monotonic()
        if time.monotonic() - self._stop_seen_at < STOP_COMMIT_WAIT_SECONDS:
            return True
        logger.warning("%s[%s]: stopping without the commit of its last objects", *where)
        return False

    def _commit(self, consumer: Consumer, topic: str, partition: int, next_offset: int) -> None:
        self._pending[(topic, partition)] = max(0, self._pending.get((topic, partition), 0) - 1)
        try:
            # With where the dead-letter topic ends: a replay then writes no dead letter twice
            # (streaming/pipeline/replay.py).
            # The dead-letter topic's own commits need none: archiving it writes nothing to Kafka.
            if topic == self._config.events_topic:
                metadata = commit_metadata(consumer, self._config.dead_letter_topic)
                where = TopicPartition(topic, partition, next_offset, metadata=metadata)
            else:  # confluent-kafka refuses a metadata of None: the argument is left out
                where = TopicPartition(topic, partition, next_offset)
            consumer.commit(offsets=[where], asynchronous=False)
        except KafkaException as error:
            # Not fatal: the next bundle commits a later offset; a restart before
            # then replays records the idempotent sinks absorb.
            logger.warning("could not commit %s[%s]@%s: %s", topic, partition, next_offset, error)

    def _measure_lag(self, consumer: Consumer, topic: str, partition: int, position: int) -> None:
        # The high watermark the last fetch brought back: no request to the broker.
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
        if high >= 0:
            self._host.lag(topic, partition, max(0, high - position))

    def _report(self, consumer: Consumer, topic: str, partition: int, closed: list[Span[KafkaRecord]]) -> None:
        self._read_since_report += sum(len(span.items) for span in closed)
        elapsed = time.monotonic() - self._reported_at
        if elapsed < PROGRESS_EVERY_SECONDS:
            return
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
        end = closed[-1].end
        logger.info(
            "%.0f records/s from %s[%s] into objects; at offset %s, lag %s",
            self._read_since_report / elapsed,
            topic,
            partition,
            end,
            max(0, high - end) if high >= 0 else "unknown",
        )
        self._read_since_report = 0
        self._reported_at = time.monotonic()

    def teardown(self) -> None:
        for consumer in getattr(self, "_consumers", {}).values():
            consumer.close()


class ReadFromKafka(beam.PTransform[Any, Any]):
    """Every record of the events and dead-letter topics, from the group's committed offsets on, without end,
    as Spans: the records of one lake object each (streaming/pipeline/objects.py)."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, begin: PBegin) -> Any:
        return (
            begin
            | "Start" >> beam.Impulse()
            | "ListPartitions" >> beam.ParDo(_ListPartitions(self._config))
            | "ReadPartition" >> beam.ParDo(_ReadPartition(self._config)).with_output_types(Span)
        )
