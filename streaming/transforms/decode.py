"""Decode: Confluent wire format -> the event, with the writer schema named by the record.

The writer schema is fetched by the id in the record's header (never
"latest"), once per id. A record that cannot be decoded or fails the
validation rules goes to the rejected output; a registry that does not
answer is waited for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.pvalue import PCollection

from contract import wire
from contract.enriched import correlation_id_of
from contract.registry import RegisteredSchema, SchemasById
from contract.validation import InvalidEvent, validate_event
from streaming.config import StreamConfig
from streaming.records import REJECTED, Decoded, KafkaRecord, Rejected


class DecodeFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._schemas = SchemasById(self._config.registry.client())

    def writer_schema(self, schema_id: int) -> RegisteredSchema | None:
        """The schema registered under `schema_id`; None if the registry has no such id."""
        return self._config.retry.run(
            lambda: self._schemas.get(schema_id),
            what=f"fetching schema {schema_id} from the registry",
            service="schema_registry",
            transient=(Exception,),  # anything but "no such id" is the registry's trouble, not the record's
        )

    def process(self, record: KafkaRecord) -> Iterator[Any]:
        try:
            correlation_id = correlation_id_of(record.key, record.header("correlationId"))
            schema_id = wire.schema_id_of(record.value or b"")
        except ValueError as error:
            yield pvalue.TaggedOutput(REJECTED, Rejected(record, str(error)))
            return
        writer = self.writer_schema(schema_id)
        if writer is None:
            yield pvalue.TaggedOutput(REJECTED, Rejected(record, f"unknown schema id {schema_id}"))
            return
        try:
            event = wire.decode(record.value or b"", writer.parsed)
        except Exception as error:  # fastavro raises many kinds on a corrupt payload
            yield pvalue.TaggedOutput(
                REJECTED, Rejected(record, f"cannot decode with schema id {schema_id}: {type(error).__name__}: {error}")
            )
            return
        try:
            # Again: any producer may write to the topic, not only the collector.
            validate_event(event, writer.definition)
        except InvalidEvent as invalid:
            yield pvalue.TaggedOutput(REJECTED, Rejected(record, str(invalid), event))
            return
        yield Decoded(record, correlation_id, schema_id, event)


class Decode(beam.PTransform[Any, Any]):
    """KafkaRecord -> Decoded (main output) and Rejected (output "rejected")."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, records: PCollection[Any]) -> Any:
        return records | beam.ParDo(DecodeFn(self._config)).with_outputs(REJECTED, main="decoded")
