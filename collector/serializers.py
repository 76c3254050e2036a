"""The request's shape and the answer's, as DRF serializers: the design card's, and the OpenAPI description's.

`EventSerializer(many=True, data=events)` is what both doors run on a parsed
body (collector/endpoint.py): its list serializer, PackageSerializer, checks
the package (a JSON array of 1 to COLLECT_MAX_EVENTS events: otherwise the
request is refused whole, 400 or 413, and nothing is produced), and each
event's shape (an object, its stamps in `attributes` or `headers` objects).
An event whose shape is wrong is that event's fault, never the package's
(contract section 1): it is given back with its errors, and becomes a dead
letter. What an event holds is the registered schema's to judge
(contract/validation.py), `data` included.

Lean on purpose. DRF validates field by field (about 100 to 200 µs a package
and 10 to 30 µs an event here), which would be most of a small request's
time; these serializers override to_internal_value with the contract's own
checks (contract.normalize.shape_errors), and declare their fields for the
OpenAPI description, which drf-spectacular reads from the same classes.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from collector.errors import InvalidPackage, PayloadTooLarge
from collector.services import STATUSES, Shaped
from contract.normalize import shape_errors


class PackageSerializer(serializers.ListSerializer[Any]):
    """A package: a JSON array of 1 to COLLECT_MAX_EVENTS events, each given back with its shape's errors."""

    def run_validation(self, data: Any = serializers.empty) -> list[Shaped]:
        # The package's checks are all here: DRF's own empty-value handling would answer a JSON null in its
        # words, not the API's.
        return self.to_internal_value(data)

    def to_internal_value(self, data: Any) -> list[Shaped]:
        if not isinstance(data, list):
            raise InvalidPackage("The body must be a JSON array of events.")
        if not data:
            raise InvalidPackage("The package is empty: send at least one event.")
        if len(data) > settings.COLLECT_MAX_EVENTS:
            raise PayloadTooLarge(f"A package holds at most {settings.COLLECT_MAX_EVENTS} events, got {len(data)}.")
        child: EventSerializer = self.child  # type: ignore[assignment]
        return [child.shaped(event) for event in data]


class EventSerializer(serializers.Serializer[Any]):
    """One event as the source sends it; each is then validated against the registered schema."""

    # A field named like Serializer.data: declared fields leave the class
    # namespace at runtime, so only the type checker objects.
    data = serializers.DictField(help_text="id (string), amount (number)")  # type: ignore[assignment]
    attributes = serializers.DictField(required=False, help_text="The stamps (or under `headers`).")
    headers = serializers.DictField(required=False, help_text="The sample data's name for `attributes`.")

    class Meta:
        list_serializer_class = PackageSerializer

    def shaped(self, event: Any) -> Shaped:
        return Shaped(event, shape_errors(event))

    def to_internal_value(self, data: Any) -> Shaped:
        shaped = self.shaped(data)
        if shaped.errors:
            raise serializers.ValidationError({error.field: [error.message] for error in shaped.errors})
        return shaped


def shaped_package(events: Any) -> list[Shaped]:
    """The package checked by its serializer: refused whole (InvalidPackage, PayloadTooLarge), or its events
    each with its shape's errors."""
    serializer = EventSerializer(many=True, data=events)
    serializer.is_valid(raise_exception=True)
    shaped: list[Shaped] = serializer.validated_data
    return shaped


class OutcomeSerializer(serializers.Serializer[Any]):
    """What became of one event of the package (the answer's shape, for the OpenAPI description)."""

    index = serializers.IntegerField(help_text="The event's place in the package, from 0.")
    correlationId = serializers.UUIDField(help_text="The event's id: its package id plus its index.")
    status = serializers.ChoiceField(
        choices=list(STATUSES),
        help_text="accepted: on events.raw. rejected: invalid, on the dead letter. "
        "unconfirmed: Kafka did not acknowledge it; send it again.",
    )
    error = serializers.CharField(required=False, help_text="Why it is invalid, naming each field.")
    kafkaError = serializers.CharField(required=False, help_text="Why Kafka did not acknowledge it.")


class ResultSerializer(serializers.Serializer[Any]):
    packageId = serializers.UUIDField()
    schemaId = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    unconfirmed = serializers.IntegerField()
    events = serializers.ListField(child=OutcomeSerializer())
