"""manage.py register_schemas: register every schema in schemas/ under its subject."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contract.schemas import SCHEMAS_DIR, RegistrationRefused, register_all
from integrations.clients import registry_client, registry_config


class Command(BaseCommand):
    help = "Register the Avro schemas of schemas/ (subject = file name), with BACKWARD compatibility."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=SCHEMAS_DIR, help="folder of .avsc files")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            registrations = register_all(registry_client(), options["dir"])
        except RegistrationRefused as refused:
            raise CommandError(f"the registry refused a schema: {refused}") from refused
        except Exception as error:  # HTTP errors and the client's transport errors alike
            raise CommandError(f"cannot reach the schema registry at {registry_config().url}: {error}") from error
        for registration in registrations:
            verb = "registered" if registration.created else "unchanged,"
            self.stdout.write(
                f"{registration.subject}: {verb} version {registration.version} (schema id {registration.schema_id})"
            )
