"""The stream: events.raw -> decode -> enrich -> the S3 store and PostgreSQL.

Written against Beam's model only (no runner internals): the same pipeline
runs on Flink or Dataflow by changing --runner. What the local DirectRunner
needs lives in streaming/launcher.py.

    ReadFromKafka ─▶ Decode ─▶ Enrich ─▶ WriteToPostgres ─▶ WriteToS3
                       │         │            │
                       ▼         ▼            ▼
                  (each stage's rejected output) ─▶ WriteDeadLetters

Every record ends in exactly one place: the S3 sink writes only what
PostgreSQL holds, so a row PostgreSQL refuses is a dead letter and nothing
else. Nothing that groups follows the source, and no Flatten: every step is
a ParDo fused with it, so records flow continuously, each sink (dead letters
included) flushes in finish_bundle, and the source commits offsets after
that, in its bundle finalizer.
"""

from __future__ import annotations

import apache_beam as beam

from streaming.config import StreamConfig
from streaming.records import REJECTED
from streaming.transforms.decode import Decode
from streaming.transforms.enrich import Enrich
from streaming.transforms.read_kafka import ReadFromKafka
from streaming.transforms.write_dead_letters import WriteDeadLetters
from streaming.transforms.write_postgres import WriteToPostgres
from streaming.transforms.write_s3 import WriteToS3


def build(pipeline: beam.Pipeline, config: StreamConfig) -> None:
    records = pipeline | "ReadFromKafka" >> ReadFromKafka(config)
    decoded = records | "Decode" >> Decode(config)
    enriched = decoded.decoded | "Enrich" >> Enrich(config)

    written = enriched.enriched | "WriteToPostgres" >> WriteToPostgres(config)
    _ = written.written | "WriteToS3" >> WriteToS3(config)

    for stage, rejected in (("Decode", decoded), ("Enrich", enriched), ("WriteToPostgres", written)):
        _ = rejected[REJECTED] | f"DeadLetters{stage}" >> WriteDeadLetters(config)
