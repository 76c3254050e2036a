"""Realistic source events, in every spelling the contract accepts, and invalid ones on purpose.

Pure functions of a seeded random generator, so a file can be made again
byte for byte. Each event's spelling is drawn independently: `attributes`
or `headers`; stamps as plain values, objects or Symfony Messenger's
JSON-encoded lists; optional stamps present or absent. An invalid event is
a valid one broken in one of many named ways (INVALID_KINDS).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

SHARED = "Holded\\Shared\\Infrastructure\\Messenger\\Stamp\\"
CORE = "Holded\\Core\\Messaging\\Messenger\\Stamp\\"
PREFIX = "X-Message-Stamp-"
NEW_CONTEXT = f"{PREFIX}{SHARED}NewContextStamp"
TIMESTAMP = f"{PREFIX}{CORE}TimestampStamp"
MESSAGE_ID = f"{PREFIX}{CORE}MessageIdStamp"
AMPLITUDE = f"{PREFIX}{SHARED}AmplitudeTrackStamp"

TYPES = ("invoice.created", "invoice.paid", "invoice.voided", "contact.created", "payment.received")
SUBSCRIPTIONS = ("accounting", "billing", "crm", "analytics")
PLATFORMS = ("web", "ios", "android", "api")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ulid(rng: random.Random, when: datetime) -> str:
    value = (int(when.timestamp() * 1000) << 80) | rng.getrandbits(80)
    return "".join(CROCKFORD[(value >> shift) & 31] for shift in range(125, -5, -5))


def _stamp(rng: random.Random, value: Any, field: str | None) -> Any:
    """One stamp in one of the source's spellings."""
    obj = {field: value} if field else value
    style = rng.choice(("plain", "object", "messenger"))
    if style == "plain" and field:
        return value
    if style == "messenger":
        return json.dumps([obj])
    return obj


def valid_event(rng: random.Random, now: datetime) -> dict[str, Any]:
    when = now - timedelta(seconds=rng.randint(0, 3 * 86400), milliseconds=rng.randint(0, 999))
    message_id = _ulid(rng, when) if rng.random() < 0.2 else _uuid(rng)
    context: dict[str, Any] = {"accountId": _uuid(rng), "userId": _uuid(rng)}
    if rng.random() < 0.7:
        context["requestPlatform"] = rng.choice(PLATFORMS)
    stamps: dict[str, Any] = {
        "type": rng.choice(TYPES),
        "targetSubscription": rng.choice(SUBSCRIPTIONS),
        NEW_CONTEXT: _stamp(rng, context, None),
        TIMESTAMP: _stamp(rng, when.isoformat(timespec="seconds"), "dispatchedAt"),
        MESSAGE_ID: _stamp(rng, message_id, "id"),
    }
    if rng.random() < 0.5:
        amplitude: dict[str, Any] = {"id": rng.randint(0, 2**40)}
        if rng.random() < 0.5:
            amplitude["trackedDevice"] = rng.choice(PLATFORMS)
        stamps[AMPLITUDE] = _stamp(rng, amplitude, None)
    container = rng.choice(("attributes", "headers"))
    return {
        "data": {"id": f"doc-{rng.randint(1, 10**9)}", "amount": round(rng.uniform(-500, 5000), 2)},
        container: stamps,
    }


def _container(event: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = event.get("attributes") or event["headers"]
    return container


# Each kind breaks a valid event in one way the collector must refuse, naming the field.
INVALID_KINDS: dict[str, Callable[[dict[str, Any], random.Random], None]] = {
    "amount is a string": lambda e, r: e["data"].update(amount=str(e["data"]["amount"])),
    "amount missing": lambda e, r: e["data"].pop("amount"),
    "data missing": lambda e, r: e.pop("data"),
    "type missing": lambda e, r: _container(e).pop("type"),
    "timestamp without offset": lambda e, r: _container(e).update({TIMESTAMP: "2024-03-05T10:12:35"}),
    "timestamp not a date": lambda e, r: _container(e).update({TIMESTAMP: "yesterday"}),
    "message id not a uuid": lambda e, r: _container(e).update({MESSAGE_ID: {"id": "msg-123"}}),
    "account id not a uuid": lambda e, r: _container(e).update(
        {NEW_CONTEXT: {"accountId": "acc-1", "userId": _uuid(r)}}
    ),
    "negative amplitude id": lambda e, r: _container(e).update({AMPLITUDE: {"id": -r.randint(1, 100)}}),
    "stamps not an object": lambda e, r: (
        e.update({"attributes": "broken"}) if "attributes" in e else e.update(headers=[])
    ),
}


def invalid_event(rng: random.Random, now: datetime) -> tuple[dict[str, Any], str]:
    event = valid_event(rng, now)
    kind = rng.choice(sorted(INVALID_KINDS))
    INVALID_KINDS[kind](event, rng)
    return event, kind


def _is_message_id(value: Any) -> bool:
    """A UUID or a ULID: the spellings a valid message id takes."""
    if not isinstance(value, str):
        return False
    if len(value) == 26:
        return all(char in CROCKFORD for char in value.upper())
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def with_message_id(event: Any, message_id: str) -> Any:
    """A copy of `event` whose MessageIdStamp is `message_id`, in the spelling it had.

    An event whose message id is missing or not an id (an invalid one on
    purpose) comes back unchanged, so it stays exactly as invalid.
    """
    copy = json.loads(json.dumps(event))
    container = copy.get("attributes") if isinstance(copy, dict) else None
    if container is None and isinstance(copy, dict):
        container = copy.get("headers")
    if not isinstance(container, dict) or MESSAGE_ID not in container:
        return copy
    stamp = container[MESSAGE_ID]
    if isinstance(stamp, dict) and _is_message_id(stamp.get("id")):
        container[MESSAGE_ID] = {**stamp, "id": message_id}
    elif isinstance(stamp, str) and _is_message_id(stamp):
        container[MESSAGE_ID] = message_id
    elif isinstance(stamp, str) and stamp.startswith("["):
        # Symfony Messenger's spelling: a JSON-encoded list of stamp objects.
        try:
            stamps = json.loads(stamp)
        except ValueError:
            return copy
        if isinstance(stamps, list) and stamps and isinstance(stamps[0], dict) and _is_message_id(stamps[0].get("id")):
            stamps[0] = {**stamps[0], "id": message_id}
            container[MESSAGE_ID] = json.dumps(stamps)
    return copy


def generate(count: int, *, invalid_share: float, seed: int, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """`count` events, about `invalid_share` of them invalid."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    for _ in range(count):
        if rng.random() < invalid_share:
            yield invalid_event(rng, now)[0]
        else:
            yield valid_event(rng, now)
