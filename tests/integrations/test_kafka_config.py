"""Every Kafka client's configuration comes from one place (pure)."""

from __future__ import annotations

from integrations.kafka import KafkaConfig

TLS = {"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}


def test_a_producer_is_idempotent_and_waits_for_every_replica() -> None:
    config = KafkaConfig("b1:9092,b2:9092", TLS).producer("api-1", {"linger.ms": 5})

    assert config == {
        "bootstrap.servers": "b1:9092,b2:9092",
        "client.id": "api-1",
        **TLS,
        "acks": "all",
        "enable.idempotence": True,
        "message.max.bytes": 2 * 1024 * 1024,
        "linger.ms": 5,
    }


def test_a_consumer_commits_only_what_its_owner_commits() -> None:
    config = KafkaConfig("b:9092").consumer("group", "source", {"fetch.wait.max.ms": 10})

    assert config["group.id"] == "group"
    assert config["enable.auto.commit"] is False
    assert config["enable.auto.offset.store"] is False
    assert config["auto.offset.reset"] == "earliest"
    assert config["fetch.wait.max.ms"] == 10


def test_every_client_gets_the_security_settings() -> None:
    kafka = KafkaConfig("b:9092", TLS)

    for config in (kafka.producer("p"), kafka.consumer("g", "c"), kafka.admin()):
        assert config["security.protocol"] == "SASL_SSL"
