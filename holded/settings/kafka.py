"""Kafka: brokers, the topics by their logical names, producer tuning."""

from __future__ import annotations

from holded.settings import env

KAFKA_BOOTSTRAP_SERVERS = env.string("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")

# librdkafka settings every client of the project gets (integrations/kafka.py),
# for a cluster reached over TLS or SASL; each is left out when empty.
_CLIENT_OPTIONS = {
    "security.protocol": env.string("KAFKA_SECURITY_PROTOCOL", ""),
    "sasl.mechanism": env.string("KAFKA_SASL_MECHANISM", ""),
    "sasl.username": env.string("KAFKA_SASL_USERNAME", ""),
    "sasl.password": env.string("KAFKA_SASL_PASSWORD", ""),
    "ssl.ca.location": env.string("KAFKA_SSL_CA_LOCATION", ""),
}
KAFKA_CLIENT_OPTIONS = {name: value for name, value in _CLIENT_OPTIONS.items() if value}

# Logical name -> real topic name. Code refers to the logical names only, so a
# deployment can rename topics (a prefix per environment, say) without a change.
KAFKA_TOPICS = {
    "events": env.string("KAFKA_TOPIC_EVENTS", "events.raw"),
    "dead_letter": env.string("KAFKA_TOPIC_DEAD_LETTER", "events.dead.letter"),
}

# How long a request waits for Kafka to acknowledge its package before 503.
KAFKA_DELIVERY_TIMEOUT_SECONDS = env.number("KAFKA_DELIVERY_TIMEOUT_SECONDS", 10.0)
# How long the producer waits to fill a batch. 0: a request's records leave at
# once; under load they still batch while a send is in flight. Measured in
# docs/decisions/19-collector-request-path.md: 1-event packages +65% requests/s.
KAFKA_LINGER_MS = env.integer("KAFKA_LINGER_MS", 0)
# The largest record a producer of the project writes (librdkafka's
# message.max.bytes). Topics are created with the same max.message.bytes
# (topics/main-topics). It must hold a dead letter of the largest body
# (COLLECT_MAX_BODY_BYTES) with its headers: 2 MiB for a 1 MiB body. An event
# whose record would be larger is rejected, naming this limit.
KAFKA_MESSAGE_MAX_BYTES = env.integer("KAFKA_MESSAGE_MAX_BYTES", 2 * 1024 * 1024)
KAFKA_COMPRESSION_TYPE = env.string("KAFKA_COMPRESSION_TYPE", "lz4")
# The collector's producer queue, in KiB (librdkafka's queue.buffering.max.kbytes); 0: four packages of
# the largest body per request thread (collector/kafka.py). A record that finds it full is a 503.
KAFKA_QUEUE_MAX_KBYTES = env.integer("KAFKA_QUEUE_MAX_KBYTES", 0)
