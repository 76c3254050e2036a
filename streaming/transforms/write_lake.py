"""WriteToLake: each Span as one JSON Lines object in the S3 store (contract section 7).

`<prefix>/dt=YYYY-MM-DD/hour=HH/<topic>+<partition>+<start offset>.jsonl`
(contract/lake.py), one line per item. A span's offsets and items are the
same on a replay (streaming/objects.py), so a replay writes the same object
at the same key, byte for byte: the S3 sink is idempotent without reading
anything back. A span with no item (every record of it dead-lettered)
writes no object; its offsets are accounted for by the dead letters.

The PUTs run on a small thread pool while the bundle goes on, and are all
waited for in finish_bundle, retrying a store that does not answer, so the
source commits an object's offsets only once the store holds it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from contract import lake
from contract.dead_letter import archive_line
from integrations.s3_writer import S3WriteError
from streaming.config import StreamConfig
from streaming.metrics import FRESHNESS, STREAM_OBJECTS, STREAM_SINK_SECONDS, STREAM_WRITTEN
from streaming.objects import Span
from streaming.records import Enriched, KafkaRecord, log_packages

logger = logging.getLogger(__name__)

LAKE_PUT_THREADS = 2


def enriched_line(event: Enriched) -> bytes:
    return event.body


def dead_letter_line(record: KafkaRecord) -> bytes:
    headers = list(record.headers)
    try:
        return lake.line(archive_line(record.value, headers, record.timestamp_ms))
    except (ValueError, RecursionError):  # JSON that reads but does not write back: kept as its bytes
        return lake.line(archive_line(record.value, headers, record.timestamp_ms, as_json=False))


class _WriteToLakeFn(beam.DoFn):
    def __init__(self, config: StreamConfig, prefix: str, line_of: Callable[[Any], bytes]) -> None:
        self._config = config
        self._prefix = prefix
        self._line_of = line_of

    def setup(self) -> None:
        self._writer = self._config.s3.writer()
        # PUTs on their own threads, while this one goes on with the bundle's next object.
        self._puts = ThreadPoolExecutor(LAKE_PUT_THREADS, thread_name_prefix=f"s3-{self._prefix}")

    def start_bundle(self) -> None:
        self._pending: list[tuple[str, Span[Any], Future[float]]] = []

    def process(self, span: Span[Any]) -> None:
        if not span.items:
            return
        compressed = self._config.lake_gzip
        key = lake.object_key(
            self._prefix, span.topic, span.partition, span.start, span.first_timestamp_ms, compressed=compressed
        )
        body = lake.body((self._line_of(item) for item in span.items), compressed=compressed)
        self._pending.append((key, span, self._puts.submit(self._put, key, body)))

    def _put(self, key: str, body: bytes) -> float:
        """Seconds the PUT took, retries included."""
        started = time.monotonic()
        self._config.retry.run(
            lambda: self._writer.put(key, body, lake.CONTENT_TYPE),
            what=f"writing {key} to S3",
            service="s3",
            transient=(S3WriteError,),
        )
        return time.monotonic() - started

    def finish_bundle(self) -> None:
        # Every object of the bundle in the store before it ends: the source commits after this.
        pending, self._pending = self._pending, []
        sink = "s3" if self._prefix == lake.ENRICHED_PREFIX else f"s3-{self._prefix}"
        for key, span, put in pending:
            STREAM_SINK_SECONDS.labels(sink).observe(put.result())  # re-raises StoppedDuringOutage
            STREAM_OBJECTS.labels(self._prefix).inc()
            if self._prefix == lake.ENRICHED_PREFIX:
                STREAM_WRITTEN.labels("s3").inc(len(span.items))
                # The lake is the last sink: PostgreSQL wrote these rows before.
                FRESHNESS.observe([event.record.timestamp_ms for event in span.items])
                log_packages(logger, f"s3 {key}", list(span.items))
            else:
                logger.info("s3 %s: archived %d dead letters", key, len(span.items))

    def teardown(self) -> None:
        puts = getattr(self, "_puts", None)
        if puts is not None:
            puts.shutdown(wait=True)


class WriteToLake(beam.PTransform[Any, Any]):
    """Span -> one object under `prefix`, its lines made by `line_of` (a module-level function)."""

    def __init__(self, config: StreamConfig, prefix: str, line_of: Callable[[Any], bytes]) -> None:
        super().__init__()
        self._config = config
        self._prefix = prefix
        self._line_of = line_of

    def expand(self, spans: PCollection[Any]) -> Any:
        return spans | beam.ParDo(_WriteToLakeFn(self._config, self._prefix, self._line_of))
