"""The generated events: every spelling, reproducible, and the invalid ones refused for the right reason."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

from contract.normalize import normalize_event
from contract.validation import InvalidEvent, validate_event
from generator.events import (
    INVALID_KINDS,
    MESSAGE_ID,
    TIMESTAMP,
    generate,
    invalid_event,
    valid_event,
    with_message_id,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "events.raw-value.avsc").read_text())
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def is_valid(event: object) -> bool:
    try:
        validate_event(normalize_event(event), SCHEMA)
    except InvalidEvent:
        return False
    return True


def test_the_same_seed_makes_the_same_events() -> None:
    first = list(generate(50, invalid_share=0.2, seed=7, now=NOW))
    assert first == list(generate(50, invalid_share=0.2, seed=7, now=NOW))
    assert first != list(generate(50, invalid_share=0.2, seed=8, now=NOW))


def test_valid_events_pass_the_collectors_validation_in_every_spelling() -> None:
    rng = random.Random(3)
    events = [valid_event(rng, NOW) for _ in range(500)]

    assert all(is_valid(event) for event in events)
    containers = {next(k for k in ("attributes", "headers") if k in e) for e in events}
    assert containers == {"attributes", "headers"}
    stamps = [(e.get("attributes") or e["headers"]) for e in events]
    spellings = {type(s[TIMESTAMP]).__name__ + (":list" if str(s[TIMESTAMP]).startswith("[") else "") for s in stamps}
    assert spellings == {"str", "str:list", "dict"}  # plain, Messenger's JSON list, object
    assert any(len(s[MESSAGE_ID]) == 26 for s in stamps if isinstance(s[MESSAGE_ID], str))  # ULIDs too
    with_amplitude = sum(1 for s in stamps if any(k.endswith("AmplitudeTrackStamp") for k in s))
    assert 0 < with_amplitude < len(stamps)  # the optional stamp present and absent


def test_every_invalid_kind_is_refused() -> None:
    rng = random.Random(5)
    seen = set()
    for _ in range(400):
        event, kind = invalid_event(rng, NOW)
        assert not is_valid(event), kind
        seen.add(kind)
    assert seen == set(INVALID_KINDS)


def test_the_invalid_share_is_about_what_was_asked() -> None:
    events = list(generate(2000, invalid_share=0.25, seed=1, now=NOW))
    invalid = sum(1 for event in events if not is_valid(event))
    assert 400 < invalid < 600


def test_the_shipped_sample_is_valid_json_lines() -> None:
    lines = (ROOT / "samples" / "events.json").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == 100
    assert 0 < sum(1 for event in events if not is_valid(event)) < 30


def test_a_new_message_id_keeps_the_spelling_and_the_validity() -> None:
    rng = random.Random(9)
    events = [valid_event(rng, NOW) for _ in range(300)] + [invalid_event(rng, NOW)[0] for _ in range(300)]
    new_id = "0b8f7c1e-3d2a-4e5f-8a9b-1c2d3e4f5a6b"

    for event in events:
        renamed = with_message_id(event, new_id)
        assert is_valid(renamed) == is_valid(event)
        if is_valid(event):
            before, after = normalize_event(event), normalize_event(renamed)
            assert after["attributes"].pop("messageIdStamp") == new_id
            before["attributes"].pop("messageIdStamp")
            assert after == before  # nothing else changed
            container = "attributes" if "attributes" in event else "headers"
            assert type(renamed[container][MESSAGE_ID]) is type(event[container][MESSAGE_ID])
