"""This process's configurations and clients, from the Django settings: one of each.

The API, `manage.py` commands and the tests take their clients from here.
The stream's transforms do not: they get the plain configurations inside a
StreamConfig and make their clients in setup(), where no settings exist.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from confluent_kafka.schema_registry import SchemaRegistryClient
from django.conf import settings

from contract.registry import RegistryConfig
from integrations.kafka import KafkaConfig
from integrations.s3 import S3Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def topic(logical_name: str) -> str:
    """The real name of a topic from its logical name ("events", "dead_letter"; settings.KAFKA_TOPICS)."""
    return str(settings.KAFKA_TOPICS[logical_name])


def kafka_config() -> KafkaConfig:
    # Read at each call: tests and `manage.py` options change the settings at run time.
    return KafkaConfig(
        settings.KAFKA_BOOTSTRAP_SERVERS, dict(settings.KAFKA_CLIENT_OPTIONS), settings.KAFKA_MESSAGE_MAX_BYTES
    )


def s3_config() -> S3Config:
    return S3Config(
        endpoint_url=settings.S3_ENDPOINT_URL,
        region=settings.S3_REGION,
        access_key_id=settings.S3_ACCESS_KEY_ID,
        secret_access_key=settings.S3_SECRET_ACCESS_KEY,
        bucket=settings.S3_BUCKET,
    )


def registry_config() -> RegistryConfig:
    return RegistryConfig(
        url=settings.SCHEMA_REGISTRY_URL,
        basic_auth=settings.SCHEMA_REGISTRY_BASIC_AUTH,
        cache_seconds=settings.SCHEMA_REGISTRY_CACHE_SECONDS,
    )


@lru_cache(maxsize=1)
def s3_client() -> S3Client:
    """This process's boto3 client (thread-safe: every thread of the process shares it)."""
    return s3_config().client(pool_size=16)


@lru_cache(maxsize=1)
def registry_client() -> SchemaRegistryClient:
    """This process's Schema Registry client."""
    return registry_config().client()
