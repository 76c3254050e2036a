"""Checks Django runs at start (manage.py commands, and holded/server.py before it serves): the limits agree.

Every limit of a request is derived from what Kafka takes, so that no
request can be refused for its own content after it was accepted: an
invalid event's dead letter (the event as received, whole, and headers of at
most HEADERS_MAX_BYTES) must fit one record, and so must a valid event of the
largest size the contract allows, with its key and headers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from contract import wire
from contract.dead_letter import HEADERS_MAX_BYTES
from contract.limits import EVENT_MAX_BYTES

# A valid event's record beyond its Avro: the key and two headers (correlationId and packageId), with framing.
EVENT_RECORD_OVERHEAD_BYTES = 512


@register("holded")
def limits_agree(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    record = settings.KAFKA_MESSAGE_MAX_BYTES
    errors: list[CheckMessage] = []
    letter = settings.COLLECT_MAX_BODY_BYTES + HEADERS_MAX_BYTES
    if letter > record:
        errors.append(
            Error(
                f"COLLECT_MAX_BODY_BYTES ({settings.COLLECT_MAX_BODY_BYTES}) plus a dead letter's headers "
                f"({HEADERS_MAX_BYTES}) exceed KAFKA_MESSAGE_MAX_BYTES ({record}): the dead letter of a large "
                "invalid event would not fit a record.",
                hint=f"Raise KAFKA_MESSAGE_MAX_BYTES (and the topics' max.message.bytes) to at least {letter}, "
                "or lower COLLECT_MAX_BODY_BYTES.",
                id="holded.E001",
            )
        )
    event = EVENT_MAX_BYTES + wire.HEADER_BYTES + EVENT_RECORD_OVERHEAD_BYTES
    if event > record:
        errors.append(
            Error(
                f"The largest event the contract allows ({EVENT_MAX_BYTES} bytes, contract/limits.py) "
                f"would not fit KAFKA_MESSAGE_MAX_BYTES ({record}).",
                hint=f"Raise KAFKA_MESSAGE_MAX_BYTES to at least {event}.",
                id="holded.E002",
            )
        )
    return errors
