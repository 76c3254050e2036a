"""Where is every event? Kafka's two topics against PostgreSQL and the lake.

The events taken in over a time window (or one package, whose UUIDv7 id
holds its time) are the records of `events.raw` and of
`events.dead.letter` in that window. Each one must be in exactly one place:

- enriched: a row in PostgreSQL *and* a line of the lake's enriched objects, or
- dead letter: the dead-letter topic *and* a line of the lake's dead-letter
  objects (rejected by the collector, or by the stream).

A message the source sent again (same MessageIdStamp and TimestampStamp,
so a new correlationId) is in the lake twice but in PostgreSQL once: the
table dedupes on that pair. Such an event is accounted as "resent by the
source", not a problem, and counted.

Anything else is reported by correlationId: missing (in events.raw but in
no sink and no dead letter), partial (only one of PostgreSQL or the lake),
or twice (enriched and dead-lettered, taken in twice, or two lines of the
lake).

Each store is read in bulk, never one request per event: the topics with
batched polls, PostgreSQL with one scan of the correlation_id index over the
window's UUIDv7 range, the lake object by object, only the objects that hold
the window's offsets (their keys say where each begins).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import OFFSET_END, Consumer, Message, TopicPartition
from django.db import connection

from contract import lake
from contract.dead_letter import header
from contract.ids import message_id_uuid, package_range, timestamp_millis
from integrations.clients import kafka_config, s3_client, s3_config, topic
from integrations.kafka_range import read_range

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
    """A record of the dead-letter topic: which stage refused the event, and why."""

    stage: str
    error: str


# Where the window's records lie in a topic: partition -> (lowest offset, highest offset), and the hours
# (UTC, as "YYYY-MM-DD/HH") their publishTime spans, which date the lake's objects that hold them.
Offsets = dict[int, tuple[int, int]]


@dataclass
class Read:
    offsets: Offsets = field(default_factory=dict)
    hours: set[str] = field(default_factory=set)

    def note(self, message: Message) -> None:
        partition, offset = message.partition() or 0, message.offset() or 0
        low, high = self.offsets.get(partition, (offset, offset))
        self.offsets[partition] = (min(low, offset), max(high, offset))
        self.hours.add(datetime.fromtimestamp(message.timestamp()[1] / 1000, UTC).strftime("%Y-%m-%d/%H"))


@dataclass
class TakenIn:
    """What Kafka's two topics say was taken in during the window."""

    accepted: set[str] = field(default_factory=set)  # correlationIds of events.raw
    rejected: dict[str, DeadLetterSeen] = field(default_factory=dict)
    # How often each event entered the platform (events.raw, or a dead letter of the collector).
    entries: Counter[str] = field(default_factory=Counter)
    raw: Read = field(default_factory=Read)
    dead_letter: Read = field(default_factory=Read)


@dataclass
class InLake:
    """The lines of the lake's objects that hold the window's records."""

    enriched: Counter[str] = field(default_factory=Counter)  # correlationId -> lines
    identities: dict[str, Identity] = field(default_factory=dict)  # correlationId -> the table's key
    dead_letters: Counter[str] = field(default_factory=Counter)  # correlationId -> lines
    objects: int = 0


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
            for message in read_range(consumer, topic_name, position.partition, position.offset, high, batch=10_000):
                if message.timestamp()[1] >= stop_ms:
                    break  # LogAppendTime grows with the offset: the rest of the partition is later still
                yield message
    finally:
        consumer.close()


