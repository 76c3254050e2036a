"""The lake's keys and bodies (pure)."""

from __future__ import annotations

import gzip

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
