"""Fixtures for the stream's tests: topics, subject and consumer group of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from django.conf import settings
from pytest_django.fixtures import Settings as SettingsWrapper

from streaming.config import StreamConfig
from streaming.launcher import run
from tests.conftest import Lane, unique_name

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StreamLane(Lane):
    """A lane (topics and subject of one test) with a consumer group of its own."""

    group_id: str = ""

    def environment(self) -> dict[str, str]:
        """The settings of this lane, for a `manage.py run_stream` subprocess."""
        return {
            **os.environ,
            "KAFKA_TOPIC_EVENTS": self.events_topic,
            "KAFKA_TOPIC_DEAD_LETTER": self.dead_letter_topic,
            "STREAM_GROUP_ID": self.group_id,
            "POSTGRES_DB": str(settings.DATABASES["default"]["NAME"]),  # the test database
            "LOG_LEVEL": "INFO",
        }


@pytest.fixture
def stream_lane(lane: Lane, settings: SettingsWrapper, django_db_setup: None) -> StreamLane:
    settings.STREAM_GROUP_ID = group_id = unique_name("stream")
    return StreamLane(**vars(lane), group_id=group_id)


def run_in_process(*, idle_seconds: float = 3.0, max_records: int | None = None) -> str:
    """Run the stream in this process until idle; its final state."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(StreamConfig.from_settings(settings), [], idle_seconds=idle_seconds, max_records=max_records)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def start_stream(lane: StreamLane, *args: str, **extra_env: str) -> subprocess.Popen[str]:
    """`manage.py run_stream` in a process of its own, as an operator runs it."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "run_stream", *args],
        cwd=ROOT,
        env={**lane.environment(), **extra_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def committed_offset(lane: StreamLane) -> int:
    consumer = Consumer({"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "group.id": lane.group_id})
    try:
        (partition,) = consumer.committed([TopicPartition(lane.events_topic, 0)], timeout=10)
        return int(partition.offset)
    finally:
        consumer.close()


def rows_for(correlation_ids: list[str]) -> list[dict[str, Any]]:
    """The rows of these events, read on a connection of its own (the database may have restarted)."""
    import psycopg2

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


def s3_object(key: str) -> dict[str, Any] | None:
    import json

    from botocore.exceptions import ClientError

    from holded.storage import s3_client

    try:
        body = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
    except ClientError:
        return None
    document: dict[str, Any] = json.loads(body)
    return document


def s3_keys(prefix: str) -> list[str]:
    from holded.storage import s3_client

    keys: list[str] = []
    paginator = s3_client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.S3_BUCKET, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys
