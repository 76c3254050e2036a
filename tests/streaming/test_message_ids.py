"""Two events under one message id and timestamp: the sinks and reconcile agree on where each is.

PostgreSQL keeps one row per (messageIdStamp, timestampStamp). A resend (the
same data and attributes under a new correlationId) is accounted as such: the
lake keeps its line, the table the first row. A different event under a key
already taken is refused by the stream: a dead letter naming the event that
holds the key, in neither sink (docs/decisions/24-bounded-by-design.md).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper
from rest_framework.test import APIClient

from accounting.reconcile import reconcile
from tests.support.factories import MESSAGE_ID, brief_event
from tests.support.kafka import header_map, read_all
from tests.support.lanes import StreamLane
from tests.support.stream import lake_lines, rows_for, run_in_process

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_resend_is_kept_by_the_lake_and_another_event_under_a_taken_key_is_refused(stream_lane: StreamLane) -> None:
    started = datetime.now(UTC)
    message_id = str(uuid.uuid4())
    first = brief_event(attributes={MESSAGE_ID: message_id})
    resend = json.loads(json.dumps(first))  # the source sends the same message again
    other = brief_event(attributes={MESSAGE_ID: message_id}, data={"id": "inv-1", "amount": 999.0})
    package = [first, resend, other, brief_event()]
    body = APIClient().post("/collect", json.dumps(package), content_type="application/json").json()
    assert [outcome["status"] for outcome in body["events"]] == ["accepted"] * 4
    first_id, resend_id, other_id, plain_id = (outcome["correlationId"] for outcome in body["events"])

    assert run_in_process(idle_seconds=3) == "DONE"

    assert [row["correlation_id"] for row in rows_for([first_id, resend_id, other_id, plain_id])] == sorted(
        [first_id, plain_id]
    )
    in_lake = [line["metadata"]["correlationId"] for line in lake_lines("enriched", stream_lane.events_topic)]
    assert in_lake == [first_id, resend_id, plain_id]
    (letter,) = (header_map(letter) for letter in read_all(stream_lane.dead_letter_topic))
    assert letter["correlationId"] == other_id
    assert letter["error"] == (
        f"attributes.messageIdStamp: {message_id} at 2024-03-05T10:12:35+00:00 names another event already "
        f"(correlationId {first_id}), with other data or attributes: PostgreSQL keeps one row per message id "
        "and timestamp"
    )

    report = reconcile(start=started - timedelta(seconds=5), end=datetime.now(UTC))
    assert report.exact, report.problems
    assert (report.enriched, report.resent, dict(report.dead_letters)) == (2, 1, {"stream": 1})
    assert report.places[resend_id].startswith("resent by the source")
    assert report.places[other_id].startswith("dead letter (stream")


def test_a_replay_of_the_same_events_adds_nothing_and_refuses_nothing(
    stream_lane: StreamLane, settings: SettingsWrapper
) -> None:
    package = [brief_event(), brief_event()]
    body = APIClient().post("/collect", json.dumps(package), content_type="application/json").json()
    ids = [outcome["correlationId"] for outcome in body["events"]]
    assert run_in_process(idle_seconds=3) == "DONE"

    # A new group reads the same records again: their rows are there already, under their own correlationIds.
    settings.STREAM_GROUP_ID = f"{stream_lane.group_id}-again"
    assert run_in_process(idle_seconds=3) == "DONE"

    assert [row["correlation_id"] for row in rows_for(ids)] == sorted(ids)
    assert read_all(stream_lane.dead_letter_topic) == []
    assert [line["metadata"]["correlationId"] for line in lake_lines("enriched", stream_lane.events_topic)] == ids
