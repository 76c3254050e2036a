"""Running the stream in tests, and reading back what it wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psycopg2
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions
from django.conf import settings

from contract.lake import parse_key, read_lines
from integrations.clients import kafka_config, s3_client
from streaming.pipeline.config import StreamConfig
from streaming.runtime.launcher import run
from tests.support.kafka import read_all, wait_for_leaders
from tests.support.lanes import ROOT, StreamLane


def run_in_process(*, idle_seconds: float = 3.0, max_records: int | None = None) -> str:
    """Run the stream in this process until idle; its final state."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(StreamConfig.from_settings(settings), [], idle_seconds=idle_seconds, max_records=max_records)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


class StreamJob(subprocess.Popen[str]):
    """A job whose output goes to a file, not a pipe: a job that logs more than a pipe holds
    (64 KiB) is never held up waiting for a test that reads its output only at the end.
    `communicate()` waits for it and returns that output, as it would from a pipe."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        # Closed with the object (it lives as long as the job it logs), hence no context manager.
        self.log = tempfile.TemporaryFile("w+", prefix="run_stream-", suffix=".log")  # noqa: SIM115
        super().__init__(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, text=True)

    def communicate(self, input: str | None = None, timeout: float | None = None) -> tuple[str, str]:
        self.wait(timeout)
        self.log.seek(0)
        return self.log.read(), ""


def start_stream(
    lane: StreamLane, *args: str, crash_before_commit: bool = False, env: dict[str, str] | None = None
) -> StreamJob:
    """`manage.py run_stream` in a process of its own, as an operator runs it.

    With `crash_before_commit`, the process kills itself (SIGKILL) once its
    sinks have written the first bundle, before the source commits it.
    """
    command = (
        [sys.executable, str(ROOT / "tests" / "support" / "crash_before_commit.py")]
        if crash_before_commit
        else [sys.executable, str(ROOT / "manage.py"), "run_stream"]
    )
    return StreamJob([*command, *args], {**lane.environment(), **(env or {})})


def committed_offsets(lane: StreamLane, partitions: int) -> list[int]:
    """The stream's committed offset of each partition of the lane's events topic (negative: none yet)."""
    return [committed_offset(lane, partition) for partition in range(partitions)]


def log_ends(lane: StreamLane, partitions: int) -> list[int]:
    """How many records each partition of the lane's events topic holds: where a drained stream commits."""
    return [len(read_all(lane.events_topic, partition)) for partition in range(partitions)]


def committed_offset(lane: StreamLane, partition: int = 0, topic: str | None = None) -> int:
    """The stream's committed offset of a partition of the lane's events topic, or of `topic` (negative: none)."""
    consumer = Consumer(kafka_config().consumer(lane.group_id, "tests"))
    try:
        (committed,) = consumer.committed([TopicPartition(topic or lane.events_topic, partition)], timeout=10)
        return int(committed.offset)
    finally:
        consumer.close()


def rows_for(correlation_ids: list[str]) -> list[dict[str, Any]]:
    """The rows of these events, read on a connection of its own (the database may have restarted)."""
    config = StreamConfig.from_settings(settings)
    with psycopg2.connect(**config.postgres_dsn) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT correlation_id::text, data, tableoid::regclass::text FROM events "
            "WHERE correlation_id = ANY(%s::uuid[]) ORDER BY correlation_id",
            [correlation_ids],
        )
        rows = [{"correlation_id": c, "data": d, "partition": p} for c, d, p in cursor.fetchall()]
    connection.close()
    return rows


def lake_objects(prefix: str, topic: str) -> dict[str, list[dict[str, Any]]]:
    """The lake's objects of one topic under `prefix` ("enriched", "dead-letter"): key -> its lines, by offset.

    Only today's and yesterday's dates are listed: the tests' records are published now.
    """
    today = datetime.now(UTC).date()
    objects: dict[str, list[dict[str, Any]]] = {}
    for day in (today - timedelta(days=1), today):
        for key in s3_keys(f"{prefix}/dt={day:%Y-%m-%d}/"):
            where = parse_key(key)
            if where is None or where[0] != topic:
                continue
            body = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
            objects[key] = [json.loads(line) for line in read_lines(key, body)]
    return dict(sorted(objects.items(), key=lambda item: (parse_key(item[0]) or ("", 0, 0))[1:]))


