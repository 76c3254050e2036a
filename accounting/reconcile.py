"""Where is every event? Kafka's two topics against PostgreSQL and the S3 store.

The events taken in over a time window (or one package, whose UUIDv7 id
holds its time) are the records of `events.raw` and of
`events.dead.letter` in that window. Each one must be in exactly one place:

- enriched: a row in PostgreSQL *and* an object in the bucket, or
- dead letter: the dead-letter topic *and* its object in the bucket
  (rejected by the collector, or by the stream).

A message the source sent again (same MessageIdStamp and TimestampStamp,
so a new correlationId) is in the bucket twice but in PostgreSQL once: the
table dedupes on that pair. Such an event is accounted as "resent by the
source", not a problem, and counted.

Anything else is reported by correlationId: missing (in events.raw but in
no sink and no dead letter), partial (only one of PostgreSQL or S3), or
twice (enriched and dead-lettered, or taken in twice).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from confluent_kafka import OFFSET_END, Consumer, Message, TopicPartition
from django.db import connection

from contract import wire
from contract.dead_letter import object_key as dead_letter_key
from contract.enriched import enriched_key
from contract.ids import message_id_uuid, package_range, timestamp_millis
from contract.registry import SchemasById
from integrations.clients import kafka_config, registry_client, s3_client, s3_config, topic

# How far past the window a record of it may have been appended (the
# collector waits up to its delivery timeout, then a margin).
SLACK = timedelta(seconds=60)


# The table's key: (message_id_stamp, timestamp_stamp).
Identity = tuple[str, datetime]


@dataclass
class Report:
    enriched: int = 0
    # Sent again by the source: in S3 under its own correlationId, in PostgreSQL once, under the first one.
    resent: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)  # by stage
    problems: dict[str, list[str]] = field(default_factory=dict)  # kind -> correlationIds
    # Every event: correlationId -> where it is ("enriched", "dead letter (collect): <error>", a problem).
    places: dict[str, str] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return (
            self.enriched
            + self.resent
            + sum(self.dead_letters.values())
            + sum(len(ids) for ids in self.problems.values())
        )

    @property
    def exact(self) -> bool:
        return not self.problems

    def problem(self, kind: str, correlation_id: str) -> None:
        self.problems.setdefault(kind, []).append(correlation_id)
        self.places[correlation_id] = kind


@dataclass(frozen=True)
class DeadLetterSeen:
    """A record of the dead-letter topic: which stage refused the event, why, and where its S3 copy may be."""

    stage: str
    error: str
    object_keys: frozenset[str]


@dataclass
class TakenIn:
    """What Kafka's two topics say was taken in during the window."""

    # events.raw: correlationId -> the key of its enriched object ("" if not decodable: the stream rejects it).
    accepted: dict[str, str] = field(default_factory=dict)
    rejected: dict[str, DeadLetterSeen] = field(default_factory=dict)
    # How often each event entered the platform (events.raw, or a dead letter of the collector).
    entries: Counter[str] = field(default_factory=Counter)
    # events.raw: correlationId -> the table's key of the event.
    identities: dict[str, Identity] = field(default_factory=dict)


# --- One selector per store ---------------------------------------------------


def _records(topic_name: str, start: datetime, end: datetime) -> Iterator[Message]:
    """The records of `topic_name` appended in [start, end + SLACK)."""
    consumer = Consumer(kafka_config().consumer(f"reconcile-{uuid.uuid4()}", "reconcile"))
    try:
        partitions = consumer.list_topics(topic_name, timeout=10).topics[topic_name].partitions
        wanted = [TopicPartition(topic_name, p, int(start.timestamp() * 1000)) for p in partitions]
        positions = consumer.offsets_for_times(wanted, timeout=10)
        stop_ms = int((end + SLACK).timestamp() * 1000)
        for position in positions:
            if position.offset == OFFSET_END or position.offset < 0:
                continue
            _, high = consumer.get_watermark_offsets(TopicPartition(topic_name, position.partition), timeout=10)
            consumer.assign([position])
            offset = position.offset
            while offset < high:
                message = consumer.poll(5)
                if message is None:
                    break
                if message.error():
                    continue
                offset = (message.offset() or 0) + 1
                if message.timestamp()[1] >= stop_ms:
                    break
                yield message
    finally:
        consumer.close()


def _header(message: Message, name: str) -> str | None:
    headers = message.headers() or []
    for key, value in headers.items() if isinstance(headers, dict) else headers:
        if key == name:
            return value.decode() if isinstance(value, bytes) else value
    return None


def read_kafka(start: datetime, end: datetime, wanted: Callable[[str], bool]) -> TakenIn:
    """Kafka: the accepted events (events.raw) and the dead letters of the window."""
    taken = TakenIn()
    writers = SchemasById(registry_client())
    for message in _records(topic("events"), start, end):
        correlation_id = (message.key() or b"").decode(errors="replace")
        if not wanted(correlation_id):
            continue
        taken.entries[correlation_id] += 1
        value = message.value() or b""
        try:
            writer = writers.get(wire.schema_id_of(value))
            if writer is None:
                raise ValueError("unknown schema id")
            event = wire.decode(value, writer.parsed)
            attributes = event["attributes"]
            taken.accepted[correlation_id] = enriched_key(attributes["timestampStamp"], correlation_id)
            taken.identities[correlation_id] = (
                str(message_id_uuid(attributes["messageIdStamp"])),
                datetime.fromisoformat(attributes["timestampStamp"]),
            )
        except Exception:  # not decodable: the stream dead-letters it
            taken.accepted[correlation_id] = ""

    for message in _records(topic("dead_letter"), start, end):
        correlation_id = _header(message, "correlationId") or (message.key() or b"").decode(errors="replace")
        if not wanted(correlation_id):
            continue
        stage = _header(message, "error.stage") or "unknown"
        if stage == "collect":
            taken.entries[correlation_id] += 1
        day = datetime.fromtimestamp(message.timestamp()[1] / 1000, UTC).date()
        # The object is dated when the dead letter was made: that day, or the one before near midnight.
        keys = frozenset(dead_letter_key(d, correlation_id) for d in (day, day - timedelta(days=1)))
        taken.rejected[correlation_id] = DeadLetterSeen(stage, _header(message, "error") or "", keys)
    return taken


