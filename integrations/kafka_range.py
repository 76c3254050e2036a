"""Reading one partition's records between two offsets: the one loop every reader of a range uses.

Reconcile reads a window of each topic, the status page the newest dead
letters, the stream's replay ledger the dead letters written since a commit.
Each knows the range it wants ([first, end), `end` at most the high
watermark); this reads it whole, in order, or says it could not: a broker
that stops answering part way raises RangeIncomplete rather than handing back
a short read the caller would take for the whole range.
"""

from __future__ import annotations

from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

BATCH = 1000  # records asked of the consumer at a time, at most what is left of the range
TIMEOUT_SECONDS = 5.0  # for each batch
STALLED_BATCHES = 3  # batches in a row with errors only (no record) before the read gives up


class RangeIncomplete(KafkaException):
    """The broker stopped answering before the end of the range."""


def read_range(
    consumer: Consumer,
    topic: str,
    partition: int,
    first: int,
    end: int,
    *,
    batch: int = BATCH,
    timeout: float = TIMEOUT_SECONDS,
) -> Iterator[Message]:
    """The records of `topic`[`partition`] with offsets in [first, end), in order; records in error are skipped.

    The consumer is assigned the partition for the read and unassigned after, so one consumer (of no group)
    reads range after range.
    """
    if first >= end:
        return
    consumer.assign([TopicPartition(topic, partition, first)])
    try:
        position = first
        stalled = 0  # batches in a row that brought errors only
        stalled_by: object = "no record"
        while position < end:
            # No more than are left: a batch asked for more than the partition holds waits out its timeout.
            messages = consumer.consume(min(batch, end - position), timeout=timeout)
            if not messages:
                raise RangeIncomplete(
                    f"{topic}[{partition}]: no answer within {timeout:g}s at offset {position} of {end}"
                )
            before = position
            for message in messages:
                error = message.error()
                if error is not None:
                    stalled_by = error
                    continue
                offset = message.offset()
                if offset is None:
                    continue
                if offset >= end:
                    return
                position = offset + 1
                yield message
            stalled = stalled + 1 if position == before else 0
            if stalled >= STALLED_BATCHES:
                raise RangeIncomplete(f"{topic}[{partition}]: only errors at offset {position}: {stalled_by}")
    finally:
        consumer.unassign()