def read_kafka(start: datetime, end: datetime, wanted: Callable[[str], bool]) -> TakenIn:
    """Kafka: the accepted events (events.raw) and the dead letters of the window, and where they lie."""
    taken = TakenIn()
    for message in _records(topic("events"), start, end):
        correlation_id = (message.key() or b"").decode(errors="replace")
        if not wanted(correlation_id):
            continue
        taken.entries[correlation_id] += 1
        taken.accepted.add(correlation_id)
        taken.raw.note(message)

    for message in _records(topic("dead_letter"), start, end):
        correlation_id = header(message.headers(), "correlationId") or (message.key() or b"").decode(errors="replace")
        if not wanted(correlation_id):
            continue
        stage = header(message.headers(), "error.stage") or "unknown"
        if stage == "collect":
            taken.entries[correlation_id] += 1
        taken.rejected[correlation_id] = DeadLetterSeen(stage, header(message.headers(), "error") or "")
        taken.dead_letter.note(message)
    return taken


def _rows_matching(query: str, ids: list[str], chunk: int = 5000) -> list[tuple[Any, ...]]:
    """The rows of `query` (one `= ANY(%s::uuid[])` parameter) for every id, `chunk` ids a statement."""
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for first in range(0, len(ids), chunk):
            cursor.execute(query, [ids[first : first + chunk]])
            rows.extend(cursor.fetchall())
    return rows


def _uuid7_millis(correlation_id: str) -> int | None:
    try:
        value = uuid.UUID(correlation_id)
    except ValueError:
        return None
    return timestamp_millis(value) if value.version == 7 else None


def read_postgres(correlation_ids: Iterable[str], start: datetime, end: datetime) -> set[str]:
    """PostgreSQL: which of these events have a row.

    The collector's ids are UUIDv7s of the moment it took the event in: those
    of the window are one range scan of the correlation_id index. Any other id
    (a record another producer wrote) is looked up on its own.
    """
    low_ms = int((start - SLACK).timestamp() * 1000)
    high_ms = int((end + SLACK).timestamp() * 1000)
    in_range: list[str] = []
    others: list[str] = []
    for correlation_id in correlation_ids:
        millis = _uuid7_millis(correlation_id)
        (in_range if millis is not None and low_ms <= millis < high_ms else others).append(correlation_id)
    found: set[str] = set()
    if in_range:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT correlation_id::text FROM events WHERE correlation_id BETWEEN %s::uuid AND %s::uuid",
                [min(in_range, key=uuid.UUID), max(in_range, key=uuid.UUID)],
            )
            found = {row[0] for row in cursor.fetchall()}
    query = "SELECT correlation_id::text FROM events WHERE correlation_id = ANY(%s::uuid[])"
    found |= {row[0] for row in _rows_matching(query, others)}
    return found


def read_postgres_identities(identities: Iterable[Identity]) -> set[Identity]:
    """PostgreSQL: which of these (message id, timestamp) keys have a row, under whichever correlationId."""
    wanted = set(identities)
    query = "SELECT message_id_stamp::text, timestamp_stamp FROM events WHERE message_id_stamp = ANY(%s::uuid[])"
    rows = _rows_matching(query, sorted({message_id for message_id, _ in wanted}))
    return {(message_id, stamp) for message_id, stamp in rows if (message_id, stamp) in wanted}


def lake_objects(prefix: str, topic_name: str, read: Read) -> list[str]:
    """The keys of the objects that hold the offsets `read` found, from a listing of their hours.

    Keys sort by start offset; the object holding a partition's lowest offset
    is the last that starts at or before it.
    """
    starts: dict[int, list[tuple[int, str]]] = {}
    for hour in sorted(read.hours):
        day, hour_of_day = hour.split("/")
        paginator = s3_client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=s3_config().bucket, Prefix=f"{prefix}/dt={day}/hour={hour_of_day}/"):
            for item in page.get("Contents", []):
                where = lake.parse_key(item["Key"])
                if where is not None and where[0] == topic_name:
                    starts.setdefault(where[1], []).append((where[2], item["Key"]))
    keys = []
    for partition, (low, high) in read.offsets.items():
        objects = sorted(starts.get(partition, []))
        first = max((index for index, (start, _) in enumerate(objects) if start <= low), default=0)
        keys += [key for start, key in objects[first:] if start <= high]
    return keys


def _lines(key: str) -> list[bytes]:
    data = s3_client().get_object(Bucket=s3_config().bucket, Key=key)["Body"].read()
    return lake.read_lines(key, data)


