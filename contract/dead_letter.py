"""The dead-letter record: an invalid event as received, with why; and its line in the lake.

Contract section 4. The record's value is the event as it arrived (JSON), its
headers say what was wrong and where it belongs. The collector and the stream
both write this format to events.dead.letter, the record of truth; the stream
alone archives that topic to the S3 store, each record as one line of a lake
object (`archive_line`). This module only makes them.

A dead letter always fits. Its headers are bounded (HEADERS_MAX_BYTES: the
error text is cut at ERROR_MAX_BYTES, and names at most ten problems,
contract/validation.py), and the event is never cut: the collector's body
limit leaves room for them below the record limit (collector/checks.py), and
the stream keeps an event too large for a record whole in the lake, the
record then saying where (`value_location`).
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Kafka record headers, as confluent-kafka takes them (the collector's records carry them too).
Headers = list[tuple[str, str | bytes | None]]
# The error text a dead letter carries, in bytes of UTF-8, and all its headers with their names: the
# error, the stage, two ids, the source's topic (at most 249 characters), partition and offset, where
# its value is kept (value.location, a lake key), and the record's framing.
ERROR_MAX_BYTES = 2048
HEADERS_MAX_BYTES = 4096
CUT = " ... (cut)"


class DeadLetterTooLarge(Exception):
    """The event as received and the headers exceed a Kafka record; the stream keeps the event in the lake."""


def record_size(key: bytes, value: bytes, headers: Headers) -> int:
    """A record's bytes as Kafka counts them against max.message.bytes, with room for its framing."""
    framing = 128  # record batch header and varints: about 70 bytes for one record
    return framing + len(key) + len(value) + sum(len(name) + len(v or b"") for name, v in headers)


def jsonable(value: Any) -> Any:
    """`value` as JSON can hold it. What an event decoded by the stream may carry and JSON has no
    word for becomes a string: a non-finite double its name ("NaN", "Infinity"), bytes their base64."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value).replace("inf", "Infinity").replace("nan", "NaN")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


@dataclass(frozen=True)
class DeadLetter:
    event: Any  # as received
    error: str
    stage: str  # "collect" or "stream"
    correlation_id: uuid.UUID
    package_id: uuid.UUID
    # Where a stream-side reject was read from.
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    # A record that could not even be decoded keeps its bytes exactly as read.
    raw_value: bytes | None = None
    # Where the lake keeps the value of a letter too large for a record (its own value is then empty).
    value_location: str | None = None
    value_bytes: int | None = None

    def value(self) -> bytes:
        if self.value_location is not None:
            return b""
        if self.raw_value is not None:
            return self.raw_value
        document = jsonable(self.event)
        try:
            return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        except UnicodeEncodeError:  # a lone surrogate, which UTF-8 cannot hold: escaped, as JSON allows
            return json.dumps(document, separators=(",", ":"), allow_nan=False).encode()

    def error_text(self) -> bytes:
        """The error, cut to ERROR_MAX_BYTES of UTF-8 (at a character's boundary) if longer."""
        text = self.error.encode(errors="backslashreplace")
        if len(text) <= ERROR_MAX_BYTES:
            return text
        return text[: ERROR_MAX_BYTES - len(CUT)].decode(errors="ignore").encode() + CUT.encode()

    def headers(self) -> Headers:
        headers: Headers = [
            ("error", self.error_text()),
            ("error.stage", self.stage.encode()),
            ("correlationId", str(self.correlation_id).encode()),
            ("packageId", str(self.package_id).encode()),
        ]
        if self.source_topic is not None:
            headers += [
                ("source.topic", self.source_topic.encode()),
                ("source.partition", str(self.source_partition).encode()),
                ("source.offset", str(self.source_offset).encode()),
            ]
        if self.value_location is not None:
            headers += [
                ("value.location", self.value_location.encode()),
                ("value.bytes", str(self.value_bytes).encode()),
            ]
        return headers

    def record(self, max_bytes: int) -> tuple[bytes, Headers]:
        """The Kafka record's value (the event as received, whole) and headers; DeadLetterTooLarge if they
        exceed `max_bytes` (the collector's body limit leaves room for them: collector/checks.py)."""
        value, headers = self.value(), self.headers()
        size = record_size(str(self.correlation_id).encode(), value, headers)
        if size > max_bytes:
            raise DeadLetterTooLarge(f"a dead letter of {size} bytes exceeds the record limit of {max_bytes}")
        return value, headers


def archive_line(
    value: bytes | None, headers: list[tuple[str, bytes | None]], timestamp_ms: int, *, as_json: bool = True
) -> dict[str, Any]:
    """A dead-letter record of Kafka as one line of the lake: the event as received, why, and where from.

    The value is kept as JSON when it is JSON (the collector's rejects, and the
    stream's that it could decode), else, or with `as_json` False, as base64
    (a record the stream could not even decode): nothing is lost either way.
    """
    named = {name: (content or b"").decode(errors="replace") for name, content in headers}
    document: dict[str, Any] = {
        "correlationId": named.get("correlationId"),
        "packageId": named.get("packageId"),
        "stage": named.get("error.stage"),
        "error": named.get("error"),
        "deadLetteredAt": _instant(timestamp_ms),
    }
    raw = value or b""
    try:
        if not as_json:
            raise ValueError("kept as base64")
        document["event"] = jsonable(json.loads(raw))
    except (ValueError, RecursionError):
        document["valueBase64"] = base64.b64encode(raw).decode()
    if "source.topic" in named:
        document["source"] = {
            "topic": named["source.topic"],
            "partition": _integer(named.get("source.partition")),
            "offset": _integer(named.get("source.offset")),
        }
    if "value.location" in named:  # too large for a record: the event is whole in the lake, at this key
        document.pop("valueBase64", None)
        document["valueLocation"] = named["value.location"]
        document["valueBytes"] = _integer(named.get("value.bytes"))
    if "truncated" in named:  # written by a version that cut letters too large for a record
        document["truncatedFrom"] = _integer(named["truncated"])
    return document


def archive_stub(
    headers: list[tuple[str, bytes | None]], timestamp_ms: int, source: tuple[str, int, int], why: str
) -> dict[str, Any]:
    """The line of a dead-letter record whose whole line the lake refused: its ids and where it is in Kafka.

    The record itself stays whole in the topic, the record of truth, at `source` (topic, partition, offset).
    """
    named = {name: (content or b"").decode(errors="replace")[:200] for name, content in headers}
    return {
        "correlationId": named.get("correlationId"),
        "packageId": named.get("packageId"),
        "stage": named.get("error.stage"),
        "deadLetteredAt": _instant(timestamp_ms),
        "archived": {"topic": source[0], "partition": source[1], "offset": source[2], "why": why[:500]},
    }


def header(headers: Any, name: str) -> str | None:
    """The text of header `name` of a record read back (a list of pairs, or a dict), None when absent."""
    pairs = headers.items() if isinstance(headers, dict) else headers or ()
    for key, value in pairs:
        if key == name:
            return value.decode(errors="replace") if isinstance(value, bytes) else value
    return None


def _instant(timestamp_ms: int) -> str | int:
    """ISO-8601 UTC with milliseconds; the number itself for a timestamp outside the calendar."""
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    except (OverflowError, OSError, ValueError):
        return timestamp_ms


def _integer(text: str | None) -> int | str | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return text  # kept as written: a hand-made record may say anything
