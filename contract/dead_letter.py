"""The dead-letter record: an invalid event as received, with why, for Kafka and the S3 store.

Contract section 4. The record's value is the event as it arrived (JSON), its
headers say what was wrong and where it belongs; the S3 object holds the same,
under a date-partitioned prefix, at a key made of the correlationId so that a
second write of the same dead letter overwrites the first. The collector and
the stream both write this format; this module only makes it.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

# Kafka record headers, as confluent-kafka takes them (the collector's records carry them too).
Headers = list[tuple[str, str | bytes | None]]
# Bytes a dead letter cut to fit keeps free below the record limit, for what record_size only estimates.
TRUNCATION_MARGIN = 1024


def record_size(key: bytes, value: bytes, headers: Headers) -> int:
    """A record's bytes as Kafka counts them against max.message.bytes, with room for its framing."""
    framing = 128  # record batch header and varints: about 70 bytes for one record
    return framing + len(key) + len(value) + sum(len(name) + len(v or b"") for name, v in headers)


PREFIX = "dead-letter"


def object_key(day: date, correlation_id: uuid.UUID | str) -> str:
    """`dead-letter/dt=<the day it was made>/<correlationId>.json`."""
    return f"{PREFIX}/dt={day:%Y-%m-%d}/{correlation_id}.json"


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
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
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

    def object_key(self) -> str:
        return object_key(self.received_at.date(), self.correlation_id)

    def object_body(self) -> bytes:
        document: dict[str, Any] = {
            "correlationId": str(self.correlation_id),
            "packageId": str(self.package_id),
            "stage": self.stage,
            "error": self.error,
            "receivedAt": self.received_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": jsonable(self.event),
        }
        if self.raw_value is not None:
            document["valueBase64"] = base64.b64encode(self.raw_value).decode()
        if self.source_topic is not None:
            document["source"] = {
                "topic": self.source_topic,
                "partition": self.source_partition,
                "offset": self.source_offset,
            }
        return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False).encode()
