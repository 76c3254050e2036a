"""Property test of POST /collect: arbitrary bodies and headers never give a 5xx, never lose an event,
and never put one event both on events.raw and in the dead letter."""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from generator.events import invalid_event, valid_event
from tests.support.kafka import read_topic, topic_size
from tests.support.lanes import Lane

pytestmark = pytest.mark.integration

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


@st.composite
def events(draw: st.DrawFn) -> Any:
    """A source event, valid or broken, or any JSON value at all."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    kind = draw(st.sampled_from(["valid", "invalid", "anything"]))
    if kind == "valid":
        return valid_event(rng, datetime.now(UTC))
    if kind == "invalid":
        return invalid_event(rng, datetime.now(UTC))[0]
    return draw(json_values)


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, str, str]:
    shape = draw(st.sampled_from(["package", "json", "bytes"]))
    if shape == "package":
        body = json.dumps(draw(st.lists(events(), min_size=0, max_size=12))).encode()
    elif shape == "json":
        body = json.dumps(draw(json_values)).encode()
    else:
        body = draw(st.binary(max_size=200))
    content_type = draw(
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", "application/xml"])
    )
    encoding = draw(st.sampled_from(["", "identity", "gzip", "br", "x-unknown"]))
    if encoding == "gzip" and draw(st.booleans()):
        body = gzip.compress(body)
    return body, content_type, encoding


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_collect_never_fails_and_never_loses_an_event(lane: Lane, request: tuple[bytes, str, str]) -> None:
    body, content_type, encoding = request
    before = topic_size(lane.events_topic), topic_size(lane.dead_letter_topic)
    headers: dict[str, Any] = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}

    response = APIClient().post("/collect", body, content_type=content_type, **headers)

    assert response.status_code < 500, response.content
    after = topic_size(lane.events_topic), topic_size(lane.dead_letter_topic)
    if response.status_code != 200:
        assert after == before  # a refused request produces nothing
        return
    outcome = response.json()["events"]
    statuses = [item["status"] for item in outcome]
    assert set(statuses) <= {"accepted", "rejected"}
    assert after[0] - before[0] == statuses.count("accepted")
    assert after[1] - before[1] == statuses.count("rejected")
    ids = [item["correlationId"] for item in outcome]
    assert len(set(ids)) == len(ids)


def test_no_event_is_both_accepted_and_dead_lettered(lane: Lane) -> None:
    # Over everything the property test above may also have sent: keys are disjoint.
    client = APIClient()
    rng = random.Random(4)
    from datetime import UTC, datetime

    package = [
        valid_event(rng, datetime.now(UTC)) if i % 2 else invalid_event(rng, datetime.now(UTC))[0] for i in range(20)
    ]
    assert client.post("/collect", json.dumps(package), content_type="application/json").status_code == 200

    raw = {record.key() for record in read_topic(lane.events_topic, expected=10)}
    dead = {record.key() for record in read_topic(lane.dead_letter_topic, expected=10)}
    assert len(raw) == 10
    assert len(dead) == 10
    assert not raw & dead
