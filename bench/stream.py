"""Benchmark of the stream: throughput on a backlog, freshness under steady load, memory.

    uv run python bench/stream.py [--backlog 100000] [--partitions 2] [--rate 1000] [--fresh-rates 5000] [--seconds 30]
    uv run python bench/stream.py --runners [--backlog 100000]

Needs the services (scripts/services.sh up). Everything it writes goes to
topics, a consumer group and a PostgreSQL database of its own, dropped at the
end, and the lake objects it wrote are deleted too.

1. Backlog: `--backlog` Avro events are put on a topic of `--partitions`
   partitions, then `manage.py run_stream` drains it into both sinks (the
   local runner in one process a partition, at most one a core:
   STREAM_PROCESSES=auto); events/s is counted from the first row in
   PostgreSQL to the moment the last row is there *and* every event is a
   line of the lake (which is then checked: each exactly once).
2. Baselines, in the same run, on the same backlog: what a user might write
   instead, a plain confluent-kafka consumer loop doing the same decode and
   enrichment, each poll's events COPYed into PostgreSQL and PUT as one JSON
   Lines object, then committed; and the Benthos peer configured for this
   layout (../shared/peer/stream-lake.yaml: batched JSON Lines objects), when
   its binary is built, timed the same way.
3. Freshness: the API (python -m holded.server, as recommended) and the stream run together;
   `--rate` events/s (and each of `--fresh-rates`) are posted to /collect for
   `--seconds`, on topics of `--partitions` partitions; for each event, the
   time from the 200 to its row being visible in PostgreSQL and to its line
   being in a lake object (both polled every 20 ms), p50/p99.
4. Runners (`--runners`, instead of the above): the backlog drained on the
   local runner and on Flink's embedded cluster (`run_stream --runner flink`),
   from topics of 1 and of 2 partitions.
The stream's resident memory (with its job server and workers on Flink) is
sampled throughout (bench/soak.py: over 10 minutes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "holded.settings")

import django  # noqa: E402

django.setup()

import fastavro  # noqa: E402
import psycopg2  # noqa: E402
import psycopg2.extras  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from confluent_kafka.schema_registry import Schema  # noqa: E402
from django.conf import settings  # noqa: E402

from bench.collect import PEER_BENTHOS, free_port, peer_present, sample_event, serve_api, start_peer, stop  # noqa: E402
from contract import lake, wire  # noqa: E402
from contract.enriched import enrich  # noqa: E402
from contract.ids import event_id, new_package_id  # noqa: E402
from contract.normalize import normalize_event  # noqa: E402
from contract.registry import LatestSchemas, SchemasById, remove_subject  # noqa: E402
from contract.validation import schema_errors  # noqa: E402
from integrations.clients import registry_client, s3_client  # noqa: E402
from streaming.pipeline.config import StreamConfig  # noqa: E402
from streaming.table.events_table import insert_copy, row_of  # noqa: E402

RAW_SCHEMA = (ROOT / "schemas" / "events.raw-value.avsc").read_text()


class Lane:
    """Topic, dead-letter topic, subject and database of one benchmark run."""

    def __init__(self, name: str, partitions: int = 1) -> None:
        run = uuid.uuid4().hex[:8]
        self.events_topic = f"bench.{name}-{run}"
        self.dead_letter_topic = f"bench.{name}-dlq-{run}"
        self.group_id = f"bench-{name}-{run}"
        self.database = f"bench_{name}_{run}"
        self.partitions = partitions
        self.subject = f"{self.events_topic}-value"
        admin = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
        topics = [
            NewTopic(self.events_topic, partitions, 1, config={"message.timestamp.type": "LogAppendTime"}),
            NewTopic(self.dead_letter_topic, 1, 1, config={"message.timestamp.type": "LogAppendTime"}),
        ]
        for future in admin.create_topics(topics).values():
            future.result(timeout=30)
        self.schema_id = registry_client().register_schema(self.subject, Schema(RAW_SCHEMA, "AVRO"))
        admin_sql(f'CREATE DATABASE "{self.database}"')
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
            env=self.environment(),
            check=True,
        )

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_TOPIC_EVENTS": self.events_topic,
            "KAFKA_TOPIC_DEAD_LETTER": self.dead_letter_topic,
            "STREAM_GROUP_ID": self.group_id,
            "POSTGRES_DB": self.database,
            "LOG_LEVEL": "WARNING",
        }

    def dsn(self) -> dict[str, Any]:
        return {**StreamConfig.from_settings(settings).postgres_dsn, "dbname": self.database}

    def count(self) -> int:
        with psycopg2.connect(**self.dsn()) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM events")
            (count,) = cursor.fetchone()
        connection.close()
        return int(count)

    def drop(self) -> None:
        admin = AdminClient({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS})
        for future in admin.delete_topics([self.events_topic, self.dead_letter_topic]).values():
            future.result(timeout=30)
        remove_subject(registry_client(), self.subject)
        admin_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def admin_sql(statement: str) -> None:
    """As the owner (not the stream's role, which may not create databases)."""
    database = settings.DATABASES["default"]
    connection = psycopg2.connect(
        host=database["HOST"],
        port=database["PORT"],
        user=database["USER"],
        password=database["PASSWORD"],
        dbname="postgres",
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def produce_backlog(lane: Lane, count: int) -> list[str]:
    parsed = fastavro.parse_schema(json.loads(RAW_SCHEMA))
    producer = Producer(
        {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "linger.ms": 20, "compression.type": "lz4"}
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    ids = []
    for start in range(0, count, 100):
        package = new_package_id()
        for index in range(min(100, count - start)):
            event = normalize_event(sample_event(start + index))
            event["attributes"]["timestampStamp"] = now
            correlation_id = str(event_id(package, index))
            ids.append(correlation_id)
            while True:
                try:
                    producer.produce(
                        lane.events_topic,
                        key=correlation_id.encode(),
                        value=wire.encode(lane.schema_id, parsed, event),
                        headers=[("correlationId", correlation_id.encode()), ("packageId", str(package).encode())],
                    )
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.poll(0)
    producer.flush(60)
    return ids


def process_tree(pid: int) -> list[int]:
    """A process and every process below it (the children of each of its threads: a JVM starts processes from
    threads of its own, as Flink's task manager does its SDK workers)."""
    tree = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            tree += process_tree(int(child))
    return tree


class MemorySampler(threading.Thread):
    """The resident memory of a process and of every process below it (a job server, SDK workers), once a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self.running = True

    def run(self) -> None:
        started = time.monotonic()
        while self.running and os.path.exists(f"/proc/{self.pid}"):
            total_kb = 0
            for pid in process_tree(self.pid):
                try:
                    with open(f"/proc/{pid}/status") as status:
                        total_kb += sum(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
                except FileNotFoundError:
                    continue  # ended between the listing and the read
            self.samples.append((time.monotonic() - started, total_kb / 1024))
            time.sleep(1)

    def summary(self) -> str:
        if len(self.samples) < 2:
            return "not enough samples"
        settled = self.samples[len(self.samples) // 4 :]  # past start-up
        first, last = settled[0], settled[-1]
        slope = (last[1] - first[1]) / max(last[0] - first[0], 1) * 60
        peak = max(rss for _, rss in self.samples)
        span = last[0] - first[0]
        # The second half alone: what start-up and windows still filling (freshness keeps 5 minutes) do not skew.
        middle = settled[len(settled) // 2]
        late = (last[1] - middle[1]) / max(last[0] - middle[0], 1) * 60
        return (
            f"RSS {first[1]:.0f} MB -> {last[1]:.0f} MB over {span:.0f}s ({slope:+.1f} MB/min; "
            f"{late:+.1f} MB/min over the second half), peak {peak:.0f} MB"
        )


def wait_for_rows(lane: Lane, expected: int, timeout: float, process: subprocess.Popen[str]) -> tuple[float, float]:
    """When the first row appeared and when the last one did (monotonic seconds)."""
    first = last = 0.0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (process.poll() is None or lane.count() >= expected):
        count = lane.count()
        now = time.monotonic()
        if count and not first:
            first = now
        if count >= expected:
            last = now
            break
        time.sleep(0.25)
    if not last:
        raise RuntimeError(f"only {lane.count()} of {expected} rows after {timeout:.0f}s")
    return first, last


def lake_keys(topic: str, prefixes: tuple[str, ...] = (lake.ENRICHED_PREFIX, lake.DEAD_LETTER_PREFIX)) -> list[str]:
    """The keys of the lake objects of `topic` under `prefixes` (enriched and dead letters) of this hour and the last.

    Listed by the object names' own prefix (`<prefix>/dt=…/hour=…/<topic>+`), so that the listing
    reads this topic's objects only, however many others the bucket holds.
    """
    now = datetime.now(UTC)
    keys: list[str] = []
    paginator = s3_client().get_paginator("list_objects_v2")
    for prefix in prefixes:
        for hour in (now - timedelta(hours=1), now):
            listed = f"{prefix}/dt={hour:%Y-%m-%d}/hour={hour:%H}/{topic}+"
            for page in paginator.paginate(Bucket=settings.S3_BUCKET, Prefix=listed):
                keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


class LakeLines:
    """The correlationIds in the lake objects of one topic, read as objects appear, and when each appeared."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.read: set[str] = set()
        self.lines: dict[str, int] = {}  # correlationId -> lines seen
        self.first_seen: dict[str, float] = {}

    def refresh(self) -> int:
        """Read the objects not read yet; the number of distinct correlationIds seen so far."""
        for key in lake_keys(self.topic, (lake.ENRICHED_PREFIX,)):
            if key in self.read:
                continue
            body = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
            now = time.monotonic()
            for line in lake.read_lines(key, body):
                correlation_id = json.loads(line)["metadata"]["correlationId"]
                self.lines[correlation_id] = self.lines.get(correlation_id, 0) + 1
                self.first_seen.setdefault(correlation_id, now)
            self.read.add(key)
        return len(self.lines)

    def wait_until(self, count: int, seconds: float) -> bool:
        """Refresh until `count` correlationIds are seen, for at most `seconds`; whether they were."""
        deadline = time.monotonic() + seconds
        while self.refresh() < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.lines) >= count

    def exactly_once(self, expected: list[str]) -> bool:
        return sorted(self.lines) == sorted(expected) and all(count == 1 for count in self.lines.values())


def run_beam(lane: Lane, expected: int, stream_args: tuple[str, ...] = ()) -> tuple[float, str]:
    """The Beam job on the lane's backlog: events/s into both sinks, and its memory. Its lake objects are
    checked (each event exactly once) and deleted, so the next job on the lane starts from an empty prefix.
    `stream_args` go to `manage.py run_stream` (`--runner flink`, say)."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_stream", "--idle-timeout", "5", *stream_args],
        env=lane.environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = MemorySampler(process.pid)
    sampler.start()
    lines = LakeLines(lane.events_topic)
    first, last = wait_for_rows(lane, expected, timeout=1800, process=process)
    both = time.monotonic() if lines.wait_until(expected, 120) else None
    sampler.running = False  # the drain's memory, not the processes' ending after it
    _, errors = process.communicate(timeout=120)
    if process.returncode != 0:
        raise RuntimeError(f"the stream failed: {errors[-2000:]}")
    if both is None:
        raise RuntimeError(f"only {len(lines.lines)} of {expected} events in the lake")
    if sum(lines.lines.values()) != expected or len(lines.lines) != expected:
        raise RuntimeError(f"the lake holds {sum(lines.lines.values())} lines of {len(lines.lines)} events")
    print(f"  the Beam job wrote {len(lines.read)} objects; every event is in exactly one line", flush=True)
    delete_objects(lake_keys(lane.events_topic) + lake_keys(lane.dead_letter_topic))
    if max(last, both) <= first:
        raise SystemExit(f"a backlog of {expected} landed in one poll: too small to time (try 10,000 or more)")
    return expected / (max(last, both) - first), sampler.summary()


def run_plain_consumer(lane: Lane, expected: int) -> float:
    """The baseline: a plain consumer loop with the same decode and enrichment, one object and one COPY a poll."""
    config = StreamConfig.from_settings(settings)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group.id": lane.group_id + "-plain",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.assign([TopicPartition(lane.events_topic, partition, 0) for partition in range(lane.partitions)])
    writers = SchemasById(registry_client())
    enriched_schema = LatestSchemas(registry_client(), config.registry.cache_seconds).get(config.enriched_subject)
    writer = config.s3.writer()
    connection = psycopg2.connect(**lane.dsn())
    psycopg2.extras.register_uuid()
    done = 0
    keys = []
    started = time.monotonic()
    while done < expected:
        messages = consumer.consume(config.max_records_per_poll, timeout=0.25)
        rows, lines = [], []
        for message in messages:
            if message.error():
                continue
            value = message.value() or b""
            schema_id = wire.schema_id_of(value)
            registered = writers.get(schema_id)
            assert registered is not None, f"unknown schema id {schema_id}"
            event = wire.decode(value, registered.parsed)
            enriched = enrich(
                event,
                correlation_id=(message.key() or b"").decode(),
                publish_time_ms=message.timestamp()[1],
                schema_id=schema_id,
            )
            if schema_errors(enriched, enriched_schema.definition, ""):
                continue
            line = lake.line(enriched)
            rows.append(row_of(enriched, line.decode()))
            lines.append(line)
        if rows:
            with connection.cursor() as cursor:
                insert_copy(cursor, rows)
            connection.commit()
            first = messages[0]
            key = lake.object_key(
                "bench-plain",
                lane.events_topic,
                first.partition() or 0,
                first.offset() or 0,
                first.timestamp()[1],
                compressed=False,
            )
            writer.put(key, lake.body(lines, compressed=False), lake.CONTENT_TYPE)
            keys.append(key)
        if messages:
            consumer.commit(asynchronous=False)  # the positions reached, of every partition
        done += len(rows)
    elapsed = time.monotonic() - started
    consumer.close()
    connection.close()
    delete_objects(keys)
    return expected / elapsed


def freshness(lane: Lane, rate: int, seconds: int) -> tuple[list[float], str, int, list[str]]:
    """Latencies (s) from a 200 of /collect to the row in PostgreSQL, at `rate` events/s (the peer driver's shape)."""
    fresh = freshness_to_both(lane, rate, seconds)
    return fresh.to_row, fresh.memory, fresh.posted - len(fresh.to_row), fresh.ids


@dataclass
class Freshness:
    to_row: list[float]  # seconds from the 200 to the row visible in PostgreSQL, per event seen there
    to_object: list[float]  # ... to its line in a lake object
    memory: str
    posted: int
    ids: list[str]


def wait_until_ready(address: str, timeout: float = 120.0) -> None:
    """Until the stream's /health/ready at `address` answers 200 (its source has polled Kafka)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://{address}/health/ready", timeout=2) as ready:
            if ready.status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"the stream did not report ready at {address} within {timeout:.0f}s")


def freshness_to_both(lane: Lane, rate: int, seconds: int) -> Freshness:
    """From a 200 of /collect to the row in PostgreSQL and to the line in the lake, at `rate` events/s.

    Packages of 10 events up to 1,000 events/s, of 100 above (the client's
    threads post at most a few hundred requests a second on this machine).
    """
    environment = lane.environment()
    api, port = serve_api(environment)
    metrics = f"127.0.0.1:{free_port()}"
    stream = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_stream"],
        env={**environment, "STREAM_METRICS_ADDRESS": metrics},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sampler = MemorySampler(stream.pid)
    sampler.start()
    acknowledged: dict[str, float] = {}
    seen: dict[str, float] = {}
    lines = LakeLines(lane.events_topic)
    lock = threading.Lock()
    size = 10 if rate <= 1000 else 100
    try:
        wait_until_ready(metrics)  # the job polls Kafka: its start is not part of any event's wait
        url = f"http://127.0.0.1:{port}/collect"
        packages_per_second = rate / size
        stop_at = time.monotonic() + seconds

        def post_one(scheduled: float) -> None:
            delay = scheduled - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            # Made for each request: every event its own message id, so each is a row of its own.
            body = json.dumps([sample_event(i) for i in range(size)]).encode()
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
            now = time.monotonic()
            with lock:
                for item in answer["events"]:
                    acknowledged[item["correlationId"]] = now

        def poll_rows() -> None:
            connection = psycopg2.connect(**lane.dsn())
            connection.autocommit = True
            with connection.cursor() as cursor:
                while time.monotonic() < stop_at + 30:
                    with lock:
                        pending = [c for c in acknowledged if c not in seen]
                    if pending:
                        # The ids are UUIDv7s of the moment of the 200: one index range scan from the lowest not
                        # seen yet returns the rows landed since (an ANY of every pending id loads the database).
                        cursor.execute(
                            "SELECT correlation_id::text FROM events WHERE correlation_id >= %s::uuid", [min(pending)]
                        )
                        now = time.monotonic()
                        with lock:
                            for (correlation_id,) in cursor.fetchall():
                                if correlation_id in acknowledged:
                                    seen.setdefault(correlation_id, now)
                    elif time.monotonic() > stop_at:
                        break
                    time.sleep(0.02)
            connection.close()

        def poll_objects() -> None:
            while time.monotonic() < stop_at + 30:
                lines.refresh()
                with lock:
                    done = time.monotonic() > stop_at and all(c in lines.first_seen for c in acknowledged)
                if done:
                    break
                time.sleep(0.02)

        pollers = [threading.Thread(target=poll_rows), threading.Thread(target=poll_objects)]
        for poller in pollers:
            poller.start()
        with ThreadPoolExecutor(16) as clients:
            start = time.monotonic()
            count = int(seconds * packages_per_second)
            for futures in [clients.submit(post_one, start + i / packages_per_second) for i in range(count)]:
                futures.result()
        for poller in pollers:
            poller.join()
    finally:
        sampler.running = False  # the load's memory, not the processes' ending after it
        stream.terminate()
        stream.wait(60)
        api.terminate()
        api.wait(30)
        delete_objects(lake_keys(lane.events_topic) + lake_keys(lane.dead_letter_topic))
    return Freshness(
        to_row=[seen[c] - acknowledged[c] for c in acknowledged if c in seen],
        to_object=[lines.first_seen[c] - acknowledged[c] for c in acknowledged if c in lines.first_seen],
        memory=sampler.summary(),
        posted=len(acknowledged),
        ids=list(acknowledged),
    )


def delete_objects(keys: list[str]) -> None:
    """The benchmark's own objects, and no other."""
    client = s3_client()
    for start in range(0, len(keys), 1000):
        batch: list[Any] = [{"Key": key} for key in keys[start : start + 1000]]
        client.delete_objects(Bucket=settings.S3_BUCKET, Delete={"Objects": batch, "Quiet": True})


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Backlog:
    """Events/s into both sinks from one backlog: the Beam job's (and its memory), and the baselines'."""

    beam: float
    beam_memory: str
    plain: float | None = None
    peer: float | None = None
    peer_memory: str = ""
    peer_objects: int = 0


def measure_backlog(backlog: int, baseline: bool, partitions: int = 1, stream_args: tuple[str, ...] = ()) -> Backlog:
    """The Beam job on a backlog; with `baseline`, the plain consumer loop on it too, and the Benthos peer's
    lake config when its binary is built."""
    lane = Lane("backlog", partitions)
    try:
        print(f"producing a backlog of {backlog} events over {partitions} partition(s) ...", flush=True)
        ids = produce_backlog(lane, backlog)
        beam_rate, beam_memory = run_beam(lane, backlog, stream_args)
        print(f"Beam job: {beam_rate:.0f} events/s into both sinks; {beam_memory}", flush=True)
        measured = Backlog(beam_rate, beam_memory)
        if baseline:
            with database_of_its_own(lane, "plain"):
                measured.plain = run_plain_consumer(lane, backlog)
            print(f"plain consumer loop: {measured.plain:.0f} events/s into both sinks", flush=True)
        if baseline and peer_present(PEER_LAKE_CONFIG):
            with database_of_its_own(lane, "peer"):
                measured.peer, measured.peer_memory, measured.peer_objects = run_peer_lake(lane, ids)
            print(f"Benthos peer ({PEER_LAKE_CONFIG}): {measured.peer:.0f} events/s into both sinks", flush=True)
        elif baseline:
            print(f"no Benthos peer at {PEER_BENTHOS}: ours only (build it with ../shared/peer/build.sh)")
        return measured
    finally:
        lane.drop()


@contextlib.contextmanager
def database_of_its_own(lane: Lane, suffix: str) -> Iterator[None]:
    """The lane on a new, migrated database for a baseline's run, dropped after it."""
    home = lane.database
    lane.database = f"{home}_{suffix}"
    try:
        admin_sql(f'CREATE DATABASE "{lane.database}"')
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
            env=lane.environment(),
            check=True,
        )
        yield
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{lane.database}" WITH (FORCE)')
        lane.database = home


PEER_LAKE_CONFIG = "stream-lake.yaml"


def run_peer_lake(lane: Lane, expected: list[str]) -> tuple[float, str, int]:
    """The Benthos peer configured for the lake (batched JSON Lines objects, named like ours) on the lane's
    backlog: events/s from its first row to its last row *and* every event in its objects, its memory, and
    how many objects it wrote. Its lines are checked: each event exactly once."""
    extra = {
        "KAFKA_TOPIC_EVENTS": lane.events_topic,
        "KAFKA_TOPIC_DEAD_LETTER": lane.dead_letter_topic,
        "STREAM_GROUP_ID": f"{lane.group_id}-peer",
        "POSTGRES_DB": lane.database,
    }
    log = Path(tempfile.gettempdir()) / f"holded-bench-peer-stream-{os.getpid()}.log"
    process, _ = start_peer(PEER_LAKE_CONFIG, extra, log)
    sampler = MemorySampler(process.pid)
    sampler.start()
    lines = LakeLines(lane.events_topic)
    try:
        first, last = wait_for_rows(lane, len(expected), timeout=1800, process=process)  # type: ignore[arg-type]
        lines.wait_until(len(expected), 120)  # short of them, the check below says how many
        both = time.monotonic()
    finally:
        sampler.running = False
        stop(process)
        delete_objects(lake_keys(lane.events_topic) + lake_keys(lane.dead_letter_topic))
    if not lines.exactly_once(expected):
        raise RuntimeError(f"the peer's objects hold {sum(lines.lines.values())} lines of {len(lines.lines)} events")
    return len(expected) / (max(last, both) - first), sampler.summary(), len(lines.read)


RUNNERS = (
    ("local runner (DirectRunner), one process", 1, ()),
    ("local runner (DirectRunner), a process a partition", 2, ()),
    ("Flink [local], a worker process a partition", 1, ("--runner", "flink")),
    ("Flink [local], a worker process a partition", 2, ("--runner", "flink")),
)


def compare_runners(backlog: int) -> None:
    """The same backlog drained on each runner, with 1 and 2 partitions: events/s into both sinks and memory.

    Flink's figure includes nothing of its start-up: it is timed, as on the local runner, from the first row.
    """
    results = []
    for name, partitions, stream_args in RUNNERS:
        measured = measure_backlog(backlog, False, partitions, stream_args)
        rate, memory = measured.beam, measured.beam_memory
        print(f"{name}, {partitions} partition(s): {rate:.0f} events/s; {memory}", flush=True)
        results.append((name, partitions, rate, memory))
    print(f"\nbacklog of {backlog} events, both sinks, the whole process tree's memory:")
    for name, partitions, rate, memory in results:
        print(f"  {name:<46} {partitions} partition(s) {rate:>8.0f} events/s   {memory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=100_000, help="events in the backlog")
    parser.add_argument(
        "--partitions", type=int, default=2, help="partitions of the events topic (the job runs a process each)"
    )
    parser.add_argument("--rate", type=int, default=1000, help="events/s posted for freshness")
    parser.add_argument("--seconds", type=int, default=30, help="seconds of steady load for freshness")
    parser.add_argument("--skip-baseline", action="store_true", help="neither the plain loop nor the peer")
    parser.add_argument("--fresh-rates", default="", help="more rates for freshness, e.g. 5000")
    parser.add_argument("--skip-freshness", action="store_true")
    parser.add_argument("--skip-backlog", action="store_true")
    parser.add_argument(
        "--runners",
        action="store_true",
        help="only the backlog, on the local runner and on Flink's embedded cluster, with 1 and 2 partitions",
    )
    args = parser.parse_args()
    if args.runners:
        compare_runners(args.backlog)
        return
    backlog = None if args.skip_backlog else measure_backlog(args.backlog, not args.skip_baseline, args.partitions)

    fresh: list[tuple[int, Freshness]] = []
    rates = [] if args.skip_freshness else [args.rate] + [int(r) for r in args.fresh_rates.split(",") if r]
    for rate in rates:
        lane = Lane("fresh", args.partitions)
        try:
            fresh.append((rate, freshness_to_both(lane, rate, args.seconds)))
        finally:
            lane.drop()

    print()
    if backlog is not None:
        print(
            f"backlog of {args.backlog} events over {args.partitions} partition(s), both sinks "
            "(lake objects + PostgreSQL row per event):"
        )
        print(f"  Beam job (manage.py run_stream, local runner)  {backlog.beam:>8.0f} events/s")
        if backlog.plain:
            ratio = backlog.beam / backlog.plain
            plain = f"{backlog.plain:>8.0f} events/s"
            print(f"  plain confluent-kafka consumer loop            {plain}   ours/it {ratio:.2f}")
        if backlog.peer:
            ratio = backlog.beam / backlog.peer
            print(
                f"  Benthos v4.27.0 {PEER_LAKE_CONFIG:<30} {backlog.peer:>8.0f} events/s   ours/it {ratio:.2f}"
                f" ({backlog.peer_objects} objects; {backlog.peer_memory})"
            )
        print(f"  memory of the Beam job: {backlog.beam_memory}")
    for rate, measured in fresh:
        print(f"freshness at {rate} events/s through POST /collect for {args.seconds}s ({measured.posted} events):")
        for what, latencies in (("row visible", measured.to_row), ("line in the lake", measured.to_object)):
            if not latencies:
                print(f"  POST 200 -> {what}: none seen")
                continue
            print(
                f"  POST 200 -> {what + ':':<17} p50 {statistics.median(latencies) * 1000:>5.0f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:>5.0f} ms, max {max(latencies) * 1000:>5.0f} ms; "
                f"not seen: {measured.posted - len(latencies)}"
            )
        print(f"  memory of the Beam job: {measured.memory}")


if __name__ == "__main__":
    main()
