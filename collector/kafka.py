"""The Kafka producer of this process (integrations/producing.py), and its settings.

One producer per process, created on first use: librdkafka clients must not
cross a fork, and the server (granian, holded/server.py) forks its worker
processes, so the producer is made inside the worker, on its first request
(and made again in a forked child: integrations/clients.per_process). It is
idempotent with acks=all, and flushed when the process exits.

The producer's queue is bounded (`queue_max_kbytes`: four times what the
request threads can have in flight, not librdkafka's 1 GiB). A record that
finds it full is not waited for: it is unconfirmed, the request is a 503
with Retry-After, and holded_collect_queue_full_total counts it.
"""

from __future__ import annotations

import atexit
import logging
import os
from typing import Any

from confluent_kafka import KafkaError
from django.conf import settings

from collector.metrics import COLLECT_QUEUE_FULL
from integrations.clients import kafka_config, per_process
from integrations.producing import AcknowledgingProducer

logger = logging.getLogger(__name__)


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


@per_process
def get_producer() -> AcknowledgingProducer:
    producer = AcknowledgingProducer(producer_config(), on_queue_full=COLLECT_QUEUE_FULL.inc)
    logger.info("Kafka producer created in process %s", os.getpid())
    return producer


def _log_client_error(error: KafkaError) -> None:
    if error.fatal():
        logger.error("fatal Kafka producer error, the producer will be rebuilt: %s", error)
        discard_producer()
    else:
        logger.warning("Kafka producer: %s", error)


def discard_producer() -> None:
    """Forget this process's producer and stop it serving callbacks: the next request makes a new one."""
    producer = get_producer.discard()
    if producer is not None:
        producer.stop()


@atexit.register
def flush_producer() -> None:
    producer = get_producer.discard()
    if producer is None:
        return
    left = producer.close(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS)
    if left:
        logger.error("%s records were not delivered before exit", left)