def assert_each_record_once_in_lake(topic: str, partitions: int) -> int:
    """Every record of the topic is a line of exactly one enriched object, and no two objects overlap: each
    object's lines are in offset order, between its start offset and the next object's of its partition.
    How many records that is."""
    objects = lake_objects("enriched", topic)
    total = 0
    for partition in range(partitions):
        records = read_all(topic, partition)
        offset_of = {(record.key() or b"").decode(): int(record.offset() or 0) for record in records}
        mine = {key: lines for key, lines in objects.items() if (parse_key(key) or ("", -1, 0))[1] == partition}
        starts = [(parse_key(key) or ("", 0, 0))[2] for key in mine]
        lines_at: list[int] = []
        for (key, lines), start, following in zip(mine.items(), starts, [*starts[1:], 2**63], strict=True):
            offsets = [offset_of[line["metadata"]["correlationId"]] for line in lines]
            assert offsets == sorted(offsets), f"{key}: lines out of offset order"
            assert start <= offsets[0], f"{key} holds a record before its start"
            assert offsets[-1] < following, f"{key} overlaps the next object"
            lines_at += offsets
        first = int(records[0].offset() or 0) if records else 0
        assert sorted(lines_at) == list(range(first, first + len(records))), (
            f"partition {partition}: a record is missing from the lake, or in it twice"
        )
        total += len(records)
    return total


def lake_lines(prefix: str, topic: str) -> list[dict[str, Any]]:
    """Every line of the lake's objects of one topic, in offset order."""
    return [line for lines in lake_objects(prefix, topic).values() for line in lines]


def s3_keys(prefix: str) -> list[str]:
    keys: list[str] = []
    paginator = s3_client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.S3_BUCKET, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


T = TypeVar("T")


def health(address: str) -> tuple[int, dict[str, Any]]:
    """The stream's /health/ready at `address`: its status and body (0 when nothing answers)."""
    try:
        with urllib.request.urlopen(f"http://{address}/health/ready", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError as error:
        return 0, {"error": str(error)}


def ready(address: str) -> bool:
    return health(address)[0] == 200


def wait_for(condition: Callable[[], T], timeout: float, what: str) -> T:
    """The first truthy value of `condition`, polled every 0.25 s; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout}s: {what}")


def children(pid: int) -> list[int]:
    """The pids of a process's children (a supervisor's job), whichever of its threads started them (a JVM
    starts processes from threads of its own, as Flink's task manager does its SDK workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue  # the thread ended meanwhile
    return found


def descendants(pid: int) -> list[tuple[int, str]]:
    """Every process below `pid`, with its command line."""
    found = []
    for child in children(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue
        found.append((child, command))
        found += descendants(child)
    return found


def alive(pid: int) -> bool:
    """Is `pid` a process still running (not a zombie)?"""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, FileNotFoundError):
        return False
    return stat.split(") ", 1)[1][0] != "Z"


def metric(address: str, name: str) -> float:
    """The sum of every sample of the metrics named `name` (a prefix) that the stream serves at `address`."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(name))


def spread_over(kafka_admin: AdminClient, lane: StreamLane, partitions: int) -> None:
    """Give the lane's events topic `partitions` partitions, once each has a leader."""
    kafka_admin.create_partitions([NewPartitions(lane.events_topic, partitions)])[lane.events_topic].result(timeout=30)
    wait_for_leaders(kafka_admin, [lane.events_topic])


def assert_each_record_once_in_both_sinks(lane: StreamLane, partitions: int) -> int:
    """Every record of the lane's events topic is a line of exactly one lake object of its partition (no two
    overlapping) and one row of PostgreSQL; how many records that is."""
    count = assert_each_record_once_in_lake(lane.events_topic, partitions)
    ids = [(record.key() or b"").decode() for p in range(partitions) for record in read_all(lane.events_topic, p)]
    assert len(rows_for(ids)) == count  # once each in PostgreSQL
    return count
