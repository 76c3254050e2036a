"""Where each event is, from what the stores hold (pure: classify() alone, no service)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from accounting.reconcile import DeadLetterSeen, TakenIn, classify


def taken(accepted: dict[str, str] | None = None, rejected: dict[str, DeadLetterSeen] | None = None) -> TakenIn:
    entries: Counter[str] = Counter(list(accepted or {}))
    entries.update(cid for cid, seen in (rejected or {}).items() if seen.stage == "collect")
    return TakenIn(accepted=dict(accepted or {}), rejected=dict(rejected or {}), entries=entries)


def letter(stage: str, key: str = "dl/a.json") -> DeadLetterSeen:
    return DeadLetterSeen(stage, f"refused at {stage}", frozenset({key}))


def test_an_event_in_both_sinks_is_enriched() -> None:
    report = classify(taken({"a": "e/a.json"}), in_postgres={"a"}, in_bucket={"e/a.json"})

    assert report.exact
    assert report.enriched == 1
    assert report.places == {"a": "enriched (PostgreSQL and S3)"}


def test_an_event_in_one_sink_only_is_partial() -> None:
    report = classify(taken({"a": "e/a.json", "b": "e/b.json"}), in_postgres={"a"}, in_bucket={"e/b.json"})

    assert report.problems == {"only in PostgreSQL": ["a"], "only in S3": ["b"]}
    assert not report.exact


def test_an_event_nowhere_is_missing() -> None:
    report = classify(taken({"a": "e/a.json"}), in_postgres=set(), in_bucket=set())

    assert report.problems == {"missing": ["a"]}


def test_dead_letters_count_by_stage_when_their_copy_is_in_the_bucket() -> None:
    report = classify(
        taken({"s": ""}, {"c": letter("collect", "dl/c.json"), "s": letter("stream", "dl/s.json")}),
        in_postgres=set(),
        in_bucket={"dl/c.json", "dl/s.json"},
    )

    assert report.exact
    assert report.dead_letters == Counter({"collect": 1, "stream": 1})
    assert report.places["c"] == "dead letter (collect, topic and S3): refused at collect"
    assert report.events == 2


def test_a_dead_letter_without_its_copy_is_a_problem() -> None:
    report = classify(taken(rejected={"c": letter("collect")}), in_postgres=set(), in_bucket=set())

    assert report.problems == {"dead letter (collect) not in S3": ["c"]}


def test_enriched_and_dead_lettered_is_twice() -> None:
    report = classify(
        taken({"a": "e/a.json"}, {"a": letter("stream")}), in_postgres={"a"}, in_bucket={"e/a.json", "dl/a.json"}
    )

    assert "enriched and dead-lettered" in report.problems


def test_accepted_and_rejected_by_the_collector_is_a_problem() -> None:
    report = classify(
        taken({"a": "e/a.json"}, {"a": letter("collect")}), in_postgres={"a"}, in_bucket={"e/a.json", "dl/a.json"}
    )

    assert report.problems["taken in twice"] == ["a"]
    assert report.problems["accepted and rejected"] == ["a"]


def test_an_event_taken_in_twice_is_reported() -> None:
    twice = taken({"a": "e/a.json"})
    twice.entries["a"] += 1

    report = classify(twice, in_postgres={"a"}, in_bucket={"e/a.json"})

    assert report.problems == {"taken in twice": ["a"]}


def test_an_event_the_source_resent_is_accounted_not_a_problem() -> None:
    when = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    first, again = ("m1", when), ("m1", when)
    sent = taken({"a": "e/a.json", "b": "e/b.json"})
    sent.identities = {"a": first, "b": again}

    report = classify(sent, in_postgres={"a"}, in_bucket={"e/a.json", "e/b.json"}, stored={first})

    assert report.exact
    assert (report.enriched, report.resent, report.events) == (1, 1, 2)
    assert report.places["b"].startswith("resent by the source")


def test_an_event_only_in_s3_whose_key_has_no_row_is_still_a_problem() -> None:
    sent = taken({"b": "e/b.json"})
    sent.identities = {"b": ("m2", datetime(2026, 11, 26, tzinfo=UTC))}

    report = classify(sent, in_postgres=set(), in_bucket={"e/b.json"}, stored=set())

    assert report.problems == {"only in S3": ["b"]}
