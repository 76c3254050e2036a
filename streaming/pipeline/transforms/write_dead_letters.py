"""WriteDeadLetters: the records a stage refused, to events.dead.letter.

Same format as the collector's dead letters (contract/dead_letter.py), with
`error.stage=stream` and the record's original topic, partition and offset.
The pipeline applies it to each stage's rejected output, fused with that
stage (no Flatten, which the local runner would hold back until the job
ends): Kafka's acknowledgement is waited for in finish_bundle, so the source
commits a rejected record's offset only once its dead letter is safe. The
topic is the record of truth; the same pipeline archives it to the lake
(streaming/pipeline/build.py). A dead letter's id is the record's correlationId; a
record without one gets an id derived from its topic, partition and offset,
the same on a replay.

A dead letter always fits: its headers are bounded (contract/dead_letter.py),
and an event too large for a record with them (a record of the largest size
Kafka took, say) is kept whole in the lake, at a key made of its source's
coordinates (the same on a replay), the record carrying that key instead.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection
from confluent_kafka import KafkaError, KafkaException

from contract.dead_letter import DeadLetter, DeadLetterTooLarge
from contract.enriched import correlation_id_of
from contract.ids import package_id_of
from integrations.clients import PerProcess
from integrations.producing import AcknowledgingProducer, Deliveries
from integrations.s3_writer import S3WriteError
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.host import Host
from streaming.pipeline.records import Rejected
from streaming.pipeline.replay import ReplayLedger

logger = logging.getLogger(__name__)

RECORD_ID_NAMESPACE = uuid.UUID("6b3d2f4e-1c9a-4f7e-9a51-3d0c2b8e7f10")
FLUSH_SECONDS = 30.0
# Where the lake keeps the value of a dead letter too large for a record.
VALUES_PREFIX = "dead-letter-values"
# The producer's queue: a bundle's dead letters at most, each at most a record (librdkafka's default is 1 GiB).
QUEUE_MAX_KBYTES = 64 * 1024


def dead_letter_of(rejected: Rejected) -> DeadLetter:
    record = rejected.record
    try:
        correlation_id = uuid.UUID(correlation_id_of(record.key, record.header("correlationId")))
        package_id = package_id_of(correlation_id)
    except ValueError:
        correlation_id = uuid.uuid5(RECORD_ID_NAMESPACE, f"{record.topic}/{record.partition}/{record.offset}")
        package_id = correlation_id
    return DeadLetter(
        event=rejected.event,
        error=rejected.error,
        stage="stream",
        correlation_id=correlation_id,
        package_id=package_id,
        source_topic=record.topic,
        source_partition=record.partition,
        source_offset=record.offset,
        raw_value=None if rejected.event is not None else (record.value or b""),
    )


# One dead-letter producer and replay ledger per process and destination, for every stage.
_SHARED: PerProcess[tuple[AcknowledgingProducer, ReplayLedger]] = PerProcess(max_entries=4)


def _shared_clients(config: StreamConfig, host: Host) -> tuple[AcknowledgingProducer, ReplayLedger]:
    key = (
        config.kafka.bootstrap_servers,
        tuple(sorted(config.kafka.client_options.items())),
        config.group_id,
        config.dead_letter_topic,
    )

    def make() -> tuple[AcknowledgingProducer, ReplayLedger]:
        tuning = {"linger.ms": 5, "queue.buffering.max.kbytes": QUEUE_MAX_KBYTES}
        producer = AcknowledgingProducer(config.kafka.producer(f"{config.group_id}-dead-letters", tuning))
        return producer, ReplayLedger(config, host)

    return _SHARED.get(key, make)


class DeadLetterSink:
    """The dead letters of one stage's bundle; `flush` returns once Kafka holds every one."""

    def __init__(self, config: StreamConfig, host: Host) -> None:
        self._config = config
        self._host = host
        self._producer, self._ledger = _shared_clients(config, host)
        self._pending: list[DeadLetter] = []
        self._replayed = 0
        self._lake: Any = None  # an S3 writer, made for the first letter too large for a record

    def fitted(self, letter: DeadLetter) -> tuple[DeadLetter, bytes, list[tuple[str, Any]]]:
        """The letter as it goes to Kafka, with its record's value and headers: whole, or its value in the lake."""
        try:
            value, headers = letter.record(self._config.kafka.message_max_bytes)
            return letter, value, headers
        except DeadLetterTooLarge:
            value = letter.value()
        key = f"{VALUES_PREFIX}/{letter.source_topic}+{letter.source_partition}+{letter.source_offset}"
        if self._lake is None:
            self._lake = self._config.s3.writer()
        self._config.retry.run(
            lambda: self._lake.put(key, value, "application/octet-stream"),
            what=f"keeping a dead letter too large for a record at {key}",
            service="s3",
            transient=(S3WriteError,),
            hooks=self._host,
        )
        kept = replace(letter, value_location=key, value_bytes=len(value))
        value, headers = kept.record(self._config.kafka.message_max_bytes)
        return kept, value, headers

    def add(self, letter: DeadLetter) -> None:
        source = (letter.source_topic or "", letter.source_partition or 0)
        if letter.source_offset is not None and self._ledger.already_written(source, letter.source_offset):
            self._replayed += 1  # produced before a crash, after the last commit: not again
        else:
            self._pending.append(letter)

    def flush(self) -> None:
        letters, self._pending = self._pending, []
        replayed, self._replayed = self._replayed, 0
        if letters:
            self._produce(letters)
            self._host.dead_lettered(len(letters))
            logger.warning("%s records dead-lettered (first: %s)", len(letters), letters[0].error)
        if replayed:
            logger.info("%s records replayed after a restart were dead-lettered already", replayed)

    def _produce(self, letters: list[DeadLetter]) -> None:
        """Every letter acknowledged by Kafka; a letter is sent again only once it is known to have failed."""
        records = [self.fitted(letter) for letter in letters]
        deliveries = Deliveries(expected=len(records))

        def attempt() -> None:
            for index in deliveries.to_send():  # not acknowledged, and not still queued from an earlier attempt
                letter, value, headers = records[index]
                key = str(letter.correlation_id).encode()
                self._producer.send(
                    deliveries, index, self._config.dead_letter_topic, key=key, value=value, headers=headers
                )
            deliveries.wait(FLUSH_SECONDS)
            missing = deliveries.unconfirmed
            if missing:
                raise KafkaException(KafkaError(KafkaError._MSG_TIMED_OUT, f"{missing} dead letters not acknowledged"))

        self._config.retry.run(
            attempt,
            what=f"producing {len(letters)} dead letters",
            service="kafka",
            transient=(KafkaException,),
            hooks=self._host,
        )


class _WriteDeadLettersFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._sink = DeadLetterSink(self._config, self._config.host())

    def process(self, rejected: Rejected) -> None:
        self._sink.add(dead_letter_of(rejected))

    def finish_bundle(self) -> None:
        self._sink.flush()


class WriteDeadLetters(beam.PTransform[Any, Any]):
    """Rejected -> a dead letter in Kafka, durable before the bundle ends."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, rejected: PCollection[Any]) -> Any:
        return rejected | beam.ParDo(_WriteDeadLettersFn(self._config))
