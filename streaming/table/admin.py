from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from streaming.table.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # subscripted only by django-stubs
    """Read-only: rows are written by the stream alone."""

    list_display = ("timestamp_stamp", "type", "target_subscription", "message_id_stamp", "correlation_id")
    list_filter = ("type",)
    search_fields = ("=message_id_stamp", "=correlation_id", "=new_context_account_id")
    date_hierarchy = "timestamp_stamp"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
