"""librdkafka configurations for every client of the project, built in one place.

The collector's producer, the stream's source and dead-letter producer, the
accounting's reader and the tests all start from these, so a setting that
every client needs (the brokers, and later TLS/SASL) is written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: str
    # Passed through to librdkafka as they are (security.protocol, sasl.*, ssl.*).
    client_options: dict[str, str] = field(default_factory=dict)
    # The largest record a producer writes; the topics hold as much (max.message.bytes).
    message_max_bytes: int = 2 * 1024 * 1024

    def _common(self, client_id: str) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap_servers, "client.id": client_id, **self.client_options}

    def producer(self, client_id: str, tuning: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """An idempotent producer that counts a record written once every in-sync replica has it."""
        return {
            **self._common(client_id),
            "acks": "all",
            "enable.idempotence": True,
            "message.max.bytes": self.message_max_bytes,
            **(tuning or {}),
        }

    def consumer(self, group_id: str, client_id: str, tuning: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A consumer that commits only what its owner commits, and starts at the earliest record."""
        return {
            **self._common(client_id),
            "group.id": group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            **(tuning or {}),
        }

    def admin(self) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap_servers, **self.client_options}
