"""The request's serializer (pure): the package refused whole, or each event given back with its shape's errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytest_django.fixtures import Settings as SettingsWrapper

from collector.errors import InvalidPackage, PayloadTooLarge
from collector.serializers import EventSerializer, PackageSerializer, shaped_package
from collector.services import Shaped
from tests.support.factories import brief_event

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def test_a_package_of_events_is_given_back_in_order_with_no_errors() -> None:
    events = [brief_event(), {**brief_event(), "headers": {}}]
    assert shaped_package(events) == [Shaped(event, []) for event in events]


@pytest.mark.parametrize(
    ("body", "refusal", "message"),
    [
        ({"data": {}}, InvalidPackage, "The body must be a JSON array of events."),
        (None, InvalidPackage, "The body must be a JSON array of events."),
        ([], InvalidPackage, "The package is empty: send at least one event."),
    ],
)
def test_a_body_that_is_not_a_package_is_refused_whole(body: Any, refusal: type[Exception], message: str) -> None:
    with pytest.raises(refusal, match=message):
        shaped_package(body)


def test_too_many_events_are_refused_whole_naming_the_limit(settings: SettingsWrapper) -> None:
    settings.COLLECT_MAX_EVENTS = 3
    with pytest.raises(PayloadTooLarge, match="at most 3 events, got 4"):
        shaped_package([brief_event()] * 4)


def test_an_event_of_the_wrong_shape_is_its_own_fault_not_the_packages() -> None:
    package = shaped_package([brief_event(), 7, {"data": {}, "attributes": []}])
    assert [[str(error) for error in shaped.errors] for shaped in package] == [
        [],
        ["event: must be a JSON object, got a number"],
        ["attributes: must be a JSON object, got an array"],
    ]


def test_one_event_alone_is_refused_as_drf_refuses_a_field() -> None:
    serializer = EventSerializer(data={"data": {}, "headers": "x"})
    assert not serializer.is_valid()
    assert serializer.errors == {"headers": ["must be a JSON object, got a string"]}


def test_the_package_serializer_is_the_events_list_serializer() -> None:
    assert isinstance(EventSerializer(many=True), PackageSerializer)
    assert set(EventSerializer().fields) == {"data", "attributes", "headers"}  # what the OpenAPI description shows


@given(JSON)
def test_any_json_is_refused_whole_or_given_back_event_by_event(body: Any) -> None:
    if not isinstance(body, list) or not body:
        with pytest.raises(InvalidPackage):
            shaped_package(body)
        return
    package = shaped_package(body)  # nothing else is raised, whatever the events hold
    assert [shaped.event for shaped in package] == body
    for shaped in package:
        event = shaped.event
        wrong = not isinstance(event, dict) or any(
            event.get(key) is not None and not isinstance(event[key], dict) for key in ("attributes", "headers")
        )
        assert bool(shaped.errors) == wrong, shaped
