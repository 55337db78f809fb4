"""Notifications in the admin: read-only records, and each person's settings."""

from __future__ import annotations

from django.contrib import admin

from .models import Notification, NotificationSettings


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """What was sent to whom; written by Riff, never by hand."""

    list_display = ("created", "recipient", "kind", "actor", "post", "read")
    list_filter = ("kind", ("read", admin.EmptyFieldListFilter))
    search_fields = ("recipient__username", "actor__username", "group_key")
    raw_id_fields = ("recipient", "actor", "post", "comment", "job", "notice")
    date_hierarchy = "created"
    list_select_related = ("recipient", "actor", "post")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    """The kinds each person turned off."""

    list_display = ("user", "off")
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