def read_lake(taken: TakenIn) -> InLake:
    """The lake: the lines of the objects holding the window's records, read in parallel, object by object."""
    found = InLake()
    enriched = lake_objects(lake.ENRICHED_PREFIX, topic("events"), taken.raw)
    dead = lake_objects(lake.DEAD_LETTER_PREFIX, topic("dead_letter"), taken.dead_letter)
    found.objects = len(enriched) + len(dead)
    with ThreadPoolExecutor(16) as pool:
        for lines in pool.map(_lines, enriched):
            for line in lines:
                event = json.loads(line)
                correlation_id = event["metadata"]["correlationId"]
                if correlation_id in taken.accepted:
                    found.enriched[correlation_id] += 1
                    attributes = event["attributes"]
                    found.identities[correlation_id] = (
                        str(message_id_uuid(attributes["messageIdStamp"])),
                        datetime.fromisoformat(attributes["timestampStamp"]),
                    )
        for lines in pool.map(_lines, dead):
            for line in lines:
                correlation_id = json.loads(line).get("correlationId")
                if correlation_id in taken.rejected:
                    found.dead_letters[correlation_id] += 1
    return found


# --- Where each event is: pure -------------------------------------------------


def classify(
    taken: TakenIn,
    in_postgres: set[str],
    in_lake: InLake,
    stored: frozenset[Identity] | set[Identity] = frozenset(),
) -> Report:
    """Each event in exactly one place, or the problem that says where it is instead.

    `stored` holds the table keys PostgreSQL has a row for, under any
    correlationId: an event only in the lake whose key is there was resent.
    """
    report = Report()
    for correlation_id, count in taken.entries.items():
        if count > 1:
            report.problem("taken in twice", correlation_id)
    for correlation_id in taken.accepted:
        if taken.entries[correlation_id] > 1:
            continue
        enriched_db = correlation_id in in_postgres
        lines = in_lake.enriched[correlation_id]
        seen = taken.rejected.get(correlation_id)
        stage = seen.stage if seen else ""
        if lines > 1:
            report.problem("twice in the lake", correlation_id)
        elif enriched_db and lines:
            if stage == "stream":
                report.problem("enriched and dead-lettered", correlation_id)
            else:
                report.enriched += 1
                report.places[correlation_id] = "enriched (PostgreSQL and the lake)"
        elif lines and in_lake.identities.get(correlation_id) in stored and stage != "stream":
            report.resent += 1
            report.places[correlation_id] = "resent by the source (the lake; PostgreSQL holds the first copy)"
        elif enriched_db or lines:
            report.problem("only in PostgreSQL" if enriched_db else "only in the lake", correlation_id)
        elif stage != "stream":
            report.problem("missing", correlation_id)
    for correlation_id, seen in taken.rejected.items():
        archived = in_lake.dead_letters[correlation_id]
        if seen.stage == "collect" and correlation_id in taken.accepted:
            report.problem("accepted and rejected", correlation_id)
        elif archived > 1:
            report.problem("dead letter twice in the lake", correlation_id)
        elif archived:
            report.dead_letters[seen.stage] += 1
            report.places[correlation_id] = f"dead letter ({seen.stage}, topic and the lake): {seen.error}"
        else:
            report.problem(f"dead letter ({seen.stage}) not in the lake", correlation_id)
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
    in_postgres = read_postgres(taken.accepted, start, end) & taken.accepted
    in_lake = read_lake(taken)
    # Only the events without a row of their own can be resends.
    stored = read_postgres_identities(
        identity for correlation_id, identity in in_lake.identities.items() if correlation_id not in in_postgres
    )
    return classify(taken, in_postgres, in_lake, stored)


def package_window(package: uuid.UUID) -> tuple[datetime, datetime]:
    made = datetime.fromtimestamp(timestamp_millis(package) / 1000, UTC)
    return made - timedelta(seconds=5), made
