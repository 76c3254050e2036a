"""Decode and Enrich as Beam transforms on a Span of records (TestPipeline + assert_that), with the real registry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam
import fastavro
import pytest
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to
from confluent_kafka.schema_registry import Schema
from django.conf import settings

from contract import wire
from contract.registry import remove_subject
from integrations.clients import registry_client
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.objects import Span
from streaming.pipeline.records import REJECTED, Decoded, Enriched, KafkaRecord, Rejected
from streaming.pipeline.transforms.decode import Decode
from streaming.pipeline.transforms.enrich import Enrich
from streaming.runtime.launcher import LocalDirectRunner
from tests.support.factories import canonical_event
from tests.support.lanes import unique_name

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RAW_SCHEMA = (ROOT / "schemas" / "events.raw-value.avsc").read_text()
PARSED = fastavro.parse_schema(json.loads(RAW_SCHEMA))


@pytest.fixture(scope="module")
def schema_id(services_up: None) -> Iterator[int]:
    registry = registry_client()
    subject = unique_name("transforms") + "-value"
    yield registry.register_schema(subject, Schema(RAW_SCHEMA, "AVRO"))
    remove_subject(registry, subject)


def config() -> StreamConfig:
    return StreamConfig.from_settings(settings)


def record(offset: int, value: bytes, key: bytes | None = None) -> KafkaRecord:
    return KafkaRecord("events.raw", 0, offset, key, value, (), 1_709_633_555_123)


def span(items: list[Any]) -> Span[Any]:
    return Span("events.raw", 0, 0, 4, 1_709_633_555_123, items)


def test_decode_sorts_records_into_decoded_and_rejected(schema_id: int) -> None:
    good_id = str(uuid.uuid4())
    event = canonical_event()
    records = [
        record(0, wire.encode(schema_id, PARSED, event), good_id.encode()),
        record(1, b"\x01\x00\x00\x00\x01", str(uuid.uuid4()).encode()),
        record(2, wire.encode(schema_id, PARSED, canonical_event(messageIdStamp="nope")), str(uuid.uuid4()).encode()),
        record(3, b"\x00\x7f\xff\xff\xf1", str(uuid.uuid4()).encode()),
    ]

    with test_pipeline.TestPipeline(runner=LocalDirectRunner()) as pipeline:
        outputs = pipeline | beam.Create([span(records)]) | Decode(config())
        decoded = outputs.decoded | "Decoded" >> beam.FlatMap(
            lambda s: [(s.start, s.end, d.correlation_id, d.schema_id, d.event) for d in s.items]
        )
        rejected = outputs[REJECTED] | "Rejected" >> beam.Map(lambda r: (r.record.offset, r.error))

        # The span keeps the object's offsets, whatever became of its records.
        assert_that(decoded, equal_to([(0, 4, good_id, schema_id, event)]), label="decoded")
        assert_that(
            rejected,
            equal_to(
                [
                    (1, "unknown magic byte 1 (expected 0)"),
                    (2, "attributes.messageIdStamp: must be a UUID or a ULID, got 'nope'"),
                    (3, f"unknown schema id {0x7FFFFFF1}"),
                ]
            ),
            label="rejected",
        )


def test_enrich_adds_metadata_and_checks_the_enriched_schema(schema_id: int) -> None:
    good = Decoded(record(5, b""), str(uuid.uuid4()), schema_id, canonical_event())
    # What the enriched schema refuses although the raw one let it through: an
    # amplitude id that does not fit a long once a newer raw schema allowed it.
    odd_event = canonical_event(amplitudeTrackStamp={"id": 2**64})
    odd = Decoded(record(6, b""), str(uuid.uuid4()), schema_id, odd_event)

    with test_pipeline.TestPipeline(runner=LocalDirectRunner()) as pipeline:
        outputs = pipeline | beam.Create([span([good, odd])]) | Enrich(config())
        enriched = outputs.enriched | "Enriched" >> beam.FlatMap(
            lambda s: [(e.correlation_id, e.event["metadata"], json.loads(e.body) == e.event) for e in s.items]
        )
        rejected = outputs[REJECTED] | "Rejected" >> beam.Map(lambda r: (r.record.offset, r.error))

        assert_that(
            enriched,
            equal_to(
                [
                    (
                        good.correlation_id,
                        {
                            "correlationId": good.correlation_id,
                            "publishTime": "2024-03-05T10:12:35.123Z",
                            "schemaId": schema_id,
                        },
                        True,  # its line in the lake is the enriched event
                    )
                ]
            ),
            label="enriched",
        )
        assert_that(
            rejected,
            equal_to(
                [(6, f"enriched event: attributes.amplitudeTrackStamp.id: is out of range for an Avro long: {2**64}")]
            ),
            label="rejected",
        )


def test_records_are_values_beam_can_carry() -> None:
    # Elements cross stage boundaries pickled; these dataclasses must survive it.
    import pickle

    item = Rejected(record(1, b"x", b"k"), "error", {"a": 1})
    assert pickle.loads(pickle.dumps(item)) == item
    enriched = Enriched(record(1, b"x"), {"a": 1, "metadata": {"correlationId": "c"}}, b"{}")
    assert enriched.correlation_id == "c"
    assert pickle.loads(pickle.dumps(enriched)) == enriched
    carried = span([enriched])
    assert pickle.loads(pickle.dumps(carried)) == carried
