"""What the stream's transforms need to reach the services: plain values, no Django.

The transforms receive a StreamConfig and build their own clients in setup(),
so the same pipeline runs on any Beam runner, where workers have no Django
settings. `manage.py run_stream` builds it from the settings and its options,
with the same service configurations as every other client of the project
(integrations/).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contract.registry import RegistryConfig
from contract.validation import TimestampWindow
from integrations.kafka import KafkaConfig
from integrations.s3 import S3Config
from streaming.pipeline.host import Attach, Detached
from streaming.pipeline.objects import ObjectRule
from streaming.pipeline.retry import RetryPolicy


@dataclass(frozen=True)
class Share:
    """The partitions a process of the local runner reads: of each topic, those whose number is `index`
    modulo `count` (streaming/runtime/local_process.py). The whole of every topic by default."""

    index: int = 0
    count: int = 1

    def takes(self, partition: int) -> bool:
        return partition % self.count == self.index

    def __str__(self) -> str:
        return f"partitions {self.index} modulo {self.count}"


@dataclass(frozen=True)
class StreamConfig:
    kafka: KafkaConfig
    s3: S3Config
    registry: RegistryConfig
    postgres_dsn: dict[str, Any]
    group_id: str
    events_topic: str
    dead_letter_topic: str
    enriched_subject: str
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timestamp_window: TimestampWindow = field(default_factory=TimestampWindow)
    # A bundle of the source: at most this many records, or this many seconds.
    max_records_per_poll: int = 20_000
    poll_seconds: float = 0.25
    postgres_batch_size: int = 1000
    objects: ObjectRule = field(default_factory=ObjectRule)
    lake_gzip: bool = False
    # The process that hosts each DoFn: set by the launcher (streaming/runtime/host.py); none in a unit test.
    host: Attach = field(default_factory=Detached)
    # Set by the launcher when the local runner runs in several processes.
    share: Share = field(default_factory=Share)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> StreamConfig:
        from integrations.clients import kafka_config, registry_config, s3_config

        database = settings.DATABASES["default"]
        values: dict[str, Any] = {
            "kafka": kafka_config(),
            "s3": s3_config(),
            "registry": registry_config(),
            "postgres_dsn": {
                "host": database["HOST"],
                "port": database["PORT"],
                "dbname": database["NAME"],
                "user": settings.STREAM_POSTGRES_USER,
                "password": settings.STREAM_POSTGRES_PASSWORD,
                "connect_timeout": database["OPTIONS"].get("connect_timeout", 5),
                "sslmode": database["OPTIONS"].get("sslmode", "prefer"),
                **({"sslrootcert": database["OPTIONS"]["sslrootcert"]} if "sslrootcert" in database["OPTIONS"] else {}),
                "application_name": "holded-stream",
            },
            "group_id": settings.STREAM_GROUP_ID,
            "events_topic": settings.KAFKA_TOPICS["events"],
            "dead_letter_topic": settings.KAFKA_TOPICS["dead_letter"],
            "enriched_subject": settings.STREAM_ENRICHED_SUBJECT,
            "retry": RetryPolicy(settings.STREAM_RETRY_FIRST_SECONDS, settings.STREAM_RETRY_MAX_SECONDS),
            "timestamp_window": TimestampWindow.from_settings(settings),
            "postgres_batch_size": settings.STREAM_POSTGRES_BATCH_SIZE,
            "max_records_per_poll": settings.STREAM_MAX_RECORDS_PER_POLL,
            "objects": ObjectRule(
                settings.STREAM_OBJECT_MAX_RECORDS,
                settings.STREAM_OBJECT_WINDOW_SECONDS,
                settings.STREAM_OBJECT_MAX_BYTES,
            ),
            "lake_gzip": settings.STREAM_LAKE_GZIP,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)
