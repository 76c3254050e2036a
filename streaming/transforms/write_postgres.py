"""WriteToPostgres: enriched events into the partitioned `events` table, in batches.

`INSERT ... ON CONFLICT DO NOTHING` against the unique index on
(message_id_stamp, timestamp_stamp): a replay inserts nothing twice. The
partition of every month a batch touches is created first, so no row waits
in the DEFAULT partition. A database that does not answer is retried with
backoff (the stream waits; nothing is skipped). A row PostgreSQL refuses for
a reason of its own (a NUL character in a text, say) is found by inserting
the batch row by row, and only that row goes to the rejected output, which
the pipeline sends to the dead letter in the same bundle.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import apache_beam as beam
import psycopg2
import psycopg2.extras
from apache_beam import pvalue
from apache_beam.pvalue import PCollection
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from streaming.config import StreamConfig
from streaming.events_table import INSERT, row_of
from streaming.metrics import STREAM_SINK_SECONDS, STREAM_WRITTEN
from streaming.partitions import ensure_partitions, month_start
from streaming.records import REJECTED, Enriched, Rejected, log_packages

logger = logging.getLogger(__name__)

# What a database outage looks like to psycopg2 (as opposed to a refused row).
TRANSIENT = (psycopg2.OperationalError, psycopg2.InterfaceError)

psycopg2.extras.register_uuid()


class _WriteToPostgresFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._connection: Any = None
        self._months: set[date] = set()

    def start_bundle(self) -> None:
        self._batch: list[tuple[tuple[Any, ...], Enriched]] = []
        self._refused: list[Rejected] = []

    def process(self, event: Enriched) -> Iterator[Any]:
        self._batch.append((row_of(event.event, event.body.decode()), event))
        if len(self._batch) >= self._config.postgres_batch_size:
            self._flush()
        yield from self._emit_refused(lambda rejected: rejected)

    def finish_bundle(self) -> Iterator[Any]:
        self._flush()
        # Outside process() an output needs its window: the stream has only the global one.
        yield from self._emit_refused(lambda rejected: WindowedValue(rejected, MIN_TIMESTAMP, (GlobalWindow(),)))

    def _emit_refused(self, wrap: Callable[[Rejected], Any]) -> Iterator[Any]:
        refused, self._refused = self._refused, []
        for rejected in refused:
            yield pvalue.TaggedOutput(REJECTED, wrap(rejected))

    def _connect(self) -> Any:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg2.connect(**self._config.postgres_dsn)
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg2.Error):
                self._connection.close()
        self._connection = None

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if batch:
            started = time.monotonic()
            refused = self._config.retry.run(
                lambda: self._insert(batch),
                what=f"inserting {len(batch)} rows into PostgreSQL",
                service="postgres",
                transient=TRANSIENT,
                on_retry=self._disconnect,
            )
            self._refused.extend(refused)
            STREAM_SINK_SECONDS.labels("postgres").observe(time.monotonic() - started)
            STREAM_WRITTEN.labels("postgres").inc(len(batch) - len(refused))
            log_packages(logger, "postgres", [event for _, event in batch])

    def _insert(self, batch: list[tuple[tuple[Any, ...], Enriched]]) -> list[Rejected]:
        """Insert the batch; the rows PostgreSQL refused, each for a reason of its own."""
        connection = self._connect()
        rows = [row for row, _ in batch]
        with connection.cursor() as cursor:
            months = {month_start(row[0]) for row in rows} - self._months
            if months:
                ensure_partitions(cursor, sorted(months))
                connection.commit()
                self._months |= months
            try:
                psycopg2.extras.execute_values(cursor, INSERT, rows, page_size=len(rows))
                connection.commit()
                return []
            except TRANSIENT:
                raise
            except psycopg2.Error as error:
                connection.rollback()
                logger.warning("a batch of %s rows was refused (%s); inserting row by row", len(rows), error)
            refused = []
            for row, event in batch:
                try:
                    psycopg2.extras.execute_values(cursor, INSERT, [row])
                    connection.commit()
                except TRANSIENT:
                    raise
                except psycopg2.Error as error:
                    connection.rollback()
                    refused.append(Rejected(event.record, f"PostgreSQL refused the row: {error}".strip(), event.event))
            return refused

    def teardown(self) -> None:
        self._disconnect()


class WriteToPostgres(beam.PTransform[Any, Any]):
    """Enriched -> rows of `events`; the rows PostgreSQL refuses as Rejected (output "rejected")."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, events: PCollection[Any]) -> Any:
        return events | beam.ParDo(_WriteToPostgresFn(self._config)).with_outputs(REJECTED, main="written")