def _rows_matching(query: str, ids: list[str], chunk: int = 5000) -> list[tuple[Any, ...]]:
    """The rows of `query` (one `= ANY(%s::uuid[])` parameter) for every id, `chunk` ids a statement."""
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for first in range(0, len(ids), chunk):
            cursor.execute(query, [ids[first : first + chunk]])
            rows.extend(cursor.fetchall())
    return rows


def read_postgres(correlation_ids: list[str]) -> set[str]:
    """PostgreSQL: which of these events have a row."""
    query = "SELECT correlation_id::text FROM events WHERE correlation_id = ANY(%s::uuid[])"
    return {row[0] for row in _rows_matching(query, correlation_ids)}


def read_postgres_identities(identities: Iterable[Identity]) -> set[Identity]:
    """PostgreSQL: which of these (message id, timestamp) keys have a row, under whichever correlationId."""
    wanted = set(identities)
    query = "SELECT message_id_stamp::text, timestamp_stamp FROM events WHERE message_id_stamp = ANY(%s::uuid[])"
    rows = _rows_matching(query, sorted({message_id for message_id, _ in wanted}))
    return {(message_id, stamp) for message_id, stamp in rows if (message_id, stamp) in wanted}


def read_bucket(keys: set[str]) -> set[str]:
    """The S3 store: which of `keys` it holds, a HEAD each, in parallel (a day's prefix may hold millions)."""
    bucket = s3_config().bucket

    def exists(key: str) -> bool:
        try:
            s3_client().head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    ordered = sorted(keys)
    with ThreadPoolExecutor(16) as pool:
        return {key for key, found in zip(ordered, pool.map(exists, ordered), strict=True) if found}


# --- Where each event is: pure -------------------------------------------------


def classify(
    taken: TakenIn,
    in_postgres: set[str],
    in_bucket: set[str],
    stored: frozenset[Identity] | set[Identity] = frozenset(),
) -> Report:
    """Each event in exactly one place, or the problem that says where it is instead.

    `stored` holds the table keys PostgreSQL has a row for, under any
    correlationId: an event only in S3 whose key is there was resent.
    """
    report = Report()
    for correlation_id, count in taken.entries.items():
        if count > 1:
            report.problem("taken in twice", correlation_id)
    for correlation_id, key in taken.accepted.items():
        enriched_db = correlation_id in in_postgres
        enriched_s3 = bool(key) and key in in_bucket
        seen = taken.rejected.get(correlation_id)
        stage = seen.stage if seen else ""
        if enriched_db and enriched_s3:
            if stage == "stream":
                report.problem("enriched and dead-lettered", correlation_id)
            else:
                report.enriched += 1
                report.places[correlation_id] = "enriched (PostgreSQL and S3)"
        elif enriched_s3 and taken.identities.get(correlation_id) in stored and stage != "stream":
            report.resent += 1
            report.places[correlation_id] = "resent by the source (S3; PostgreSQL holds the first copy)"
        elif enriched_db or enriched_s3:
            report.problem("only in PostgreSQL" if enriched_db else "only in S3", correlation_id)
        elif stage != "stream":
            report.problem("missing", correlation_id)
    for correlation_id, seen in taken.rejected.items():
        if seen.stage == "collect" and correlation_id in taken.accepted:
            report.problem("accepted and rejected", correlation_id)
        elif seen.object_keys & in_bucket:
            report.dead_letters[seen.stage] += 1
            report.places[correlation_id] = f"dead letter ({seen.stage}, topic and S3): {seen.error}"
        else:
            report.problem(f"dead letter ({seen.stage}) not in S3", correlation_id)
    return report


def reconcile(*, start: datetime, end: datetime, package: uuid.UUID | None = None) -> Report:
    """Account for every event taken in between `start` and `end` (or of one package)."""
    low, high = package_range(package) if package else (None, None)

    def wanted(correlation_id: str) -> bool:
        if low is None or high is None:
            return True
        try:
            return low <= uuid.UUID(correlation_id) <= high
        except ValueError:
            return False

    taken = read_kafka(start, end, wanted)
    in_postgres = read_postgres(list(taken.accepted))
    # Only the events without a row of their own can be resends.
    stored = read_postgres_identities(
        identity for correlation_id, identity in taken.identities.items() if correlation_id not in in_postgres
    )
    keys = {key for key in taken.accepted.values() if key}
    keys |= {key for seen in taken.rejected.values() for key in seen.object_keys}
    return classify(taken, in_postgres, read_bucket(keys), stored)


def package_window(package: uuid.UUID) -> tuple[datetime, datetime]:
    made = datetime.fromtimestamp(timestamp_millis(package) / 1000, UTC)
    return made - timedelta(seconds=5), made
