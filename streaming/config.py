"""What the stream's transforms need to reach the services: plain values, no Django.

The transforms receive a StreamConfig and build their own clients in setup(),
so the same pipeline runs on any Beam runner, where workers have no Django
settings. `manage.py run_stream` builds it from the settings and its options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StreamConfig:
    bootstrap_servers: str
    group_id: str
    events_topic: str
    dead_letter_topic: str
    schema_registry_url: str
    schema_registry_basic_auth: str
    enriched_subject: str
    s3_endpoint_url: str
    s3_region: str
    s3_access_key_id: str
    s3_secret_access_key: str
    s3_bucket: str
    postgres_dsn: dict[str, Any]
    # A bundle of the source: at most this many records, or this many seconds.
    max_records_per_poll: int = 5000
    poll_seconds: float = 0.25
    postgres_batch_size: int = 1000
    s3_concurrency: int = 16
    # Backoff while a service is down: from the first to the last, doubling.
    retry_first_seconds: float = 0.5
    retry_max_seconds: float = 15.0

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> StreamConfig:
        database = settings.DATABASES["default"]
        values: dict[str, Any] = {
            "bootstrap_servers": settings.KAFKA_BOOTSTRAP_SERVERS,
            "group_id": settings.STREAM_GROUP_ID,
            "events_topic": settings.KAFKA_TOPICS["events"],
            "dead_letter_topic": settings.KAFKA_TOPICS["dead_letter"],
            "schema_registry_url": settings.SCHEMA_REGISTRY_URL,
            "schema_registry_basic_auth": settings.SCHEMA_REGISTRY_BASIC_AUTH,
            "enriched_subject": settings.STREAM_ENRICHED_SUBJECT,
            "s3_endpoint_url": settings.S3_ENDPOINT_URL,
            "s3_region": settings.S3_REGION,
            "s3_access_key_id": settings.S3_ACCESS_KEY_ID,
            "s3_secret_access_key": settings.S3_SECRET_ACCESS_KEY,
            "s3_bucket": settings.S3_BUCKET,
            "postgres_dsn": {
                "host": database["HOST"],
                "port": database["PORT"],
                "dbname": database["NAME"],
                "user": settings.STREAM_POSTGRES_USER,
                "password": settings.STREAM_POSTGRES_PASSWORD,
                "connect_timeout": database["OPTIONS"].get("connect_timeout", 5),
                "application_name": "holded-stream",
            },
            "postgres_batch_size": settings.STREAM_POSTGRES_BATCH_SIZE,
            "max_records_per_poll": settings.STREAM_MAX_RECORDS_PER_POLL,
            "s3_concurrency": settings.STREAM_S3_CONCURRENCY,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)
