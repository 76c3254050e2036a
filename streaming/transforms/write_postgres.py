"""WriteToPostgres: enriched events into the partitioned `events` table, in batches.

`INSERT ... ON CONFLICT DO NOTHING` against the unique index on
(message_id_stamp, timestamp_stamp): a replay inserts nothing twice. The
partition of every month a batch touches is created first, so no row waits
in the DEFAULT partition. A database that does not answer is retried with
backoff (the stream waits; nothing is skipped). A row PostgreSQL refuses for
a reason of its own (a NUL character in a text, say) is found by inserting
the batch row by row, and only that row goes to the dead letter.
"""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import date
from typing import Any

import apache_beam as beam
import psycopg2
import psycopg2.extras
from apache_beam.pvalue import PCollection

from holded.metrics import STREAM_SINK_SECONDS, STREAM_WRITTEN
from streaming import lifecycle
from streaming.config import StreamConfig
from streaming.enrichment import postgres_row
from streaming.partitions import ensure_partitions, month_start
from streaming.records import Enriched, Rejected, log_packages
from streaming.transforms.write_dead_letters import DeadLetterSink, dead_letter_of

logger = logging.getLogger(__name__)

COLUMNS = (
    "timestamp_stamp, message_id_stamp, correlation_id, type, target_subscription, "
    "new_context_account_id, new_context_user_id, data"
)
INSERT = f"INSERT INTO events ({COLUMNS}) VALUES %s ON CONFLICT DO NOTHING"
# What a database outage looks like to psycopg2 (as opposed to a refused row).
TRANSIENT = (psycopg2.OperationalError, psycopg2.InterfaceError)

psycopg2.extras.register_uuid()


class _WriteToPostgresFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._connection: Any = None
        self._months: set[date] = set()
        self._dead_letters = DeadLetterSink(self._config)

    def start_bundle(self) -> None:
        self._batch: list[tuple[tuple[Any, ...], Enriched]] = []

    def process(self, event: Enriched) -> None:
        self._batch.append((postgres_row(event.event, event.body.decode()), event))
        if len(self._batch) >= self._config.postgres_batch_size:
            self._flush()

    def finish_bundle(self) -> None:
        self._flush()
        self._dead_letters.flush()

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
            lifecycle.retry(
                lambda: self._insert(batch),
                what=f"inserting {len(batch)} rows into PostgreSQL",
                service="postgres",
                transient=TRANSIENT,
                first_delay=self._config.retry_first_seconds,
                max_delay=self._config.retry_max_seconds,
                on_retry=self._disconnect,
            )
            STREAM_SINK_SECONDS.labels("postgres").observe(time.monotonic() - started)
            STREAM_WRITTEN.labels("postgres").inc(len(batch))
            log_packages(logger, "postgres", [event for _, event in batch])

    def _insert(self, batch: list[tuple[tuple[Any, ...], Enriched]]) -> None:
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
                return
            except TRANSIENT:
                raise
            except psycopg2.Error as error:
                connection.rollback()
                logger.warning("a batch of %s rows was refused (%s); inserting row by row", len(rows), error)
            for row, event in batch:
                try:
                    psycopg2.extras.execute_values(cursor, INSERT, [row])
                    connection.commit()
                except TRANSIENT:
                    raise
                except psycopg2.Error as error:
                    connection.rollback()
                    rejected = Rejected(event.record, f"PostgreSQL refused the row: {error}".strip(), event.event)
                    self._dead_letters.add(dead_letter_of(rejected))

    def teardown(self) -> None:
        self._disconnect()
        sink = getattr(self, "_dead_letters", None)
        if sink is not None:
            sink.close()


class WriteToPostgres(beam.PTransform[Any, Any]):
    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, events: PCollection[Any]) -> Any:
        return events | beam.ParDo(_WriteToPostgresFn(self._config))
