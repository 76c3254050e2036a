"""Where the lake's objects begin and end: a rule over one partition's records, and nothing else.

An object holds consecutive records of one Kafka partition. It ends

- after its `max_records`-th record;
- before a record that would take its records past `max_bytes` (their keys
  and values as Kafka holds them): an object is held whole in memory, and
  S3 takes at most 5 GiB in one PUT;
- before a record whose publishTime falls in a later window than the
  object's first record (windows of `window_seconds`, counted from the epoch,
  so each lies inside one hour);
- when its window has closed by the broker's clock while the reader is at the
  log end. Nothing can join it any more: the broker stamps every record it
  appends later with a later time (LogAppendTime), which the second rule
  would have cut off anyway.

Each rule depends on the records alone, or on the broker's clock once past
the window, never on how the reader happened to poll or when it crashed: a
replay from an object's first offset makes the same objects again.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Generic, TypeVar

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.coders import typecoders

from streaming.pipeline.records import KafkaRecord, reject_faults

T = TypeVar("T")


@dataclass(frozen=True)
class ObjectRule:
    max_records: int = 10_000
    window_seconds: int = 1
    max_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_records < 1:
            raise ValueError(f"an object holds at least one record, not {self.max_records}")
        if self.max_bytes < 1:
            raise ValueError(f"an object holds at least one byte, not {self.max_bytes}")
        if self.window_seconds < 1 or 3600 % self.window_seconds:
            # A window inside one hour: every record of an object shares the hour in its key.
            raise ValueError(f"the object window must divide an hour in whole seconds, not {self.window_seconds}")

    def window_of(self, timestamp_ms: int) -> int:
        return timestamp_ms // (self.window_seconds * 1000)

    def window_end_ms(self, timestamp_ms: int) -> int:
        """The first millisecond after the window of `timestamp_ms`."""
        return (self.window_of(timestamp_ms) + 1) * self.window_seconds * 1000


@dataclass(frozen=True)
class Span(Generic[T]):
    """What became of the records of one object: offsets `start` to `end` (exclusive) of a partition."""

    topic: str
    partition: int
    start: int
    end: int
    first_timestamp_ms: int  # the object's date and hour
    items: Sequence[T]

    def with_items(self, items: Sequence[Any]) -> Span[Any]:
        return Span(self.topic, self.partition, self.start, self.end, self.first_timestamp_ms, items)

    def through(
        self, stage: str, step: Callable[[T], Any], record_of: Callable[[T], KafkaRecord], event_of: Callable[[T], Any]
    ) -> Iterator[Any]:
        """Each item through `step`, a stage of the pipeline: what it refuses (or raises on: reject_faults) as
        it comes, on the "rejected" output, then the span of the rest, in order."""
        kept = []
        for item in self.items:
            result = reject_faults(stage, record_of(item), event_of(item), partial(step, item))
            if isinstance(result, pvalue.TaggedOutput):
                yield result
            else:
                kept.append(result)
        yield self.with_items(kept)


# What a Span's item weighs, for the runner's metrics only.
ITEM_BYTES_ESTIMATE = 1024


class SpanCoder(beam.coders.Coder):
    """Pickles a Span, as Beam's fallback coder would, but estimates its size without doing so.

    The runner samples the size of the elements of every PCollection for its
    metrics, and the fallback coder measures by pickling: a Span of thousands
    of records, pickled at each of four steps, took a sixth of the job's time
    (measured with py-spy). Registered for Span below; the transforms declare
    Span as their output type so that the runner uses it.
    """

    def encode(self, value: Span[Any]) -> bytes:
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    def decode(self, encoded: bytes) -> Span[Any]:
        span: Span[Any] = pickle.loads(encoded)
        return span

    def is_deterministic(self) -> bool:
        return False

    def estimate_size(self, value: Span[Any]) -> int:
        return ITEM_BYTES_ESTIMATE * len(value.items)


typecoders.registry.register_coder(Span, SpanCoder)


class ObjectAssembler:
    """The open object of one partition; each closed one comes back as a Span of its records."""

    def __init__(self, rule: ObjectRule, topic: str, partition: int) -> None:
        self._rule = rule
        self._topic = topic
        self._partition = partition
        self._open: list[KafkaRecord] = []
        self._open_bytes = 0

    @property
    def open_records(self) -> int:
        return len(self._open)

    def add(self, record: KafkaRecord) -> Span[KafkaRecord] | None:
        """Take the next record; the object it closed, if any (before it, or with it as its last)."""
        size = record_bytes(record)
        if self._open and (
            self._rule.window_of(record.timestamp_ms) > self._rule.window_of(self._open[0].timestamp_ms)
            or self._open_bytes + size > self._rule.max_bytes
        ):
            closed = self._close()
            self._open.append(record)  # fewer than max_records: an object that reached it closed already
            self._open_bytes = size
            return closed
        self._open.append(record)
        self._open_bytes += size
        return self._close() if len(self._open) >= self._rule.max_records else None

    def window_end_ms(self) -> int | None:
        """When the open object's window ends, by the broker's clock; None with no open object."""
        return self._rule.window_end_ms(self._open[0].timestamp_ms) if self._open else None

    def close_idle(self) -> Span[KafkaRecord] | None:
        """Close the open object: call only once its window has closed by the broker's clock and the
        reader is at the log end (see the module's docstring)."""
        return self._close() if self._open else None

    def _close(self) -> Span[KafkaRecord]:
        records, self._open, self._open_bytes = self._open, [], 0
        return Span(
            self._topic, self._partition, records[0].offset, records[-1].offset + 1, records[0].timestamp_ms, records
        )


def record_bytes(record: KafkaRecord) -> int:
    """What a record weighs towards its object's max_bytes: its key and value, as Kafka holds them."""
    return len(record.key or b"") + len(record.value or b"")


@dataclass
class BrokerClock:
    """A lower bound on the broker's clock now, from the timestamps it gave the records read.

    A record read at local time r with broker timestamp b shows that the
    local clock is ahead of the broker's by at most r - b (the record waited
    that long, or less, to be read). The smallest gap of the last few minutes
    is the tightest bound: the broker's clock is at least local - gap.
    """

    horizon_seconds: float = 300.0
    _gaps: dict[int, int] = field(default_factory=dict)  # local minute -> smallest gap seen in it, ms

    def observe(self, timestamp_ms: int, local_ms: int | None = None) -> None:
        local_ms = _now_ms() if local_ms is None else local_ms
        minute = local_ms // 60_000
        gap = local_ms - timestamp_ms
        if gap < self._gaps.get(minute, gap + 1):
            self._gaps[minute] = gap
        if len(self._gaps) > 1:
            oldest = minute - int(self.horizon_seconds // 60)
            for stale in [m for m in self._gaps if m < oldest]:
                del self._gaps[stale]

    def at_least(self, local_ms: int | None = None) -> int | None:
        """The broker's clock is at least this (ms since the epoch); None before any record was read."""
        if not self._gaps:
            return None
        return (_now_ms() if local_ms is None else local_ms) - min(self._gaps.values())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
