"""Decode: Confluent wire format -> the event, read with the writer schema named by the record.

The writer schema is fetched by the id in the record's header (never
"latest"), once per id, and the record is read *as* the events contract, the
latest version registered for the topic (Avro schema resolution): an older
or newer version of the contract is read into the shape the stream knows, a
foreign schema is not. The event is then validated like at the door, its
timestamp window measured against the record's publishTime so that a replay
decides the same, and with the same limits (contract/limits.py): the size of
the event, and each text's length.

A record that fails any of this goes to the rejected output with why; so
does one that raises anything unforeseen here (one hostile record must never
stop the job). A registry that does not answer is waited for.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.pvalue import PCollection

from contract import wire
from contract.enriched import correlation_id_of
from contract.limits import EVENT_MAX_BYTES
from contract.registry import LatestSchemas, RegisteredSchema, RegistryUnreachable, SchemasById, SchemaUnavailable
from contract.validation import InvalidEvent, validate_event
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.objects import Span
from streaming.pipeline.records import REJECTED, Decoded, KafkaRecord, Rejected


class DecodeFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._host = self._config.host()
        client = self._config.registry.client()
        self._writers = SchemasById(client)
        self._readers = LatestSchemas(client, self._config.registry.cache_seconds)
        self._subject = f"{self._config.events_topic}-value"  # TopicNameStrategy, as the collector

    def writer_schema(self, schema_id: int) -> RegisteredSchema | None:
        """The schema registered under `schema_id`; None if no usable one is."""
        return self._config.retry.run(
            lambda: self._writers.get(schema_id),
            what=f"fetching schema {schema_id} from the registry",
            service="schema_registry",
            transient=(RegistryUnreachable,),  # "no such id" is the record's trouble: None, not an error
            hooks=self._host,
        )

    def reader_schema(self, *, fresh: bool = False) -> RegisteredSchema:
        """The latest version of the events contract."""
        return self._config.retry.run(
            lambda: self._readers.get(self._subject, fresh=fresh),
            what=f"fetching {self._subject} from the registry",
            service="schema_registry",
            transient=(SchemaUnavailable,),
            hooks=self._host,
        )

    def process(self, span: Span[KafkaRecord]) -> Iterator[Any]:
        yield from span.through("decode", self.decode, record_of=lambda record: record, event_of=lambda _: None)

    def decode(self, record: KafkaRecord) -> Decoded | pvalue.TaggedOutput[str, Rejected]:
        try:
            correlation_id = correlation_id_of(record.key, record.header("correlationId"))
            schema_id = wire.schema_id_of(record.value or b"")
        except ValueError as error:
            return pvalue.TaggedOutput(REJECTED, Rejected(record, str(error)))
        size = len(record.value or b"") - wire.HEADER_BYTES
        if size > EVENT_MAX_BYTES:  # any producer may write to the topic: the door's limit, again
            message = (
                f"event: is {size} bytes once encoded; an event holds at most {EVENT_MAX_BYTES} (contract/limits.py)"
            )
            return pvalue.TaggedOutput(REJECTED, Rejected(record, message))
        writer = self.writer_schema(schema_id)
        if writer is None:
            return pvalue.TaggedOutput(REJECTED, Rejected(record, self._writers.why_not(schema_id)))
        reader = self.reader_schema()
        try:
            event = self.read(record, writer, reader)
        except Exception:  # fastavro raises many kinds on a corrupt payload or a schema it cannot resolve
            # Perhaps a version newer than the one cached: look again, once, before refusing the record.
            reader = self.reader_schema(fresh=True)
            try:
                event = self.read(record, writer, reader)
            except Exception as error:
                message = (
                    f"cannot read schema id {schema_id} as {self._subject} version {reader.version}: "
                    f"{type(error).__name__}: {error}"
                )
                return pvalue.TaggedOutput(REJECTED, Rejected(record, message))
        try:
            # Again: any producer may write to the topic, not only the collector.
            published = datetime.fromtimestamp(record.timestamp_ms / 1000, UTC)
            validate_event(event, reader.definition, now=published, window=self._config.timestamp_window)
        except InvalidEvent as invalid:
            return pvalue.TaggedOutput(REJECTED, Rejected(record, str(invalid), event))
        return Decoded(record, correlation_id, schema_id, event)

    @staticmethod
    def read(record: KafkaRecord, writer: RegisteredSchema, reader: RegisteredSchema) -> dict[str, Any]:
        same = writer.schema_id == reader.schema_id  # no resolution to do
        event = wire.decode(record.value or b"", writer.parsed, None if same else reader.parsed)
        if not isinstance(event, dict):
            raise TypeError(f"the record holds {type(event).__name__}, not an event")
        return event


class Decode(beam.PTransform[Any, Any]):
    """A Span of KafkaRecords -> the Span of those Decoded (main output), and each Rejected (output "rejected")."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, records: PCollection[Any]) -> Any:
        return records | beam.ParDo(DecodeFn(self._config)).with_output_types(Span).with_outputs(
            REJECTED, main="decoded"
        )
