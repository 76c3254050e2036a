"""Dead letters: an invalid event as received, with why, in Kafka and in the S3 store.

Contract section 4. The record's value is the event as it arrived (JSON), its
headers say what was wrong and where it belongs; the S3 object holds the same,
under a date-partitioned prefix, at a key made of the correlationId so that a
second write of the same dead letter overwrites the first.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings

from collector.kafka import Headers
from holded.storage import s3_client

logger = logging.getLogger(__name__)

PREFIX = "dead-letter"


def object_key(day: date, correlation_id: uuid.UUID | str) -> str:
    """`dead-letter/dt=<the day it was made>/<correlationId>.json`."""
    return f"{PREFIX}/dt={day:%Y-%m-%d}/{correlation_id}.json"


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
        return json.dumps(self.event, ensure_ascii=False, separators=(",", ":")).encode()

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

    def object_key(self) -> str:
        return object_key(self.received_at.date(), self.correlation_id)

    def object_body(self) -> bytes:
        document: dict[str, Any] = {
            "correlationId": str(self.correlation_id),
            "packageId": str(self.package_id),
            "stage": self.stage,
            "error": self.error,
            "receivedAt": self.received_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": self.event,
        }
        if self.raw_value is not None:
            document["valueBase64"] = base64.b64encode(self.raw_value).decode()
        if self.source_topic is not None:
            document["source"] = {
                "topic": self.source_topic,
                "partition": self.source_partition,
                "offset": self.source_offset,
            }
        return json.dumps(document, ensure_ascii=False, indent=2).encode()


@lru_cache(maxsize=1)
def _uploads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=8, thread_name_prefix="dead-letter-s3")


def _put(letter: DeadLetter) -> None:
    s3_client().put_object(
        Bucket=settings.S3_BUCKET,
        Key=letter.object_key(),
        Body=letter.object_body(),
        ContentType="application/json",
    )


def archive(letters: list[DeadLetter], timeout: float) -> set[uuid.UUID]:
    """Write the dead letters to the S3 store in parallel; the ids of those that failed.

    The dead-letter topic is the record of truth; a failed copy is logged with
    its correlationId so it can be written again from the topic.
    """
    if not letters:
        return set()
    futures = {_uploads().submit(_put, letter): letter for letter in letters}
    done, not_done = wait(futures, timeout=timeout)
    failed = set()
    for future in not_done:
        failed.add(futures[future].correlation_id)
        logger.error("dead letter %s not archived in time", futures[future].correlation_id)
    for future in done:
        error = future.exception()
        if error is not None:
            failed.add(futures[future].correlation_id)
            logger.error("dead letter %s not archived: %s", futures[future].correlation_id, error)
    return failed
