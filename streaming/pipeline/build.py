"""The stream: events.raw -> decode -> enrich -> PostgreSQL and the lake; events.dead.letter -> the lake.

Written against Beam's model only (no runner internals): the same pipeline
runs on Flink or Dataflow by changing --runner. What the local DirectRunner
needs lives in streaming/runtime/launcher.py.

    ReadFromKafka ─▶ EventsTopic ─▶ Decode ─▶ Enrich ─▶ WriteToPostgres ─▶ WriteToLake (enriched/)
          │                         │         │            │                 │ refused: RemoveRows
          │                         ▼         ▼            ▼                 ▼
          │                    (each stage's rejected records) ─▶ WriteDeadLetters ─▶ events.dead.letter
          ▼
    DeadLetterTopic ─▶ WriteToLake (dead-letter/)

The source emits one element per lake object: a Span of a partition's
records (streaming/pipeline/objects.py). Every record ends in exactly one place: the
lake's object holds only what PostgreSQL holds, so a row PostgreSQL refuses
is a dead letter and nothing else; every dead letter, the collector's and
the stream's, is archived from its topic. Nothing groups after the source
and there is no Flatten: every step is a ParDo fused with it, each sink
writes before its bundle ends, and the source commits an object's offsets
after that, in its bundle finalizer.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from contract.lake import DEAD_LETTER_PREFIX, ENRICHED_PREFIX
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.objects import Span
from streaming.pipeline.records import REJECTED
from streaming.pipeline.transforms.decode import Decode
from streaming.pipeline.transforms.enrich import Enrich
from streaming.pipeline.transforms.read_kafka import ReadFromKafka
from streaming.pipeline.transforms.write_dead_letters import WriteDeadLetters
from streaming.pipeline.transforms.write_lake import WriteToLake, dead_letter_line, dead_letter_stub, enriched_line
from streaming.pipeline.transforms.write_postgres import RemoveRows, WriteToPostgres


def _on_topic(span: Span[Any], topic: str, wanted: bool) -> bool:
    return (span.topic == topic) == wanted


def build(pipeline: beam.Pipeline, config: StreamConfig) -> None:
    spans = pipeline | "ReadFromKafka" >> ReadFromKafka(config)
    # Two filters, not one ParDo with two outputs: each output keeps the Span type, and so its coder.
    dead_letter_topic = config.dead_letter_topic
    events = spans | "EventsTopic" >> beam.Filter(_on_topic, dead_letter_topic, False).with_output_types(Span)
    archive = spans | "DeadLetterTopic" >> beam.Filter(_on_topic, dead_letter_topic, True).with_output_types(Span)

    decoded = events | "Decode" >> Decode(config)
    enriched = decoded.decoded | "Enrich" >> Enrich(config)
    written = enriched.enriched | "WriteToPostgres" >> WriteToPostgres(config)
    objects = written.written | "WriteEnrichedObjects" >> WriteToLake(config, ENRICHED_PREFIX, enriched_line)
    # An event the lake refuses (alone, while the store takes other writes) loses its row, then is a dead letter.
    unwritten = objects[REJECTED] | "RemoveRefusedRows" >> RemoveRows(config)

    for stage, rejected in (("Decode", decoded[REJECTED]), ("Enrich", enriched[REJECTED])):
        _ = rejected | f"DeadLetters{stage}" >> WriteDeadLetters(config)
    _ = written[REJECTED] | "DeadLettersWriteToPostgres" >> WriteDeadLetters(config)
    _ = unwritten | "DeadLettersWriteToLake" >> WriteDeadLetters(config)

    _ = archive | "ArchiveDeadLetters" >> WriteToLake(config, DEAD_LETTER_PREFIX, dead_letter_line, dead_letter_stub)
