"""Enrich: add metadata {correlationId, publishTime, schemaId}, then check the enriched schema.

A record that fails, for a reason of its own or one unforeseen, goes to the
rejected output with why: one hostile record never stops the job.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.pvalue import PCollection

from contract import lake
from contract.enriched import enrich
from contract.registry import LatestSchemas, SchemaUnavailable
from contract.validation import schema_errors
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.objects import Span
from streaming.pipeline.records import REJECTED, Decoded, Enriched, Rejected


class EnrichFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._host = self._config.host()
        self._schemas = LatestSchemas(self._config.registry.client(), self._config.registry.cache_seconds)

    def process(self, span: Span[Decoded]) -> Iterator[Any]:
        yield from span.through("enrich", self.enrich, record_of=lambda d: d.record, event_of=lambda d: d.event)

    def enrich(self, decoded: Decoded) -> Enriched | pvalue.TaggedOutput[str, Rejected]:
        record = decoded.record
        enriched = enrich(
            decoded.event,
            correlation_id=decoded.correlation_id,
            publish_time_ms=record.timestamp_ms,
            schema_id=decoded.schema_id,
        )
        schema = self._config.retry.run(
            lambda: self._schemas.get(self._config.enriched_subject),
            what=f"fetching {self._config.enriched_subject} from the registry",
            service="schema_registry",
            transient=(SchemaUnavailable,),
            hooks=self._host,
        )
        errors = schema_errors(enriched, schema.definition, "")
        if errors:
            message = "enriched event: " + "; ".join(str(error) for error in errors)
            return pvalue.TaggedOutput(REJECTED, Rejected(record, message, decoded.event))
        # The line of the lake object, and the `data` column (lake.line refuses NaN and Infinity).
        return Enriched(record, enriched, lake.line(enriched))


class Enrich(beam.PTransform[Any, Any]):
    """A Span of Decoded -> the Span of those Enriched (main output), and each Rejected (output "rejected")."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, decoded: PCollection[Any]) -> Any:
        return decoded | beam.ParDo(EnrichFn(self._config)).with_output_types(Span).with_outputs(
            REJECTED, main="enriched"
        )
