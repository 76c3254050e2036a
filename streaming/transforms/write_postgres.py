"""WriteToPostgres: each lake object's enriched events into the partitioned `events` table, in batches.

COPY into a temporary table, then `INSERT ... SELECT ... ON CONFLICT DO
NOTHING` against the unique index on (message_id_stamp, timestamp_stamp): a
replay inserts nothing twice (streaming/events_table.py). The
partition of every month a batch touches is created first, so no row waits
in the DEFAULT partition.

An error is sorted by its SQLSTATE. A data error (class 22, such as a value
out of range) or an integrity error (class 23) is the row's fault: the batch
is inserted again row by row, and each refused row goes to the rejected
output, which the pipeline sends to the dead letter in the same bundle. So
does a row the driver cannot even send. Anything else (the server down or
restarting, a lost connection, a permission taken away, a read-only replica)
is the database's fault: retried with backoff on a new connection, the
stream waits and nothing is skipped.

The main output is the span of the events PostgreSQL holds (a replay's rows
it already had included): the lake's object holds only those, so an event is
never in the bucket without its row.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from functools import partial
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
from streaming.events_table import insert_copy, row_of
from streaming.metrics import STREAM_SINK_SECONDS, STREAM_WRITTEN
from streaming.objects import Span
from streaming.partitions import ensure_partitions, month_start
from streaming.records import REJECTED, Enriched, Rejected, log_packages, reject_faults

logger = logging.getLogger(__name__)

# SQLSTATE classes that are the row's fault: data exception, integrity constraint violation.
ROW_FAULT_CLASSES = ("22", "23")

psycopg2.extras.register_uuid()


class DatabaseUnavailable(Exception):
    """PostgreSQL failed for a reason of its own (not the row's): to be retried."""


def is_row_fault(error: Exception) -> bool:
    """Is this the row's fault (refuse it) rather than the database's (wait and retry)?"""
    if isinstance(error, psycopg2.Error):
        # psycopg2 raises DataError for class 22 and IntegrityError for class 23.
        by_class = isinstance(error, (psycopg2.DataError, psycopg2.IntegrityError))
        return by_class or (error.pgcode or "")[:2] in ROW_FAULT_CLASSES
    # What psycopg2 refuses before sending: a NUL character in a text, a value it cannot adapt.
    return isinstance(error, (ValueError, TypeError, OverflowError))


def _row(event: Enriched) -> tuple[Any, ...]:
    return row_of(event.event, event.body.decode())


Batch = list[tuple[tuple[Any, ...], Enriched]]


class _WriteToPostgresFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._connection: Any = None  # used by the writer thread only
        self._months: set[date] = set()
        # One thread writes, span after span, while this one prepares the next span's rows (and the
        # transforms before it decode the next object): PostgreSQL's time overlaps Python's.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="postgres-sink")

    def start_bundle(self) -> None:
        self._pending: deque[tuple[Span[Enriched], Future[tuple[list[Enriched], list[Rejected]]]]] = deque()

    def process(self, span: Span[Enriched]) -> Iterator[Any]:
        batch: Batch = []
        for event in span.items:
            row = reject_faults("postgres row", event.record, event.event, partial(_row, event))
            if isinstance(row, pvalue.TaggedOutput):  # the row cannot even be made
                yield row
            else:
                batch.append((row, event))
        self._pending.append((span, self._writer.submit(self._write, batch)))
        # What is written already goes on; the span just submitted is written meanwhile.
        while self._pending and self._pending[0][1].done():
            yield from self._results(lambda value: value)

    def finish_bundle(self) -> Iterator[Any]:
        # Every span of the bundle written before it ends: the source commits after this.
        while self._pending:
            # Outside process() an output needs its window: the stream has only the global one.
            yield from self._results(lambda value: WindowedValue(value, MIN_TIMESTAMP, (GlobalWindow(),)))

    def _results(self, wrap: Callable[[Any], Any]) -> Iterator[Any]:
        span, future = self._pending.popleft()
        written, refused = future.result()  # re-raises StoppedDuringOutage: the bundle fails, nothing is committed
        for rejected in refused:
            yield pvalue.TaggedOutput(REJECTED, wrap(rejected))
        yield wrap(span.with_items(written))

    def _write(self, batch: Batch) -> tuple[list[Enriched], list[Rejected]]:
        written: list[Enriched] = []
        refused: list[Rejected] = []
        size = self._config.postgres_batch_size
        for first in range(0, len(batch), size):
            done, failed = self._flush(batch[first : first + size])
            written.extend(done)
            refused.extend(failed)
        return written, refused

    def _connect(self) -> Any:
        if self._connection is None or self._connection.closed:
            try:
                self._connection = psycopg2.connect(**self._config.postgres_dsn)
            except psycopg2.Error as error:
                raise DatabaseUnavailable(f"cannot connect: {error}".strip()) from error
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg2.Error):
                self._connection.close()
        self._connection = None

    def _flush(self, batch: Batch) -> tuple[list[Enriched], list[Rejected]]:
        """Insert a batch: the events PostgreSQL holds, and the rows it refused."""
        if not batch:
            return [], []
        started = time.monotonic()
        refused = self._config.retry.run(
            lambda: self._insert(batch),
            what=f"inserting {len(batch)} rows into PostgreSQL",
            service="postgres",
            transient=(DatabaseUnavailable,),
            on_retry=self._disconnect,
        )
        refused_events = {id(rejected.record) for rejected in refused}
        written = [event for _, event in batch if id(event.record) not in refused_events]
        STREAM_SINK_SECONDS.labels("postgres").observe(time.monotonic() - started)
        STREAM_WRITTEN.labels("postgres").inc(len(written))
        log_packages(logger, "postgres", written)
        return written, refused

    def _insert(self, batch: Batch) -> list[Rejected]:
        """Insert the batch; the rows PostgreSQL refused, each for a reason of its own."""
        connection = self._connect()
        rows = [row for row, _ in batch]
        try:
            with connection.cursor() as cursor:
                months = {month_start(row[0]) for row in rows} - self._months
                if months:
                    ensure_partitions(cursor, sorted(months))
                    connection.commit()
                    self._months |= months
                self._execute(connection, cursor, rows)
                return []
        except Exception as error:
            self._rollback(connection)
            if not is_row_fault(error):
                raise DatabaseUnavailable(f"{type(error).__name__}: {error}".strip()) from error
            logger.warning("a batch of %s rows was refused (%s); inserting row by row", len(rows), error)
        refused = []
        with connection.cursor() as cursor:
            for row, event in batch:
                try:
                    self._execute(connection, cursor, [row])
                except Exception as error:
                    self._rollback(connection)
                    if not is_row_fault(error):
                        raise DatabaseUnavailable(f"{type(error).__name__}: {error}".strip()) from error
                    message = f"PostgreSQL refused the row: {getattr(error, 'pgcode', None) or type(error).__name__}"
                    refused.append(Rejected(event.record, f"{message}: {error}".strip(), event.event))
        return refused

    @staticmethod
    def _execute(connection: Any, cursor: Any, rows: list[tuple[Any, ...]]) -> None:
        insert_copy(cursor, rows)  # the faster of the two (bench/postgres_write.py)
        connection.commit()

    @staticmethod
    def _rollback(connection: Any) -> None:
        with contextlib.suppress(psycopg2.Error):
            connection.rollback()

    def teardown(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.shutdown(wait=True)
        self._disconnect()


class WriteToPostgres(beam.PTransform[Any, Any]):
    """A Span of Enriched -> rows of `events`: the Span of the events PostgreSQL holds (main output
    "written") and each row it refused (output "rejected")."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, events: PCollection[Any]) -> Any:
        return events | beam.ParDo(_WriteToPostgresFn(self._config)).with_output_types(Span).with_outputs(
            REJECTED, main="written"
        )
