"""A record a sink refuses, for a reason nobody listed, costs that record alone: against the real sinks.

The sinks isolate a refused write by behaviour (streaming/pipeline/isolation.py): a
batch is split until each record at fault is alone, and that record is
refused only if a write known to be good then succeeds. Here PostgreSQL
refuses rows for reasons of every kind (an index entry too large, a NUL, a
trigger's own SQLSTATE that no list names), the S3 store refuses objects by
a bucket policy, and a database that refuses every write is waited for.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import psycopg2
import pytest
from apache_beam import pvalue
from apache_beam.utils.windowed_value import WindowedValue
from botocore.config import Config
from django.conf import settings
from rest_framework.test import APIClient

from contract import lake
from contract.enriched import enrich
from contract.ids import event_id, new_package_id
from contract.lake import parse_key
from streaming.pipeline.config import StreamConfig
from streaming.pipeline.objects import Span
from streaming.pipeline.records import REJECTED, Enriched, KafkaRecord, Rejected
from streaming.pipeline.transforms.write_postgres import _WriteToPostgresFn
from streaming.runtime import lifecycle
from streaming.runtime.host import Hosted
from streaming.runtime.lifecycle import Lifecycle
from tests.support.factories import brief_event
from tests.support.kafka import header_map, read_all
from tests.support.lanes import StreamLane
from tests.support.stream import lake_lines, lake_objects, rows_for, run_in_process, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# A trigger raises this SQLSTATE for the rows it is told to: a class (HX) no list of ours names.
UNKNOWN_SQLSTATE = "HX001"


@pytest.fixture
def fresh_run() -> Lifecycle:
    """A run of this process's own, as the launcher begins one: the sink's Host reports to it."""
    return lifecycle.begin()


def owner_connection() -> Any:
    """A connection as the database's owner, committing each statement: what it changes, the stream sees."""
    database = settings.DATABASES["default"]
    connection = psycopg2.connect(
        host=database["HOST"],
        port=database["PORT"],
        dbname=database["NAME"],
        user=database["USER"],
        password=database["PASSWORD"],
    )
    connection.autocommit = True
    return connection


