"""WriteToLake: each Span as one JSON Lines object in the S3 store (contract section 7).

`<prefix>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<start offset>.jsonl`
(contract/lake.py), one line per item. A span's offsets and items are the
same on a replay (streaming/pipeline/objects.py), so a replay writes the same object
at the same key, byte for byte: the S3 sink is idempotent without reading
anything back. A span with no item (every record of it dead-lettered)
writes no object; its offsets are accounted for by the dead letters.

The PUTs run on a small thread pool while the bundle goes on, and are all
waited for in finish_bundle, retrying a store that does not answer, so the
source commits an object's offsets only once the store holds it.

One item never holds up the others. An item whose line cannot be made is
that item's fault. An object the store refuses, for whatever reason (obstore
gives a store's fault and a refusal of this object one type), is split in halves,
each its own object keyed by its first item's offset, until every item the
store refuses is alone and a write known to be good (a PUT of a probe
object) succeeds (streaming/pipeline/isolation.py): the same refusals make the same
objects on a replay. A refused enriched event goes to the rejected output,
whose row WriteToPostgres' RemoveRows takes back before it is dead-lettered,
so the event is in one place only; a refused dead letter is archived as a
line naming where the topic, its record of truth, holds it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.pvalue import PCollection
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from contract import lake
from contract.dead_letter import archive_line, archive_stub
from integrations.s3_writer import S3WriteError
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.isolation import SinkUnavailable, isolate
from streaming.pipeline.objects import Span
from streaming.pipeline.records import REJECTED, Enriched, KafkaRecord, Rejected, log_packages

logger = logging.getLogger(__name__)

LAKE_PUT_THREADS = 2
# The object a probe writes, overwritten each time: outside the prefixes the lake's readers list.
PROBE_KEY = "_health/stream-probe"


def enriched_line(event: Enriched) -> bytes:
    return event.body


def dead_letter_line(record: KafkaRecord) -> bytes:
    """The record's line: its event as JSON, else its bytes in base64, else (nothing else could be
    written) a line naming where the topic holds it. Whatever the record holds, a line is made."""
    headers = list(record.headers)
    try:
        return lake.line(archive_line(record.value, headers, record.timestamp_ms))
    except (ValueError, RecursionError):  # JSON that reads but does not write back: kept as its bytes
        pass
    try:
        return lake.line(archive_line(record.value, headers, record.timestamp_ms, as_json=False))
    except Exception as error:  # whatever else a hostile record does to the line, it is that record's alone
        return dead_letter_stub(record, f"its line could not be made: {type(error).__name__}: {error}")


def dead_letter_stub(record: KafkaRecord, why: str) -> bytes:
    source = (record.topic, record.partition, record.offset)
    return lake.line(archive_stub(list(record.headers), record.timestamp_ms, source, why))


def record_of(item: Enriched | KafkaRecord) -> KafkaRecord:
    return item.record if isinstance(item, Enriched) else item


Line = tuple[Any, bytes]  # an item and its line


@dataclass
class Written:
    """What became of one span in the store: its objects (key, items), and the items it refused."""

    objects: list[tuple[str, list[Any]]] = field(default_factory=list)
    refused: list[tuple[Any, BaseException]] = field(default_factory=list)
    seconds: float = 0.0


class _WriteToLakeFn(beam.DoFn):
    def __init__(
        self,
        config: StreamConfig,
        prefix: str,
        line_of: Callable[[Any], bytes],
        stub_of: Callable[[KafkaRecord, str], bytes] | None,
    ) -> None:
        self._config = config
        self._prefix = prefix
        self._line_of = line_of
        self._stub_of = stub_of

    def setup(self) -> None:
        self._host = self._config.host()
        self._writer = self._config.s3.writer()
        # PUTs on their own threads, while this one goes on with the bundle's next object.
        self._puts = ThreadPoolExecutor(LAKE_PUT_THREADS, thread_name_prefix=f"s3-{self._prefix}")

    def start_bundle(self) -> None:
        self._pending: list[tuple[Span[Any], Future[Written]]] = []

    def process(self, span: Span[Any]) -> None:
        if span.items:
            self._pending.append((span, self._puts.submit(self._write, span)))

    def _write(self, span: Span[Any]) -> Written:
        """The span's objects in the store, retries included; the items the store refused."""
        started = time.monotonic()
        written = self._config.retry.run(
            lambda: self._write_span(span),
            what=f"writing {self._prefix} objects of {span.topic}[{span.partition}]@{span.start} to S3",
            service="s3",
            transient=(S3WriteError, SinkUnavailable),
            hooks=self._host,
        )
        written.seconds = time.monotonic() - started
        return written

    def _write_span(self, span: Span[Any]) -> Written:
        written = Written()
        lines: list[Line] = []
        for item in span.items:
            lines.append((item, self._line_of(item)))
        isolated = isolate(
            lines,
            lambda part: self._put(span, part),
            # None known at once: obstore gives a store's fault and some refusals one type; the probe decides.
            transient=lambda _error: False,
            probe=lambda: self._writer.put(PROBE_KEY, b"probe\n", lake.CONTENT_TYPE),
        )
        written.objects = [(key, [item for item, _ in part]) for part, key in isolated.written]
        for (item, _), error in isolated.refused:
            if self._stub_of is None:
                written.refused.append((item, error))
            else:  # a dead letter: its line names where the topic keeps it
                stub = self._stub_of(record_of(item), f"the lake refused its line: {error}")
                key = self._key(span, [(item, stub)])
                self._writer.put(key, lake.body([stub], compressed=self._config.lake_gzip), lake.CONTENT_TYPE)
                written.objects.append((key, [item]))
        return written

    def _key(self, span: Span[Any], part: Sequence[Line]) -> str:
        """The span's key for the part that starts with its first item; else its first item's offset."""
        first = record_of(part[0][0]).offset
        start = span.start if part[0][0] is span.items[0] else first
        compressed = self._config.lake_gzip
        return lake.object_key(
            self._prefix, span.topic, span.partition, start, span.first_timestamp_ms, compressed=compressed
        )

    def _put(self, span: Span[Any], part: Sequence[Line]) -> str:
        key = self._key(span, part)
        body = lake.body((line for _, line in part), compressed=self._config.lake_gzip)
        self._writer.put(key, body, lake.CONTENT_TYPE)
        return key

    def finish_bundle(self) -> Iterator[Any]:
        # Every object of the bundle in the store before it ends: the source commits after this.
        pending, self._pending = self._pending, []
        sink = "s3" if self._prefix == lake.ENRICHED_PREFIX else f"s3-{self._prefix}"
        for _, put in pending:
            written = put.result()  # re-raises StoppedDuringOutage
            self._host.flushed(sink, written.seconds)
            for key, items in written.objects:
                self._host.object_written(self._prefix)
                if self._prefix == lake.ENRICHED_PREFIX:
                    self._host.written("s3", len(items))
                    # The lake is the last sink: PostgreSQL wrote these rows before.
                    self._host.landed([event.record.timestamp_ms for event in items])
                    log_packages(logger, f"s3 {key}", items)
                else:
                    logger.info("s3 %s: archived %d dead letters", key, len(items))
            for item, error in written.refused:
                logger.warning("the lake refused %s alone: %s", record_of(item), error)
                rejected = Rejected(record_of(item), f"the lake refused the event: {error}", item.event)
                # Outside process() an output needs its window: the stream has only the global one.
                yield pvalue.TaggedOutput(REJECTED, WindowedValue(rejected, MIN_TIMESTAMP, (GlobalWindow(),)))

    def teardown(self) -> None:
        puts = getattr(self, "_puts", None)
        if puts is not None:
            puts.shutdown(wait=True)


class WriteToLake(beam.PTransform[Any, Any]):
    """Span -> its objects under `prefix`, their lines made by `line_of` (a module-level function). With
    `stub_of`, an item the store refuses is archived as the line it makes; without, it is output as a
    Rejected (output "rejected")."""

    def __init__(
        self,
        config: StreamConfig,
        prefix: str,
        line_of: Callable[[Any], bytes],
        stub_of: Callable[[KafkaRecord, str], bytes] | None = None,
    ) -> None:
        super().__init__()
        self._config = config
        self._prefix = prefix
        self._line_of = line_of
        self._stub_of = stub_of

    def expand(self, spans: PCollection[Any]) -> Any:
        return spans | beam.ParDo(
            _WriteToLakeFn(self._config, self._prefix, self._line_of, self._stub_of)
        ).with_outputs(REJECTED, main="written")
