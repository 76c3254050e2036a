"""The dead-letter record: an invalid event as received, with why; and its line in the lake.

Contract section 4. The record's value is the event as it arrived (JSON), its
headers say what was wrong and where it belongs. The collector and the stream
both write this format to events.dead.letter, the record of truth; the stream
alone archives that topic to the S3 store, each record as one line of a lake
object (`archive_line`). This module only makes them.
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
# Bytes a dead letter cut to fit keeps free below the record limit, for what record_size only estimates.
TRUNCATION_MARGIN = 1024


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

    def value(self) -> bytes:
        if self.raw_value is not None:
            return self.raw_value
        return json.dumps(jsonable(self.event), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

    def headers(self) -> Headers:
        headers: Headers = [
            ("error", self.error.encode()),
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
        return headers

    def record(self, max_bytes: int) -> tuple[bytes, Headers]:
        """The Kafka record's value and headers, within `max_bytes`.

        The value is the event as received. Only an event larger than a Kafka
        record can be (a deployment whose body limit exceeds its record limit)
        is cut, and then says so in a `truncated` header with its full size.
        """
        value, headers = self.value(), self.headers()
        room = max_bytes - TRUNCATION_MARGIN - record_size(str(self.correlation_id).encode(), b"", headers)
        if len(value) > room:
            headers.append(("truncated", str(len(value)).encode()))
            value = value[: max(room, 0)]
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
        "deadLetteredAt": datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6]
        + "Z",
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
    if "truncated" in named:
        document["truncatedFrom"] = _integer(named["truncated"])
    return document


def _integer(text: str | None) -> int | str | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return text  # kept as written: a hand-made record may say anything
