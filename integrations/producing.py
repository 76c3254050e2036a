"""A Kafka producer that reports each record's acknowledgement: the collector's, and the stream's dead letters'.

One thread per producer serves its delivery callbacks (poll). Whoever sends
waits only for the Deliveries of its own records: were each sender to poll,
one thread could sit in poll() while another's acknowledgement had long
arrived. A record that cannot even be queued (the producer's bounded queue
is full, or the client refuses it) is settled at once with the reason, never
waited for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from contract.dead_letter import Headers

logger = logging.getLogger(__name__)

QUEUE_FULL = "the producer's queue is full (Kafka is not taking records as fast as they come)"


@dataclass
class Deliveries:
    """The acknowledgements of a batch of records, by their index (0 .. expected - 1)."""

    expected: int
    errors: dict[int, str] = field(default_factory=dict)
    confirmed: set[int] = field(default_factory=set)
    _queued: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Event = field(default_factory=threading.Event)

    def callback(self, index: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(error: KafkaError | None, _message: Message) -> None:
            self.settle(index, None if error is None else error.str())

        return on_delivery

    def settle(self, index: int, error: str | None) -> None:
        """Record the outcome of one record: None for acknowledged, else why not."""
        with self._lock:
            self._queued.discard(index)
            if error is None:
                self.confirmed.add(index)
            else:
                self.errors[index] = error
            if len(self.confirmed) + len(self.errors) >= self.expected:
                self._done.set()

    def to_send(self) -> list[int]:
        """The records to send (again): neither acknowledged nor still queued. Their errors are forgotten, and
        they count as queued from now: a record still in the producer's queue is never sent twice."""
        with self._lock:
            indices = [i for i in range(self.expected) if i not in self.confirmed and i not in self._queued]
            for index in indices:
                self.errors.pop(index, None)
            self._queued.update(indices)
            if indices:
                self._done.clear()
            return indices

    def wait(self, timeout: float) -> bool:
        """Until every record is settled (the callback thread settles them) or `timeout` passes."""
        return self.expected == 0 or self._done.wait(timeout)

    @property
    def unconfirmed(self) -> int:
        with self._lock:
            return self.expected - len(self.confirmed)


class AcknowledgingProducer:
    """A librdkafka producer and the thread that serves its delivery callbacks, until stop() or close()."""

    def __init__(self, config: dict[str, Any], *, on_queue_full: Callable[[], None] | None = None) -> None:
        self._producer = Producer(config)
        self._on_queue_full = on_queue_full
        self._running = True
        self._thread = threading.Thread(target=self._serve_callbacks, name="kafka-delivery-callbacks", daemon=True)
        self._thread.start()

    def _serve_callbacks(self) -> None:
        while self._running:
            self._producer.poll(0.1)

    def send(
        self, deliveries: Deliveries, index: int, topic: str, *, key: bytes, value: bytes, headers: Headers
    ) -> None:
        """Queue one record; its outcome goes to `deliveries` under `index`."""
        try:
            self._producer.produce(topic, key=key, value=value, headers=headers, on_delivery=deliveries.callback(index))
        except BufferError:
            if self._on_queue_full is not None:
                self._on_queue_full()
            deliveries.settle(index, QUEUE_FULL)
        except KafkaException as error:  # a record the client refuses
            deliveries.settle(index, str(error))

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> Any:
        return self._producer.list_topics(topic, timeout=timeout)

    def stop(self) -> None:
        """Stop serving callbacks (a producer replaced after a fatal error); what it queued is abandoned."""
        self._running = False

    def close(self, timeout: float) -> int:
        """Stop serving callbacks and send what is queued, for at most `timeout` seconds: the records left."""
        self.stop()
        return int(self._producer.flush(timeout))  # flush serves the last callbacks itself
