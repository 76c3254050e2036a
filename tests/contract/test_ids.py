"""UUIDv7 ids: unique per event, regrouping their package, ordered (contract section 5)."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.ids import (
    event_id,
    index_of,
    message_id_text,
    message_id_uuid,
    new_package_id,
    package_id_of,
    package_id_text,
    package_range,
    parse_ulid,
    timestamp_millis,
    uuid_text,
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


@given(
    st.uuids(),
    st.sampled_from(
        [
            str,
            lambda value: str(value).upper(),
            lambda value: value.hex,
            lambda value: f"{{{value}}}",
            lambda value: value.urn,
        ]
    ),
)
def test_a_uuids_text_is_its_canonical_form_however_spelled(
    value: uuid.UUID, spell: Callable[[uuid.UUID], str]
) -> None:
    assert uuid_text(spell(value)) == str(value)
    assert message_id_text(spell(value)) == str(value)


def test_a_ulid_message_ids_text_is_the_uuid_of_its_bits() -> None:
    assert message_id_text("01ARZ3NDEKTSV4RRFFQ69G5FAV") == "01563e3a-b5d3-d676-4c61-efb99302bd5b"


@pytest.mark.parametrize(
    "text", ["", "not-a-uuid", "5b0e6d3c-9f1a-4c55-8d5e-0a7f3f1b2c4", "5b0e6d3c-9f1a-4c55-8d5e-0a7f3f1b2c44\n"]
)
def test_what_spells_no_uuid_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="UUID"):
        uuid_text(text)
    with pytest.raises(ValueError, match=r"ULID|Crockford"):  # neither a UUID nor a ULID
        message_id_text(text)
