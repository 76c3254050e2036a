"""The Kafka producer of this process, and waiting for a package's acknowledgements.

One producer per process, created on first use: librdkafka clients must not
cross a fork, and the server (granian, holded/server.py) forks its worker
processes, so the producer is made inside the worker, on its first request
(and made again if the pid changes). It is
idempotent with acks=all, and flushed when the process exits.

One thread per producer serves its delivery callbacks (poll). Request threads
only wait for their package's callbacks: were they to poll themselves, one
thread could sit in poll() while another's acknowledgement had long arrived.

The producer's queue is bounded (`queue_max_kbytes`: four times what the
request threads can have in flight, not librdkafka's 1 GiB). A record that
finds it full is not waited for: it is unconfirmed, the request is a 503
with Retry-After, and holded_collect_queue_full_total counts it.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from django.conf import settings

from collector.metrics import COLLECT_QUEUE_FULL
from contract.dead_letter import Headers
from integrations.clients import kafka_config

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_producer: Producer | None = None
_producer_pid = 0


def queue_max_kbytes() -> int:
    """The producer's queue: KAFKA_QUEUE_MAX_KBYTES, else four packages of the largest body per request thread."""
    if settings.KAFKA_QUEUE_MAX_KBYTES:
        return int(settings.KAFKA_QUEUE_MAX_KBYTES)
    threads = int(os.environ.get("API_THREADS", "8"))
    return 4 * threads * settings.COLLECT_MAX_BODY_BYTES // 1024


def producer_config() -> dict[str, Any]:
    timeout_ms = int(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS * 1000)
    return kafka_config().producer(
        f"collector-{os.getpid()}",
        {
            "linger.ms": settings.KAFKA_LINGER_MS,
            "compression.type": settings.KAFKA_COMPRESSION_TYPE,
            "queue.buffering.max.kbytes": queue_max_kbytes(),
            # librdkafka gives up on a record when the request stops waiting for
            # it, so a record reported unconfirmed is not silently sent later.
            "message.timeout.ms": timeout_ms,
            "socket.connection.setup.timeout.ms": min(timeout_ms, 5000),
            "error_cb": _log_client_error,
        },
    )


def _log_client_error(error: KafkaError) -> None:
    if error.fatal():
        logger.error("fatal Kafka producer error, the producer will be rebuilt: %s", error)
        _discard_producer()
    else:
        logger.warning("Kafka producer: %s", error)


def _discard_producer() -> None:
    global _producer
    with _lock:
        _producer = None


def _serve_callbacks(producer: Producer) -> None:
    while _producer is producer:
        producer.poll(0.1)


def get_producer() -> Producer:
    global _producer, _producer_pid
    pid = os.getpid()
    producer = _producer
    if producer is not None and _producer_pid == pid:
        return producer
    with _lock:
        if _producer is None or _producer_pid != pid:
            _producer = Producer(producer_config())
            _producer_pid = pid
            threading.Thread(
                target=_serve_callbacks, args=(_producer,), name="kafka-delivery-callbacks", daemon=True
            ).start()
            logger.info("Kafka producer created in process %s", pid)
        return _producer


@atexit.register
def flush_producer() -> None:
    producer = _producer
    if producer is not None and _producer_pid == os.getpid():
        _discard_producer()  # stops its callback thread; flush serves the last callbacks
        left = producer.flush(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS)
        if left:
            logger.error("%s records were not delivered before exit", left)


@dataclass
class Deliveries:
    """The acknowledgements of one package's records, by their index."""

    expected: int
    errors: dict[int, str] = field(default_factory=dict)
    confirmed: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Event = field(default_factory=threading.Event)

    def callback(self, index: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            self.settle(index, None if error is None else error.str())

        return on_delivery

    def settle(self, index: int, error: str | None) -> None:
        """Record the outcome of one record: None for acknowledged, else why not."""
        with self._lock:
            if error is None:
                self.confirmed.add(index)
            else:
                self.errors[index] = error
            if len(self.confirmed) + len(self.errors) >= self.expected:
                self._done.set()

    def wait(self, timeout: float) -> bool:
        """Until every record is settled (the callback thread settles them) or `timeout` passes."""
        return self.expected == 0 or self._done.wait(timeout)


QUEUE_FULL = "the producer's queue is full (Kafka is not taking records as fast as they come)"


def produce(
    producer: Producer,
    *,
    topic_name: str,
    key: bytes,
    value: bytes,
    headers: Headers,
    on_delivery: Callable[[KafkaError | None, Message], None],
) -> str | None:
    """Queue one record; None when queued, else why it could not be (QUEUE_FULL: not waited for)."""
    try:
        producer.produce(topic_name, key=key, value=value, headers=headers, on_delivery=on_delivery)
        return None
    except BufferError:
        COLLECT_QUEUE_FULL.inc()
        return QUEUE_FULL
    except KafkaException as error:  # a record the client refuses
        return str(error)
