"""Admin for the engagement log (read-only: it is append-only)."""

from django.contrib import admin
from django.http import HttpRequest

from .models import EngagementEvent


@admin.register(EngagementEvent)
class EngagementEventAdmin(admin.ModelAdmin):
    """The engagement log, for looking, not editing."""

    list_display = ("created", "kind", "viewer", "post", "value")
    list_filter = ("kind", "created")
    search_fields = ("viewer__username", "post__id")
    list_select_related = ("viewer", "post")
    date_hierarchy = "created"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Events come from people's actions, never from the admin."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        """The log is append-only."""
        return False
