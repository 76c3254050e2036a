"""The lake's keys and bodies (pure)."""

from __future__ import annotations

import gzip
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import lake

PUBLISHED_MS = 1_709_683_199_123  # 2024-03-05T23:59:59.123Z


def test_a_key_is_named_like_kafka_connects_s3_sink() -> None:
    key = lake.object_key("enriched", "events.raw", 3, 1234, PUBLISHED_MS, compressed=False)

    assert key == "enriched/dt=2024-03-05/hour=23/events.raw+3+00000000000000001234.jsonl"
    assert lake.parse_key(key) == ("events.raw", 3, 1234)
    gzipped = lake.object_key("dead-letter", "events.dead.letter", 0, 7, PUBLISHED_MS, compressed=True)
    assert gzipped == "dead-letter/dt=2024-03-05/hour=23/events.dead.letter+0+00000000000000000007.jsonl.gz"
    assert lake.parse_key(gzipped) == ("events.dead.letter", 0, 7)


def test_other_keys_are_not_the_lakes() -> None:
    assert lake.parse_key("enriched/dt=2024-03-05/0190-x.json") is None  # one object per event, before
    assert lake.parse_key("enriched/dt=2024-03-05/hour=23/events.raw+0+12.jsonl") is None  # not padded


@given(st.integers(0, 2**63 - 1), st.integers(0, 2**63 - 1))
def test_keys_sort_in_offset_order(first: int, second: int) -> None:
    keys = [lake.object_key("enriched", "t", 0, offset, PUBLISHED_MS, compressed=False) for offset in (first, second)]
    assert (keys[0] < keys[1]) == (first < second)


def test_a_gzipped_body_is_the_same_bytes_every_time() -> None:
    lines = [b'{"a":1}', b'{"b":"\xc3\xbc"}']

    first = lake.body(lines, compressed=True)

    assert first == lake.body(lines, compressed=True)  # a replay rewrites the same object
    assert gzip.decompress(first) == b'{"a":1}\n{"b":"\xc3\xbc"}\n'
    assert lake.read_lines("x.jsonl.gz", first) == lines
    assert lake.read_lines("x.jsonl", lake.body(lines, compressed=False)) == lines


# Any JSON document: what a decoded event or a dead letter's archive line may hold.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_a_line_reads_back_as_its_document(document: Any) -> None:
    written = lake.line(document)

    assert b"\n" not in written  # one line, whatever the texts hold
    assert json.loads(written) == document


@given(JSON, st.sampled_from([math.nan, math.inf, -math.inf]))
def test_nan_and_infinity_are_refused_wherever_they_are(document: Any, number: float) -> None:
    with pytest.raises(ValueError, match=r"NaN and Infinity|Out of range float"):  # orjson's way, or json's
        lake.line({"data": document, "amount": [number]})


def test_what_orjson_does_not_write_is_written_the_standard_way() -> None:
    assert json.loads(lake.line({"big": 2**70, "1": None})) == {"big": 2**70, "1": None}
    assert json.loads(lake.line({1: "a key that is a number"})) == {"1": "a key that is a number"}
    with pytest.raises(ValueError, match="surrogates"):  # not Unicode: no reader could read it back
        lake.line({"text": "\ud800"})
