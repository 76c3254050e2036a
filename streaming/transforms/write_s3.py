"""WriteToS3: each enriched event PostgreSQL holds as one JSON object at a deterministic key.

`enriched/dt=YYYY-MM-DD/<correlationId>.json` (the date of timestampStamp),
so a replay overwrites the same object. Puts (integrations/s3_writer.py: a third
of boto3's cost per small object) run on a thread pool; finish_bundle waits
for all of them, retrying a store that does not answer, so the source
commits only what the store holds.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import apache_beam as beam
from apache_beam.pvalue import PCollection

from integrations.s3_writer import S3WriteError
from streaming.config import StreamConfig
from streaming.metrics import FRESHNESS, STREAM_SINK_SECONDS, STREAM_WRITTEN
from streaming.records import Enriched, log_packages

logger = logging.getLogger(__name__)


class _WriteToS3Fn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._writer = self._config.s3.writer()
        self._pool = ThreadPoolExecutor(self._config.s3_concurrency, thread_name_prefix="s3-sink")

    def start_bundle(self) -> None:
        self._pending: list[Future[None]] = []
        self._events: list[Enriched] = []

    def _put(self, event: Enriched) -> None:
        self._config.retry.run(
            lambda: self._writer.put(event.s3_key, event.body),
            what=f"writing {event.s3_key} to S3",
            service="s3",
            transient=(S3WriteError,),
        )

    def process(self, event: Enriched) -> None:
        self._pending.append(self._pool.submit(self._put, event))
        self._events.append(event)

    def finish_bundle(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        started = time.monotonic()
        for future in pending:
            future.result()  # re-raises StoppedDuringOutage: the bundle fails, nothing is committed
        STREAM_SINK_SECONDS.labels("s3").observe(time.monotonic() - started)
        STREAM_WRITTEN.labels("s3").inc(len(pending))
        events, self._events = self._events, []
        # S3 is the last sink: PostgreSQL wrote these rows before them.
        FRESHNESS.observe([event.record.timestamp_ms for event in events])
        log_packages(logger, "s3", events)

    def teardown(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=True)


class WriteToS3(beam.PTransform[Any, Any]):
    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, events: PCollection[Any]) -> Any:
        return events | beam.ParDo(_WriteToS3Fn(self._config))
