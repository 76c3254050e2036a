"""Lanes: the topics, subject and consumer group one test works in, on the real services."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
RAW_SCHEMA = (ROOT / "schemas" / "events.raw-value.avsc").read_text()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    """A port nothing listens on, on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Lane:
    """The topics and subject one test collects into."""

    events_topic: str
    dead_letter_topic: str
    subject: str
    schema_id: int


@dataclass(frozen=True)
class StreamLane(Lane):
    """A lane with a consumer group of its own, for the stream."""

    group_id: str = ""

    def environment(self) -> dict[str, str]:
        """The settings of this lane, for a `manage.py run_stream` subprocess."""
        return {
            **os.environ,
            "KAFKA_TOPIC_EVENTS": self.events_topic,
            "KAFKA_TOPIC_DEAD_LETTER": self.dead_letter_topic,
            "STREAM_GROUP_ID": self.group_id,
            "POSTGRES_DB": str(settings.DATABASES["default"]["NAME"]),  # the test database
            "LOG_LEVEL": "INFO",
        }
