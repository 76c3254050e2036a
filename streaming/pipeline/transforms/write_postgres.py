"""WriteToPostgres: each lake object's enriched events into the partitioned `events` table, in batches.

COPY into a temporary table, then `INSERT ... SELECT ... ON CONFLICT DO
NOTHING` against the unique index on (message_id_stamp, timestamp_stamp): a
replay inserts nothing twice (streaming/table/events_table.py). The
partition of every month a batch touches is created first, so no row waits
in the DEFAULT partition.

A batch PostgreSQL refuses is sorted by behaviour, not by a list
(streaming/pipeline/isolation.py): unless its error is plainly the database's (a lost
connection, or a SQLSTATE of a class that names the server's trouble:
`is_database_fault`), the batch is split in halves until each row that fails
is alone, and such a row goes to the rejected output (the dead letter, in the
same bundle) only if a write known to be good then succeeds. Otherwise the
database is at fault: the write is retried with backoff on a new
connection, the stream waits and nothing is skipped. So an error of a kind
nobody listed (an index entry too large, a trigger's own SQLSTATE) costs one
row, never the stream.

A row whose key (message id and timestamp) another event holds already, with
other content, is refused too: PostgreSQL keeps one row per key, so it would
be in the lake and not in the table. A resend of the same content is not:
the lake keeps every line, the table the first (decision 24).

The main output is the span of the events PostgreSQL holds (a replay's rows
it already had included): the lake's object holds only those, so an event is
never in the bucket without its row.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import apache_beam as beam
import psycopg2
import psycopg2.errorcodes
import psycopg2.errors
import psycopg2.extras
from apache_beam import pvalue
from apache_beam.pvalue import PCollection
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from contract.dead_letter import ERROR_MAX_BYTES
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.isolation import SinkUnavailable, isolate
from streaming.pipeline.objects import Span
from streaming.pipeline.records import REJECTED, Enriched, Rejected, log_packages, reject_faults
from streaming.table.events_table import Skipped, insert_copy, row_of, take_back
from streaming.table.partitions import ensure_partitions, month_start

logger = logging.getLogger(__name__)

# SQLSTATEs that name the server's trouble, not a row's: retried at once, without looking for a row at fault.
# Classes: 08 connection, 40 transaction rollback (a deadlock), 53 insufficient resources (disk full, too
# many connections), 55 object not in prerequisite state (a lock not available), 57 operator intervention
# (shutting down, starting up), 58 system error (I/O); and a read-only server, a privilege taken away.
# Any other error, foreseen or not, is looked into (streaming/pipeline/isolation.py).
DATABASE_FAULT_CLASSES = ("08", "40", "53", "55", "57", "58")
DATABASE_FAULT_STATES = ("25006", "42501")
# The probe's row: a write known to be good, rolled back.
PROBE_MESSAGE_ID = "00000000-0000-4000-8000-000000000000"

psycopg2.extras.register_uuid()


def _sqlstates() -> dict[type, str]:
    """Each of psycopg2's error classes with its SQLSTATE: an error made without a server has none of its own."""
    states = {}
    for name in dir(psycopg2.errorcodes):
        code = getattr(psycopg2.errorcodes, name)
        if name.isupper() and isinstance(code, str) and len(code) == 5:
            with contextlib.suppress(KeyError):
                states[psycopg2.errors.lookup(code)] = code
    return states


SQLSTATES = _sqlstates()


def sqlstate(error: BaseException) -> str:
    """The SQLSTATE of a psycopg2 error ("" for none: a connection lost, or never made)."""
    return getattr(error, "pgcode", None) or SQLSTATES.get(type(error), "")


class DatabaseUnavailable(Exception):
    """PostgreSQL failed for a reason of its own (not the row's): to be retried."""


def is_database_fault(error: BaseException) -> bool:
    """Is this plainly the database's trouble (wait and retry), without looking for a row at fault?"""
    if isinstance(error, (DatabaseUnavailable, SinkUnavailable)):
        return True
    if not isinstance(error, psycopg2.Error):
        return False  # what psycopg2 refuses before sending (a NUL in a text), or anything unforeseen
    code = sqlstate(error)
    if not code:  # no SQLSTATE: the connection is lost, or was never made
        return isinstance(error, (psycopg2.OperationalError, psycopg2.InterfaceError))
    return code[:2] in DATABASE_FAULT_CLASSES or code in DATABASE_FAULT_STATES


