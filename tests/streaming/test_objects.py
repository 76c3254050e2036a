"""Where the lake's objects begin and end (streaming/pipeline/objects.py): pure, no services."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streaming.pipeline.objects import BrokerClock, ObjectAssembler, ObjectRule, Span
from streaming.pipeline.records import KafkaRecord

START_MS = 1_709_683_190_000


def record(offset: int, timestamp_ms: int) -> KafkaRecord:
    return KafkaRecord("t", 0, offset, None, b"", (), timestamp_ms)


def feed(rule: ObjectRule, records: Iterable[KafkaRecord]) -> tuple[list[Span[KafkaRecord]], ObjectAssembler]:
    assembler = ObjectAssembler(rule, "t", 0)
    closed = [span for span in map(assembler.add, records) if span is not None]
    return closed, assembler


def bounds(spans: list[Span[KafkaRecord]]) -> list[tuple[int, int]]:
    return [(span.start, span.end) for span in spans]


def test_an_object_ends_after_its_last_record_of_a_window() -> None:
    records = [
        record(0, START_MS + 100),
        record(1, START_MS + 900),
        record(2, START_MS + 1000),
        record(3, START_MS + 1500),
    ]

    closed, assembler = feed(ObjectRule(max_records=100, window_seconds=1), records)

    assert bounds(closed) == [(0, 2)]  # record 2 is in the next second: it starts the next object
    assert closed[0].first_timestamp_ms == START_MS + 100
    assert assembler.open_records == 2
    assert assembler.window_end_ms() == START_MS + 2000


def test_an_object_ends_with_its_nth_record() -> None:
    closed, assembler = feed(ObjectRule(max_records=3), [record(offset, START_MS) for offset in range(7)])

    assert bounds(closed) == [(0, 3), (3, 6)]
    assert assembler.open_records == 1


def test_an_object_ends_before_a_record_that_would_take_it_past_its_bytes() -> None:
    sized = [
        KafkaRecord("t", 0, offset, b"k", b"v" * size, (), START_MS) for offset, size in enumerate([3, 3, 3, 9, 1])
    ]

    closed, assembler = feed(ObjectRule(max_bytes=10), sized)

    # 4 + 4 bytes, then 4 would make 12; a record larger than the limit is an object on its own.
    assert bounds(closed) == [(0, 2), (2, 3), (3, 4)]
    assert assembler.open_records == 1


def test_an_idle_object_closes_when_asked_and_not_before_it_has_records() -> None:
    _, assembler = feed(ObjectRule(), [record(5, START_MS), record(9, START_MS + 1)])  # a gap: compaction, markers

    span = assembler.close_idle()

    assert span is not None
    assert bounds([span]) == [(5, 10)]
    assert assembler.close_idle() is None
    assert assembler.window_end_ms() is None


def test_a_record_stamped_earlier_stays_in_the_open_object() -> None:
    # LogAppendTime only moves on, unless the broker's clock was set back: then nothing is cut.
    closed, assembler = feed(ObjectRule(), [record(0, START_MS + 1500), record(1, START_MS + 200)])

    assert closed == []
    assert assembler.open_records == 2


@pytest.mark.parametrize("window", [0, 7, 3601, -1])
def test_a_window_must_divide_an_hour(window: int) -> None:
    with pytest.raises(ValueError, match="divide an hour"):
        ObjectRule(window_seconds=window)


def test_an_object_holds_at_least_one_record() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        ObjectRule(max_records=0)


timestamps = st.lists(st.integers(0, 400), min_size=1, max_size=200).map(
    lambda steps: [START_MS + sum(steps[: i + 1]) for i in range(len(steps))]
)


@given(
    stamps=timestamps,
    max_records=st.integers(1, 20),
    window=st.sampled_from([1, 2, 5, 60]),
    crash_at=st.integers(0, 200),
)
def test_a_replay_from_any_commit_makes_the_same_objects(
    stamps: list[int], max_records: int, window: int, crash_at: int
) -> None:
    """A crash after any object, then a replay from its end (the committed offset), gives the same objects;
    and the objects cover the offsets read, in order, without overlap."""
    rule = ObjectRule(max_records, window)
    records = [record(offset, stamp) for offset, stamp in enumerate(stamps)]
    closed, _ = feed(rule, records)

    committed = closed[min(crash_at, len(closed) - 1)].end if closed else 0
    replayed, _ = feed(rule, records[committed:])

    assert [span for span in closed if span.start >= committed] == replayed
    assert all(a.end == b.start for a, b in itertools.pairwise(closed))
    assert all(0 < len(span.items) <= max_records for span in closed)
    for span in closed:  # one window, hence one hour, per object
        assert len({rule.window_of(r.timestamp_ms) for r in span.items}) == 1


def test_the_broker_clock_is_at_least_local_time_less_the_smallest_gap() -> None:
    clock = BrokerClock()
    assert clock.at_least(1_000_000) is None

    clock.observe(timestamp_ms=990_000, local_ms=1_000_000)  # read 10 s late (a backlog)
    clock.observe(timestamp_ms=999_950, local_ms=1_000_000)  # read at once: the clocks are within 50 ms

    assert clock.at_least(1_002_000) == 2_001_950 - 1_000_000
