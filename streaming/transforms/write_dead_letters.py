"""WriteDeadLetters: stream-side rejects to events.dead.letter and the S3 store.

Same format as the collector's dead letters (collector/dead_letter.py), with
`error.stage=stream` and the record's original topic, partition and offset.
Kafka's acknowledgement and the S3 write are waited for in finish_bundle, so
the source commits a rejected record's offset only once its dead letter is
safe. A dead letter's id is the record's correlationId; a record without one
gets an id derived from its topic, partition and offset, so a replay writes
the same S3 key again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection
from botocore.exceptions import BotoCoreError, ClientError
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from collector.dead_letter import DeadLetter
from collector.ids import package_id_of
from holded.metrics import STREAM_DEAD_LETTERS
from holded.storage import make_s3_client
from streaming import lifecycle
from streaming.config import StreamConfig
from streaming.enrichment import correlation_id_of
from streaming.records import Rejected

logger = logging.getLogger(__name__)

RECORD_ID_NAMESPACE = uuid.UUID("6b3d2f4e-1c9a-4f7e-9a51-3d0c2b8e7f10")


def s3_client(config: StreamConfig, pool_size: int) -> Any:
    return make_s3_client(
        endpoint_url=config.s3_endpoint_url,
        region=config.s3_region,
        access_key_id=config.s3_access_key_id,
        secret_access_key=config.s3_secret_access_key,
        pool_size=pool_size,
    )


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


class DeadLetterSink:
    """Produces dead letters and copies them to S3; `flush` returns once both hold every one."""

    def __init__(self, config: StreamConfig) -> None:
        self._config = config
        self._producer = Producer(
            {
                "bootstrap.servers": config.bootstrap_servers,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "client.id": f"{config.group_id}-dead-letters",
            }
        )
        self._s3 = s3_client(config, pool_size=4)
        self._pending: list[DeadLetter] = []

    def add(self, letter: DeadLetter) -> None:
        self._pending.append(letter)

    def flush(self) -> None:
        letters, self._pending = self._pending, []
        if not letters:
            return
        unsent = list(letters)

        def produce_all() -> None:
            nonlocal unsent
            failed: list[DeadLetter] = []
            lock = threading.Lock()

            def on_delivery(letter: DeadLetter) -> Any:
                def callback(error: KafkaError | None, _message: Message) -> None:
                    if error is not None:
                        with lock:
                            failed.append(letter)

                return callback

            for letter in unsent:
                self._producer.produce(
                    self._config.dead_letter_topic,
                    key=str(letter.correlation_id).encode(),
                    value=letter.value(),
                    headers=letter.headers(),
                    on_delivery=on_delivery(letter),
                )
            remaining = self._producer.flush(30)
            if remaining or failed:
                unsent = failed
                raise KafkaException(
                    KafkaError(KafkaError._MSG_TIMED_OUT, f"{len(failed)} dead letters not acknowledged")
                )

        lifecycle.retry(
            produce_all,
            what=f"producing {len(letters)} dead letters",
            service="kafka",
            transient=(KafkaException, BufferError),
            first_delay=self._config.retry_first_seconds,
            max_delay=self._config.retry_max_seconds,
        )
        for letter in letters:
            lifecycle.retry(
                lambda letter=letter: self._s3.put_object(  # type: ignore[misc]
                    Bucket=self._config.s3_bucket,
                    Key=letter.object_key(),
                    Body=letter.object_body(),
                    ContentType="application/json",
                ),
                what=f"writing dead letter {letter.correlation_id} to S3",
                service="s3",
                transient=(BotoCoreError, ClientError),
                first_delay=self._config.retry_first_seconds,
                max_delay=self._config.retry_max_seconds,
            )
        STREAM_DEAD_LETTERS.inc(len(letters))
        logger.warning("%s records dead-lettered (first: %s)", len(letters), letters[0].error)

    def close(self) -> None:
        self._producer.flush(10)


class _WriteDeadLettersFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._sink = DeadLetterSink(self._config)

    def process(self, rejected: Rejected) -> None:
        self._sink.add(dead_letter_of(rejected))

    def finish_bundle(self) -> None:
        self._sink.flush()

    def teardown(self) -> None:
        sink = getattr(self, "_sink", None)
        if sink is not None:
            sink.close()


class WriteDeadLetters(beam.PTransform[Any, Any]):
    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, rejected: PCollection[Any]) -> Any:
        return rejected | beam.ParDo(_WriteDeadLettersFn(self._config))
