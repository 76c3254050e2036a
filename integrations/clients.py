"""This process's configurations and clients, from the Django settings: one of each.

The API, `manage.py` commands and the tests take their clients from here.
The stream's transforms do not: they get the plain configurations inside a
StreamConfig and make their clients in setup(), where no settings exist.

Every client held for the life of a process is held the same way, by
`per_process` (a function's one value) or `PerProcess` (one value a key, for
a client made from a configuration): made on first use, under a lock, made
again in a forked child (librdkafka's clients and boto3's pools must not
cross a fork, and the API's server forks its workers), and dropped with
`discard()`, for a client that failed for good or a test that changes the
settings.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

from confluent_kafka.schema_registry import SchemaRegistryClient
from django.conf import settings

from contract.registry import RegistryConfig
from integrations.kafka import KafkaConfig
from integrations.s3 import S3Config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")


class PerProcess(Generic[T]):
    """One value a key in this process, made on first use; at most `max_entries` keys (the least recently
    used go first)."""

    def __init__(self, max_entries: int = 8) -> None:
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, T] = OrderedDict()
        self._pid = os.getpid()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if self._pid != os.getpid():  # a forked child: its parent's clients are not its own
                self._values.clear()
                self._pid = os.getpid()
            if key in self._values:
                self._values.move_to_end(key)
            else:
                self._values[key] = make()
                while len(self._values) > self._max_entries:
                    self._values.popitem(last=False)
            return self._values[key]

    def discard(self, key: Hashable | None = None) -> T | None:
        """Forget the value of `key` (of every key by default): the next get makes it again.

        The value forgotten, when one key's was and it was made in this process: the caller may close it.
        """
        with self._lock:
            if self._pid != os.getpid():
                self._values.clear()
                self._pid = os.getpid()
                return None
            if key is None:
                self._values.clear()
                return None
            return self._values.pop(key, None)


class _OnePerProcess(Generic[T]):
    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._held: PerProcess[T] = PerProcess(max_entries=1)
        self.__doc__ = make.__doc__

    def __call__(self) -> T:
        return self._held.get("value", self._make)

    def discard(self) -> T | None:
        """Forget the value; the one forgotten, if this process had made one (the caller may close it)."""
        return self._held.discard("value")


def per_process(make: Callable[[], T]) -> _OnePerProcess[T]:
    """`make`'s value, made once a process (again after a fork), until discard()."""
    return _OnePerProcess(make)


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


@per_process
def s3_client() -> S3Client:
    """This process's boto3 client (thread-safe: every thread of the process shares it)."""
    return s3_config().client(pool_size=16)


@per_process
def registry_client() -> SchemaRegistryClient:
    """This process's Schema Registry client."""
    return registry_config().client()