@pytest.fixture
def refusing_trigger() -> Iterator[Any]:
    """A trigger on `events` that refuses, with UNKNOWN_SQLSTATE, each row whose type starts with `poison`
    (or every row, once told so); dropped afterwards."""
    connection = owner_connection()
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS test_refuse_everything (everything boolean)")
        cursor.execute("TRUNCATE test_refuse_everything")
        cursor.execute("GRANT SELECT ON test_refuse_everything TO PUBLIC")
        cursor.execute(
            f"""
            CREATE OR REPLACE FUNCTION test_refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.type LIKE 'poison%' OR EXISTS (SELECT 1 FROM test_refuse_everything WHERE everything) THEN
                    RAISE EXCEPTION 'refused by a trigger: %', NEW.type USING ERRCODE = '{UNKNOWN_SQLSTATE}';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        cursor.execute(
            "CREATE TRIGGER test_refuse_poison BEFORE INSERT ON events "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_poison()"
        )
    try:
        yield connection
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS test_refuse_poison ON events")
            cursor.execute("DROP FUNCTION IF EXISTS test_refuse_poison()")
            cursor.execute("DROP TABLE IF EXISTS test_refuse_everything")
        connection.close()


def refuse_everything(connection: Any, everything: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE test_refuse_everything")
        cursor.execute("INSERT INTO test_refuse_everything VALUES (%s)", [everything])


def dead_letters(lane: StreamLane) -> dict[str, dict[str, str]]:
    """The lane's dead letters' headers, by correlationId."""
    return {header_map(letter)["correlationId"]: header_map(letter) for letter in read_all(lane.dead_letter_topic)}


def random_text(length: int) -> str:
    """Text PostgreSQL cannot compress: an index entry as large as the text."""
    return "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=length))


def enriched_events(count: int, types: dict[int, str]) -> list[Enriched]:
    """Events as the sink receives them (past Decode and Enrich, whose limits they may break), types by index."""
    package = new_package_id()
    events = []
    for index in range(count):
        correlation_id = str(event_id(package, index))
        event = {
            "data": {"id": f"inv-{index}", "amount": 1.5},
            "attributes": {
                "timestampStamp": "2024-03-05T10:12:35+00:00",
                "messageIdStamp": str(uuid.uuid4()),
                "type": types.get(index, "invoice.created"),
                "targetSubscription": "accounting",
                "newContextStamp": {"accountId": str(uuid.uuid4()), "userId": str(uuid.uuid4())},
            },
        }
        enriched = enrich(event, correlation_id=correlation_id, publish_time_ms=1_709_633_555_000, schema_id=1)
        record = KafkaRecord("events.raw", 0, index, correlation_id.encode(), b"", (), 1_709_633_555_000)
        events.append(Enriched(record, enriched, lake.line(enriched)))
    return events


def write_through_the_sink(config: StreamConfig, events: list[Enriched]) -> tuple[list[Enriched], list[Rejected]]:
    """The PostgreSQL sink's DoFn, as the runner drives it, over one span: what it wrote, and what it refused."""
    sink = _WriteToPostgresFn(config)
    sink.setup()
    try:
        sink.start_bundle()
        outputs = [*sink.process(Span("events.raw", 0, 0, len(events), 0, events)), *sink.finish_bundle()]
    finally:
        sink.teardown()
    written: list[Enriched] = []
    refused: list[Rejected] = []
    for output in outputs:
        tag = output.tag if isinstance(output, pvalue.TaggedOutput) else None
        value = output.value if isinstance(output, pvalue.TaggedOutput) else output
        value = value.value if isinstance(value, WindowedValue) else value  # outputs of finish_bundle
        if tag == REJECTED:
            refused.append(value)
        else:
            written += value.items
    return written, refused


def test_rows_postgresql_refuses_for_any_reason_are_refused_alone_and_the_rest_of_the_batch_lands(
    stream_lane: StreamLane, refusing_trigger: Any, fresh_run: None
) -> None:
    poison = {
        10: random_text(6000),  # 54000: larger than a B-tree entry (the issue's own example)
        500: "invoice\x00created",  # a NUL: refused by the driver, before anything is sent
        997: "poison: refused by a trigger",  # HX001: a SQLSTATE no list names
    }
    events = enriched_events(1000, poison)
    config = StreamConfig.from_settings(settings)

    written, refused = write_through_the_sink(config, events)

    assert len(written) == 997
    assert [rejected.record.offset for rejected in refused] == [10, 500, 997]
    errors = [rejected.error for rejected in refused]
    assert errors[0].startswith("PostgreSQL refused the row: 54000 ProgramLimitExceeded: index row size")
    assert errors[1].startswith("PostgreSQL refused the row: ValueError: A string literal cannot contain NUL")
    # psycopg2 knows no class for HX: an OperationalError, which alone would read as a lost connection.
    assert errors[2].startswith(
        f"PostgreSQL refused the row: {UNKNOWN_SQLSTATE} OperationalError: refused by a trigger"
    )
    good = [event.correlation_id for event in events if event.record.offset not in poison]
    assert len(rows_for(good)) == 997
    assert rows_for([events[offset].correlation_id for offset in poison]) == []


def test_a_database_that_refuses_every_row_is_waited_for_and_nothing_is_dead_lettered(
    stream_lane: StreamLane, refusing_trigger: Any, fresh_run: Lifecycle
) -> None:
    # Every row refused, the probe's too, for a reason no list names: the database's trouble, not the rows'.
    refuse_everything(refusing_trigger, True)
    events = enriched_events(50, {})
    config = replace(StreamConfig.from_settings(settings), host=Hosted())
    outcome: dict[str, Any] = {}
    writer = threading.Thread(target=lambda: outcome.update(result=write_through_the_sink(config, events)))

    writer.start()
    wait_for(lambda: "postgres" in fresh_run.readiness()[1], 30, "the sink to report PostgreSQL failing")
    time.sleep(2)  # a few retries
    assert writer.is_alive(), "the sink gave up on rows the database refused for its own reason"
    refuse_everything(refusing_trigger, False)
    writer.join(60)

    written, refused = outcome["result"]
    assert (len(written), refused) == (50, [])
    assert len(rows_for([event.correlation_id for event in events])) == 50


def test_the_job_goes_on_past_rows_postgresql_refuses_and_each_ends_in_exactly_one_place(
    stream_lane: StreamLane, refusing_trigger: Any
) -> None:
    client = APIClient()
    package = [brief_event(), brief_event(attributes={"type": "poison.one"}), brief_event(), brief_event()]
    package += [brief_event(attributes={"type": "poison.two"}), brief_event()]
    body = client.post("/collect", json.dumps(package), content_type="application/json").json()
    ids = [outcome["correlationId"] for outcome in body["events"]]

    assert run_in_process(idle_seconds=3) == "DONE"

    letters = {
        header_map(letter)["correlationId"]: header_map(letter) for letter in read_all(stream_lane.dead_letter_topic)
    }
    assert sorted(letters) == sorted([ids[1], ids[4]])
    assert all(
        letter["error"].startswith(f"PostgreSQL refused the row: {UNKNOWN_SQLSTATE}") for letter in letters.values()
    )
    landed = [ids[index] for index in (0, 2, 3, 5)]
    assert [row["correlation_id"] for row in rows_for(ids)] == sorted(landed)
    in_lake = [line["metadata"]["correlationId"] for line in lake_lines("enriched", stream_lane.events_topic)]
    assert sorted(in_lake) == sorted(landed)
    archived = [line["correlationId"] for line in lake_lines("dead-letter", stream_lane.dead_letter_topic)]
    assert sorted(archived) == sorted(letters)


def root_s3() -> Any:
    """The store's administrator (the scripts' account, not the app's)."""
    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        region_name=settings.S3_REGION,
        aws_access_key_id=os.environ.get("S3_ROOT_ACCESS_KEY_ID", "minioadmin"),
        aws_secret_access_key=os.environ.get("S3_ROOT_SECRET_ACCESS_KEY", "minioadmin"),
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture
def bucket_policy() -> Iterator[Callable[[dict[str, Any]], None]]:
    """Sets a policy on the bucket for one test; removed afterwards (the app's user owns the bucket again)."""
    root = root_s3()
    yield lambda policy: root.put_bucket_policy(Bucket=settings.S3_BUCKET, Policy=json.dumps(policy))
    root.delete_bucket_policy(Bucket=settings.S3_BUCKET)


def refusing_puts(keys: list[str]) -> dict[str, Any]:
    """A policy under which the store answers the app's PUT of these keys 403, and takes every other."""
    bucket, app = settings.S3_BUCKET, settings.S3_ACCESS_KEY_ID
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [app]},
                "Action": ["s3:*"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            },
            {
                "Effect": "Deny",
                "Principal": {"AWS": [app]},
                "Action": ["s3:PutObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/{key}" for key in keys],
            },
        ],
    }


