"""Where each event is, from what the stores hold (pure: classify() alone, no service)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from accounting.reconcile import DeadLetterSeen, InLake, TakenIn, classify


def taken(accepted: set[str] | None = None, rejected: dict[str, DeadLetterSeen] | None = None) -> TakenIn:
    entries: Counter[str] = Counter(accepted or set())
    entries.update(cid for cid, seen in (rejected or {}).items() if seen.stage == "collect")
    return TakenIn(accepted=set(accepted or set()), rejected=dict(rejected or {}), entries=entries)


def lake(enriched: list[str] | None = None, dead_letters: list[str] | None = None) -> InLake:
    """The lake's lines: one per id listed (an id listed twice has two lines)."""
    return InLake(enriched=Counter(enriched or []), dead_letters=Counter(dead_letters or []))


def letter(stage: str) -> DeadLetterSeen:
    return DeadLetterSeen(stage, f"refused at {stage}")


def test_an_event_in_both_sinks_is_enriched() -> None:
    report = classify(taken({"a"}), in_postgres={"a"}, in_lake=lake(["a"]))

    assert report.exact
    assert report.enriched == 1
    assert report.places == {"a": "enriched (PostgreSQL and the lake)"}


def test_an_event_in_one_sink_only_is_partial() -> None:
    report = classify(taken({"a", "b"}), in_postgres={"a"}, in_lake=lake(["b"]))

    assert report.problems == {"only in PostgreSQL": ["a"], "only in the lake": ["b"]}
    assert not report.exact


def test_an_event_nowhere_is_missing() -> None:
    report = classify(taken({"a"}), in_postgres=set(), in_lake=lake())

    assert report.problems == {"missing": ["a"]}


def test_an_event_on_two_lines_of_the_lake_is_a_problem() -> None:
    # Objects that overlap, or a replay that did not rewrite the same object.
    report = classify(taken({"a"}), in_postgres={"a"}, in_lake=lake(["a", "a"]))

    assert report.problems == {"twice in the lake": ["a"]}


def test_dead_letters_count_by_stage_when_archived_in_the_lake() -> None:
    report = classify(
        taken({"s"}, {"c": letter("collect"), "s": letter("stream")}),
        in_postgres=set(),
        in_lake=lake(dead_letters=["c", "s"]),
    )

    assert report.exact
    assert report.dead_letters == Counter({"collect": 1, "stream": 1})
    assert report.places["c"] == "dead letter (collect, topic and the lake): refused at collect"
    assert report.events == 2


def test_a_dead_letter_not_archived_or_archived_twice_is_a_problem() -> None:
    report = classify(
        taken(rejected={"c": letter("collect"), "d": letter("collect")}),
        in_postgres=set(),
        in_lake=lake(dead_letters=["d", "d"]),
    )

    assert report.problems == {"dead letter (collect) not in the lake": ["c"], "dead letter twice in the lake": ["d"]}


def test_enriched_and_dead_lettered_is_twice() -> None:
    report = classify(taken({"a"}, {"a": letter("stream")}), in_postgres={"a"}, in_lake=lake(["a"], dead_letters=["a"]))

    assert "enriched and dead-lettered" in report.problems


def test_accepted_and_rejected_by_the_collector_is_a_problem() -> None:
    report = classify(
        taken({"a"}, {"a": letter("collect")}), in_postgres={"a"}, in_lake=lake(["a"], dead_letters=["a"])
    )

    assert report.problems["taken in twice"] == ["a"]
    assert report.problems["accepted and rejected"] == ["a"]


def test_an_event_taken_in_twice_is_reported_once() -> None:
    twice = taken({"a"})
    twice.entries["a"] += 1

    report = classify(twice, in_postgres={"a"}, in_lake=lake(["a"]))

    assert report.problems == {"taken in twice": ["a"]}
    assert report.events == 1


def test_an_event_the_source_resent_is_accounted_not_a_problem() -> None:
    when = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    in_lake = lake(["a", "b"])
    in_lake.identities = {"a": ("m1", when), "b": ("m1", when)}

    report = classify(taken({"a", "b"}), in_postgres={"a"}, in_lake=in_lake, stored={("m1", when)})

    assert report.exact
    assert (report.enriched, report.resent, report.events) == (1, 1, 2)
    assert report.places["b"].startswith("resent by the source")


def test_an_event_only_in_the_lake_whose_key_has_no_row_is_still_a_problem() -> None:
    in_lake = lake(["b"])
    in_lake.identities = {"b": ("m2", datetime(2026, 11, 26, tzinfo=UTC))}

    report = classify(taken({"b"}), in_postgres=set(), in_lake=in_lake, stored=set())

    assert report.problems == {"only in the lake": ["b"]}
