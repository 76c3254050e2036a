"""Benchmark of `manage.py reconcile` on a million events: how long accounting for all of them takes.

    uv run python bench/reconcile.py [--events 1000000] [--dead-letter-share 0.01]

Needs the services (scripts/services.sh up). It builds, on topics, a
database and lake objects of its own (all removed at the end), what the
platform holds after taking in `--events` events: the records of events.raw
and of the dead-letter topic (the share given), a row per enriched event in
PostgreSQL, and the lake's objects of 10,000 lines each, as the stream names
and fills them. The stream itself is not run (bench/stream.py measures it):
this measures the reading side alone. Then it times `manage.py reconcile
--since` over the window, as an operator runs it, and prints its summary.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from django.conf import settings  # noqa: E402

from bench.stream import Lane, delete_objects, lake_keys  # noqa: E402
from contract import lake  # noqa: E402
from contract.enriched import iso_millis  # noqa: E402
from contract.ids import event_id, new_package_id  # noqa: E402
from integrations.clients import s3_config  # noqa: E402
from streaming.table.events_table import COLUMNS  # noqa: E402

LINES_PER_OBJECT = 10_000


def produce(lane: Lane, events: int, dead_letter_share: float) -> None:
    """The records: events.raw keyed by correlationId, and a share of them as the collector's dead letters."""
    producer = Producer(
        {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "linger.ms": 50, "compression.type": "lz4"}
    )
    value = b"\x00\x00\x00\x00\x01" + b"\x00" * 200  # reconcile reads keys and headers, never values
    every = int(1 / dead_letter_share) if dead_letter_share else 0
    package = new_package_id()
    for index in range(events):
        if index % 100 == 0:
            package = new_package_id()
        correlation_id = str(event_id(package, index % 100)).encode()
        while True:
            try:
                if every and index % every == 0:
                    headers: list[tuple[str, str | bytes | None]] = [
                        ("error", b"data.amount: must be a number"),
                        ("error.stage", b"collect"),
                    ]
                    headers += [("correlationId", correlation_id), ("packageId", str(package).encode())]
                    producer.produce(lane.dead_letter_topic, key=correlation_id, value=b"{}", headers=headers)
                else:
                    producer.produce(lane.events_topic, key=correlation_id, value=value)
                break
            except BufferError:
                producer.poll(0.05)
        if index % 10_000 == 0:
            producer.poll(0)
    producer.flush(120)


def read_back(topic: str) -> list[tuple[int, int, str]]:
    """(offset, publishTime ms, key) of every record of the topic's partition 0."""
    consumer = Consumer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "group.id": f"bench-{uuid.uuid4()}"})
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.assign([TopicPartition(topic, 0, 0)])
    records: list[tuple[int, int, str]] = []
    while len(records) < high:
        for message in consumer.consume(min(10_000, high - len(records)), timeout=5):
            if message.error() is None:
                records.append((message.offset() or 0, message.timestamp()[1], (message.key() or b"").decode()))
    consumer.close()
    return records


def enriched_line(offset: int, published_ms: int, correlation_id: str, message_id: str) -> bytes:
    return lake.line(
        {
            "data": {"id": f"inv-{offset}", "amount": 1.0},
            "attributes": {
                "timestampStamp": datetime.fromtimestamp(published_ms / 1000, UTC).isoformat(),
                "messageIdStamp": message_id,
                "type": "invoice.created",
                "targetSubscription": "accounting",
                "newContextStamp": {
                    "accountId": str(uuid.uuid4()),
                    "userId": str(uuid.uuid4()),
                    "requestPlatform": None,
                },
                "amplitudeTrackStamp": None,
            },
            "metadata": {"correlationId": correlation_id, "publishTime": iso_millis(published_ms), "schemaId": 1},
        }
    )


def write_sinks(lane: Lane, raw: list[tuple[int, int, str]], dead: list[tuple[int, int, str]]) -> None:
    """The rows (one COPY as the owner) and the lake's objects, as the stream would have left them."""
    writer = s3_config().writer()
    rows = io.StringIO()
    for first in range(0, len(raw), LINES_PER_OBJECT):
        chunk = raw[first : first + LINES_PER_OBJECT]
        lines = []
        for offset, published_ms, correlation_id in chunk:
            message_id = str(uuid.uuid4())
            line = enriched_line(offset, published_ms, correlation_id, message_id)
            lines.append(line)
            stamp = datetime.fromtimestamp(published_ms / 1000, UTC).isoformat()
            account, user = uuid.uuid4(), uuid.uuid4()
            text = line.decode().replace("\\", "\\\\")
            rows.write(
                f"{stamp}\t{message_id}\t{correlation_id}\tinvoice.created\taccounting\t{account}\t{user}\t{text}\n"
            )
        offset, published_ms, _ = chunk[0]
        key = lake.object_key(lake.ENRICHED_PREFIX, lane.events_topic, 0, offset, published_ms, compressed=False)
        writer.put(key, lake.body(lines, compressed=False), lake.CONTENT_TYPE)
    for first in range(0, len(dead), LINES_PER_OBJECT):
        chunk = dead[first : first + LINES_PER_OBJECT]
        lines = [lake.line({"correlationId": c, "stage": "collect", "error": "x", "event": {}}) for _, _, c in chunk]
        offset, published_ms, _ = chunk[0]
        key = lake.object_key(
            lake.DEAD_LETTER_PREFIX, lane.dead_letter_topic, 0, offset, published_ms, compressed=False
        )
        writer.put(key, lake.body(lines, compressed=False), lake.CONTENT_TYPE)
    owner = settings.DATABASES["default"]
    connection = psycopg2.connect(
        host=owner["HOST"], port=owner["PORT"], user=owner["USER"], password=owner["PASSWORD"], dbname=lane.database
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT events_ensure_partition(%s::date)", [datetime.now(UTC).date().replace(day=1)])
        rows.seek(0)
        cursor.copy_expert(f"COPY events ({COLUMNS}) FROM STDIN", rows)
    connection.commit()
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--dead-letter-share", type=float, default=0.01)
    options = parser.parse_args()
    lane = Lane("reconcile")
    try:
        since = datetime.now(UTC) - timedelta(seconds=1)
        started = time.monotonic()
        produce(lane, options.events, options.dead_letter_share)
        raw, dead = read_back(lane.events_topic), read_back(lane.dead_letter_topic)
        write_sinks(lane, raw, dead)
        print(
            f"set up {len(raw):,} enriched events and {len(dead):,} dead letters in {time.monotonic() - started:.0f} s"
        )
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "reconcile", "--since", since.isoformat()],
            env={**lane.environment(), "LOG_LEVEL": "WARNING"},
            capture_output=True,
            text=True,
        )
        elapsed = time.monotonic() - started
        print(result.stdout.strip())
        if result.returncode != 0:
            print(result.stderr[-3000:])
        total = len(raw) + len(dead)
        print(f"\nmanage.py reconcile accounted for {total:,} events in {elapsed:.1f} s (exit {result.returncode})")
    finally:
        delete_objects(lake_keys(lane.events_topic) + lake_keys(lane.dead_letter_topic))
        lane.drop()


if __name__ == "__main__":
    main()
