"""The `events` table, read through the ORM and the admin. Written only by the stream.

Unmanaged: migration 0001 creates the table with SQL (Django cannot declare
a partitioned table). PostgreSQL's key is (message_id_stamp, timestamp_stamp);
the model names message_id_stamp as its primary key so that the ORM can load
rows, which holds as long as a message id is not reused across instants.
"""

from __future__ import annotations

import uuid

from django.db import models


class Event(models.Model):
    message_id_stamp = models.UUIDField(primary_key=True)
    timestamp_stamp = models.DateTimeField()
    correlation_id = models.UUIDField()
    type = models.TextField()
    target_subscription = models.TextField()
    new_context_account_id = models.UUIDField()
    new_context_user_id = models.UUIDField()
    data = models.JSONField(help_text="The whole enriched event: data, attributes and metadata.")

    class Meta:
        managed = False
        db_table = "events"
        ordering = ("-timestamp_stamp",)

    def __str__(self) -> str:
        return f"{self.type} {self.message_id_stamp} at {self.timestamp_stamp:%Y-%m-%d %H:%M:%S%z}"

    @classmethod
    def of_package(cls, package_id: uuid.UUID) -> models.QuerySet[Event]:
        """Every event of a package, through the index on correlation_id."""
        from contract.ids import package_range

        low, high = package_range(package_id)
        return cls.objects.filter(correlation_id__gte=low, correlation_id__lte=high).order_by("correlation_id")