def refusal(error: BaseException) -> str:
    """Why PostgreSQL refused a row, as its dead letter says it (SQLSTATE, name, message; bounded)."""
    code = sqlstate(error)
    text = f"PostgreSQL refused the row: {code + ' ' if code else ''}{type(error).__name__}: {error}".strip()
    return text[: ERROR_MAX_BYTES // 2]


def _row(event: Enriched) -> tuple[Any, ...]:
    return row_of(event.event, event.body.decode())


Batch = list[tuple[tuple[Any, ...], Enriched]]


class _WriteToPostgresFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._host = self._config.host()
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
        written, refused = self._config.retry.run(
            lambda: self._insert(batch),
            what=f"inserting {len(batch)} rows into PostgreSQL",
            service="postgres",
            transient=(DatabaseUnavailable,),
            hooks=self._host,
            on_retry=self._disconnect,
        )
        self._host.flushed("postgres", time.monotonic() - started)
        self._host.written("postgres", len(written))
        log_packages(logger, "postgres", written)
        return written, refused

    def _insert(self, batch: Batch) -> tuple[list[Enriched], list[Rejected]]:
        """Insert the batch, isolating any row PostgreSQL refuses; DatabaseUnavailable when it is the database's."""
        connection = self._connect()
        try:
            self._ensure_partitions(connection, {month_start(row[0]) for row, _ in batch})
            isolated = isolate(
                batch,
                lambda part: self._write_part(connection, part),
                transient=is_database_fault,
                probe=lambda: self._probe(connection),
            )
        except Exception as error:
            self._rollback(connection)
            raise DatabaseUnavailable(f"{type(error).__name__}: {error}".strip()) from error
        written: list[Enriched] = []
        refused = [Rejected(event.record, refusal(error), event.event) for (_, event), error in isolated.refused]
        for part, skipped in isolated.written:
            for _, event in part:
                other = skipped.get(event.correlation_id)
                if other is None or other.kept == event.correlation_id or other.same_content:
                    written.append(event)  # inserted; or already there: a replay, or a resend of its content
                else:
                    refused.append(Rejected(event.record, _taken(event, other), event.event))
        if isolated.refused:
            logger.warning(
                "PostgreSQL refused %s of %s rows, each alone while a known-good write succeeded (first: %s)",
                len(isolated.refused),
                len(batch),
                isolated.refused[0][1],
            )
        return written, refused

    def _ensure_partitions(self, connection: Any, months: set[date]) -> None:
        months -= self._months
        if months:
            with connection.cursor() as cursor:
                ensure_partitions(cursor, sorted(months))
            connection.commit()
            self._months |= months

    def _write_part(self, connection: Any, part: Sequence[tuple[tuple[Any, ...], Enriched]]) -> dict[str, Skipped]:
        """One transaction: the rows of `part` inserted, or none of them."""
        try:
            with connection.cursor() as cursor:
                skipped = insert_copy(cursor, [row for row, _ in part])  # the faster way (bench/postgres_write.py)
            connection.commit()
            return skipped
        except Exception:
            self._rollback(connection)
            raise

    def _probe(self, connection: Any) -> None:
        """A write known to be good, rolled back: does PostgreSQL take a plain row now?"""
        now = datetime.now(UTC)
        self._ensure_partitions(connection, {month_start(now)})
        row = (now, PROBE_MESSAGE_ID, PROBE_MESSAGE_ID, "probe", "probe", PROBE_MESSAGE_ID, PROBE_MESSAGE_ID, "{}")
        try:
            with connection.cursor() as cursor:
                insert_copy(cursor, [row])
        finally:
            self._rollback(connection)

    @staticmethod
    def _rollback(connection: Any) -> None:
        with contextlib.suppress(psycopg2.Error):
            connection.rollback()

    def teardown(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            writer.shutdown(wait=True)
        self._disconnect()


def _taken(event: Enriched, other: Skipped) -> str:
    attributes = event.event["attributes"]
    return (
        f"attributes.messageIdStamp: {attributes['messageIdStamp']} at {attributes['timestampStamp']} names "
        f"another event already (correlationId {other.kept}), with other data or attributes: PostgreSQL keeps "
        "one row per message id and timestamp"
    )


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


class _RemoveRowsFn(beam.DoFn):
    """Takes back the row of each event the lake refused, then passes the event on to its dead letter."""

    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._host = self._config.host()
        self._connection: Any = None

    def process(self, rejected: Rejected) -> Iterator[Rejected]:
        correlation_id = rejected.event["metadata"]["correlationId"]  # the enriched event the lake refused
        self._config.retry.run(
            lambda: self._remove(correlation_id),
            what=f"removing the row of {correlation_id}, which the lake refused",
            service="postgres",
            transient=(DatabaseUnavailable,),
            hooks=self._host,
            on_retry=self._disconnect,
        )
        yield rejected

    def _remove(self, correlation_id: str) -> None:
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg2.connect(**self._config.postgres_dsn)
            with self._connection.cursor() as cursor:
                take_back(cursor, correlation_id)
            self._connection.commit()
        except psycopg2.Error as error:
            self._disconnect()
            raise DatabaseUnavailable(f"{type(error).__name__}: {error}".strip()) from error

    def _disconnect(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg2.Error):
                self._connection.close()
        self._connection = None

    def teardown(self) -> None:
        self._disconnect()


class RemoveRows(beam.PTransform[Any, Any]):
    """Rejected events whose row PostgreSQL holds -> the same, their rows removed (an event the lake refused
    is a dead letter only, never a row without its line)."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, rejected: PCollection[Any]) -> Any:
        return rejected | beam.ParDo(_RemoveRowsFn(self._config))
