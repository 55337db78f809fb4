"""Notifications (read-only records) and each person's settings; conversations and their
messages, for moderators who need to read a reported one; browser push subscriptions and the
instance's public push key."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet

from .models import (
    Conversation,
    Message,
    Notification,
    NotificationSettings,
    PushSubscription,
    VapidKey,
)


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
    """The kinds each person turned off, and their email digest."""

    list_display = ("user", "off", "digest", "digest_sent")
    list_filter = ("digest",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
    readonly_fields = ("digest_sent",)


class MessageInline(admin.TabularInline):
    """A conversation's messages."""

    model = Message
    extra = 0
    fields = ("sender", "body", "post", "created")
    readonly_fields = fields
    can_delete = False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Conversations between two people (written by Riff, never by hand)."""

    list_display = ("first", "second", "started_by", "accepted", "declined", "last_message_at")
    list_filter = ("accepted",)
    search_fields = ("first__username", "second__username")
    raw_id_fields = ("first", "second", "started_by")
    list_select_related = ("first", "second", "started_by")
    inlines = (MessageInline,)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Messages, read only."""

    list_display = ("sender", "conversation", "short_body", "post", "created")
    search_fields = ("body", "sender__username")
    raw_id_fields = ("sender", "conversation", "post")
    list_select_related = ("sender", "conversation")
    date_hierarchy = "created"

    @admin.display(description="Message")
    def short_body(self, obj: Message) -> str:
        """The message, cut short."""
        return obj.body[:80]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    """Browsers that get people's notifications pushed (written by Riff; delete one to stop
    sending to it)."""

    list_display = ("user", "endpoint_start", "created", "last_sent", "failures")
    search_fields = ("user__username", "endpoint")
    raw_id_fields = ("user",)
    list_select_related = ("user",)
    date_hierarchy = "created"

    @admin.display(description="Endpoint")
    def endpoint_start(self, obj: PushSubscription) -> str:
        """The push service's URL, cut short."""
        return obj.endpoint[:60] + ("…" if len(obj.endpoint) > 60 else "")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(VapidKey)
class VapidKeyAdmin(admin.ModelAdmin):
    """The instance's Web Push key pair: its public half only; the private key never leaves
    the database through the admin."""

    list_display = ("public_key", "created")
    fields = ("public_key", "created")
    exclude = ("private_pem",)
    readonly_fields = ("public_key", "created")

    def get_queryset(self, request: Any) -> QuerySet[VapidKey]:
        return super().get_queryset(request).defer("private_pem")

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        # Every browser subscribed with this key: a new one would leave them all unreachable.
        return False
