"""Notifications (read-only records) and each person's settings; conversations and their
messages, for moderators who need to read a reported one."""

from __future__ import annotations

from django.contrib import admin

from .models import Conversation, Message, Notification, NotificationSettings


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
