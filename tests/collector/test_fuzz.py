"""Property test of POST /collect: arbitrary bodies and headers never give a 5xx, never lose an event,
and never put one event both on events.raw and in the dead letter.

Beside well-formed and broken events and any JSON value, it sends what
attacks a parser and a validator: nesting thousands of levels deep, integers
hundreds of digits long, numbers no double holds (1e400), NaN and Infinity,
strings of megabytes, control characters and NUL, timestamps at the edges of
the calendar, and packages of hundreds of events. 10,000 examples a run.

Each example goes through both doors of POST /collect, in this process: the
served application (collector.wsgi's door in front of Django), called as
granian calls it, then DRF's view through Django's test client.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from collector.wsgi import application
from generator.events import invalid_event, valid_event
from integrations.clients import kafka_config
from tests.support.api import call_wsgi, post_environ
from tests.support.kafka import read_topic
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


TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
HOSTILE_SCALARS = st.one_of(
    st.integers(min_value=10**18).map(lambda n: str(n * 10 ** (n % 400))),  # up to ~420 digits
    st.sampled_from(["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e-400", "-0"]),
    TEXT.map(json.dumps),
    st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "\u0000"]).map(json.dumps),
)


@st.composite
def hostile_event(draw: st.DrawFn) -> str:
    """A valid event's JSON with one value replaced by raw hostile JSON text."""
    event = valid_event(random.Random(draw(st.integers(0, 2**32))), datetime.now(UTC))
    attributes = event.get("attributes") or event.get("headers") or {}
    targets = [("data", "amount"), ("data", "id")] + [("attributes", name) for name in attributes]
    section, field = draw(st.sampled_from(targets))
    marker = "\u0001HOSTILE\u0001"
    container = event["data"] if section == "data" else attributes
    container[field] = marker
    return json.dumps(event).replace(json.dumps(marker), draw(HOSTILE_SCALARS))


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    """Bodies written as text, to say what json.dumps would not: deep nesting, huge numbers, NaN."""
    kind = draw(st.sampled_from(["deep", "scalars", "events", "long", "many"]))
    if kind == "deep":
        depth = draw(st.integers(1, 200_000))
        inner = draw(st.sampled_from(["", json.dumps(valid_event(random.Random(depth), datetime.now(UTC)))]))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return ("[" + opener * depth + inner + closer * depth + "]").encode()
    if kind == "scalars":
        return ("[" + ",".join(draw(st.lists(HOSTILE_SCALARS, min_size=1, max_size=5))) + "]").encode()
    if kind == "events":
        return ("[" + ",".join(draw(st.lists(hostile_event(), min_size=1, max_size=5))) + "]").encode()
    if kind == "long":
        event = valid_event(random.Random(draw(st.integers(0, 2**32))), datetime.now(UTC))
        event["data"]["id"] = draw(st.sampled_from(["x", "é", "\u0000"])) * draw(st.integers(1, 1_200_000))
        return json.dumps([event], ensure_ascii=False).encode()
    event = valid_event(random.Random(draw(st.integers(0, 2**32))), datetime.now(UTC))
    return json.dumps([event] * draw(st.integers(1, 1100))).encode()  # many events, up to past the limit


@st.composite
def requests(draw: st.DrawFn) -> tuple[bytes, str, str]:
    shape = draw(st.sampled_from(["package", "json", "bytes", "hostile", "hostile"]))
    if shape == "package":
        body = json.dumps(draw(st.lists(events(), min_size=0, max_size=12))).encode()
    elif shape == "json":
        body = json.dumps(draw(json_values)).encode()
    elif shape == "hostile":
        body = draw(hostile_bodies())
    else:
        body = draw(st.binary(max_size=200))
    content_type = draw(
        st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", "application/xml"])
    )
    encoding = draw(st.sampled_from(["", "identity", "gzip", "br", "x-unknown"]))
    if encoding == "gzip" and draw(st.booleans()):
        body = gzip.compress(body)
    return body, content_type, encoding


class TopicSizes:
    """Records on the lane's two topics, asked of one consumer (a consumer per example would be most of the time)."""

    def __init__(self, lane: Lane) -> None:
        self._consumer = Consumer(kafka_config().consumer("fuzz-sizes", "tests"))
        self._topics = (lane.events_topic, lane.dead_letter_topic)

    def __call__(self) -> tuple[int, int]:
        sizes = []
        for topic in self._topics:
            low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
            sizes.append(int(high - low))
        return sizes[0], sizes[1]

    def close(self) -> None:
        self._consumer.close()


@pytest.fixture
def sizes(lane: Lane) -> Iterator[TopicSizes]:
    counter = TopicSizes(lane)
    yield counter
    counter.close()


@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request=requests())
def test_collect_never_fails_and_never_loses_an_event(sizes: TopicSizes, request: tuple[bytes, str, str]) -> None:
    body, content_type, encoding = request
    headers: dict[str, Any] = {"HTTP_CONTENT_ENCODING": encoding} if encoding else {}

    for door in (through_the_door, through_drf):
        before = sizes()
        status, answer = door(body, content_type, headers)

        assert status < 500, answer
        after = sizes()
        if status != 200:
            assert after == before  # a refused request produces nothing
            continue
        outcome = json.loads(answer)["events"]
        statuses = [item["status"] for item in outcome]
        assert set(statuses) <= {"accepted", "rejected"}
        assert after[0] - before[0] == statuses.count("accepted")
        assert after[1] - before[1] == statuses.count("rejected")
        ids = [item["correlationId"] for item in outcome]
        assert len(set(ids)) == len(ids)


def through_the_door(body: bytes, content_type: str, headers: dict[str, Any]) -> tuple[int, bytes]:
    """The served application, called with the environ a WSGI server builds."""
    status, _, answer = call_wsgi(application, post_environ(body, content_type, **headers))
    return int(status.split()[0]), answer


_client: list[APIClient] = []


def through_drf(body: bytes, content_type: str, headers: dict[str, Any]) -> tuple[int, bytes]:
    """DRF's view, through one test client (a new one loads Django's middlewares again)."""
    if not _client:
        _client.append(APIClient())
    response = _client[0].post("/collect", body, content_type=content_type, **headers)
    return int(response.status_code), response.content


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