def test_objects_the_store_refuses_are_split_until_the_refused_event_is_alone_and_it_loses_its_row(
    stream_lane: StreamLane, bucket_policy: Callable[[dict[str, Any]], None]
) -> None:
    client = APIClient()
    body = client.post("/collect", json.dumps([brief_event() for _ in range(20)]), content_type="application/json")
    ids = [outcome["correlationId"] for outcome in body.json()["events"]]
    # The store refuses any object that starts at offset 0: the object of offsets 0 to 19, then its halves that
    # start there, down to event 0 alone, while it takes every other write.
    topic = stream_lane.events_topic
    bucket_policy(refusing_puts([f"enriched/*/{topic}+0+{0:020d}.jsonl"]))

    assert run_in_process(idle_seconds=3) == "DONE"

    letters = dead_letters(stream_lane)
    assert list(letters) == [ids[0]]
    assert letters[ids[0]]["error"].startswith("the lake refused the event: PUT enriched/")
    assert "PermissionDeniedError" in letters[ids[0]]["error"]  # the store's 403, as obstore names it
    assert [row["correlation_id"] for row in rows_for(ids)] == sorted(ids[1:])  # event 0's row taken back
    objects = lake_objects("enriched", topic)
    # The halves that were taken, each an object keyed by its first event's offset: what a replay writes again.
    assert [(parse_key(key) or ("", 0, 0))[2] for key in objects] == [1, 2, 5, 10]
    assert [line["metadata"]["correlationId"] for lines in objects.values() for line in lines] == ids[1:]
