"""Kafka: brokers, the topics by their logical names, producer tuning."""

from __future__ import annotations

from holded import env

KAFKA_BOOTSTRAP_SERVERS = env.string("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")

# Logical name -> real topic name. Code refers to the logical names only, so a
# deployment can rename topics (a prefix per environment, say) without a change.
KAFKA_TOPICS = {
    "events": env.string("KAFKA_TOPIC_EVENTS", "events.raw"),
    "dead_letter": env.string("KAFKA_TOPIC_DEAD_LETTER", "events.dead.letter"),
}

# How long a request waits for Kafka to acknowledge its package before 503.
KAFKA_DELIVERY_TIMEOUT_SECONDS = env.number("KAFKA_DELIVERY_TIMEOUT_SECONDS", 10.0)
KAFKA_LINGER_MS = env.integer("KAFKA_LINGER_MS", 5)
KAFKA_COMPRESSION_TYPE = env.string("KAFKA_COMPRESSION_TYPE", "lz4")
