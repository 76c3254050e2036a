"""UUIDv7 ids: unique per event, regrouping their package, ordered (contract section 5)."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.ids import (
    event_id,
    index_of,
    message_id_uuid,
    new_package_id,
    package_id_of,
    package_id_text,
    package_range,
    parse_ulid,
    timestamp_millis,
)


def test_a_package_id_is_a_uuid7_with_a_zero_index() -> None:
    before = time.time_ns() // 1_000_000
    package = new_package_id()
    after = time.time_ns() // 1_000_000

    assert package.version == 7
    assert package.variant == uuid.RFC_4122
    assert index_of(package) == 0
    assert before <= timestamp_millis(package) <= after


def test_event_ids_are_unique_and_regroup_their_package() -> None:
    package = new_package_id()
    ids = [event_id(package, index) for index in range(1000)]

    assert len(set(ids)) == 1000
    assert all(package_id_of(i) == package for i in ids)
    assert [index_of(i) for i in ids] == list(range(1000))
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    low, high = package_range(ids[500])
    assert low == package
    assert all(low <= i <= high for i in ids)
    assert str(high).endswith("ffff")


def test_packages_do_not_overlap_and_are_ordered() -> None:
    packages = [new_package_id() for _ in range(20_000)]  # many per millisecond

    assert packages == sorted(packages)
    assert len(set(packages)) == len(packages)
    for earlier, later in itertools.pairwise(packages):
        assert package_range(earlier)[1] < package_range(later)[0]


def test_an_index_out_of_range_is_refused() -> None:
    package = new_package_id()
    with pytest.raises(ValueError, match="index"):
        event_id(package, 65536)
    with pytest.raises(ValueError, match="not a package id"):
        event_id(event_id(package, 1), 2)


def test_a_ulid_becomes_the_uuid_of_the_same_bits() -> None:
    # The ULID spec's example; its 128 bits as a UUID.
    assert parse_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAV") == uuid.UUID("01563e3a-b5d3-d676-4c61-efb99302bd5b")
    assert message_id_uuid("01arz3ndektsv4rrffq69g5fav") == parse_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAV")


@pytest.mark.parametrize(
    "text", ["", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAU!", "81ARZ3NDEKTSV4RRFFQ69G5FAV"]
)
def test_not_a_ulid(text: str) -> None:
    with pytest.raises(ValueError, match=r"ULID|Crockford"):
        parse_ulid(text)


def test_a_uuid_message_id_is_itself() -> None:
    value = uuid.uuid4()
    assert message_id_uuid(str(value)) == value


@given(st.integers(0, 2**16 - 1))
def test_the_package_of_a_canonical_id_is_read_from_its_text(index: int) -> None:
    correlation_id = event_id(new_package_id(), index)

    assert package_id_text(str(correlation_id)) == str(package_id_of(correlation_id))
