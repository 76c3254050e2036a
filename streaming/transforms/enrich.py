"""Enrich: add metadata {correlationId, publishTime, schemaId}, then check the enriched schema.

A record that fails, for a reason of its own or one unforeseen, goes to the
rejected output with why: one hostile record never stops the job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.pvalue import PCollection

from contract.enriched import enrich, s3_key
from contract.registry import LatestSchemas, SchemaUnavailable
from contract.validation import schema_errors
from streaming.config import StreamConfig
from streaming.records import REJECTED, Decoded, Enriched, Rejected, reject_faults


class EnrichFn(beam.DoFn):
    def __init__(self, config: StreamConfig) -> None:
        self._config = config

    def setup(self) -> None:
        self._schemas = LatestSchemas(self._config.registry.client(), self._config.registry.cache_seconds)

    def process(self, decoded: Decoded) -> Iterator[Any]:
        yield reject_faults("enrich", decoded.record, decoded.event, lambda: self.enrich(decoded))

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
        )
        errors = schema_errors(enriched, schema.definition, "")
        if errors:
            message = "enriched event: " + "; ".join(str(error) for error in errors)
            return pvalue.TaggedOutput(REJECTED, Rejected(record, message, decoded.event))
        # allow_nan=False: NaN and Infinity are not JSON, and neither sink could read them back.
        body = json.dumps(enriched, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        return Enriched(record, decoded.correlation_id, enriched, body, s3_key(enriched))


class Enrich(beam.PTransform[Any, Any]):
    """Decoded -> Enriched (main output) and Rejected (output "rejected")."""

    def __init__(self, config: StreamConfig) -> None:
        super().__init__()
        self._config = config

    def expand(self, decoded: PCollection[Any]) -> Any:
        return decoded | beam.ParDo(EnrichFn(self._config)).with_outputs(REJECTED, main="enriched")
