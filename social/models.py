"""Notifications, each person's choice of which kinds they get, and messages."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """One thing that happened that a person should hear of.

    Notifications with the same `group_key` show as one line ("aiko and 3 others liked your
    clip"); the rows stay one per actor so that the count and the names are exact.
    """

    class Kind(models.TextChoices):
        LIKE = "like", "Likes of your clips"
        COMMENT = "comment", "Comments on your clips"
        REPLY = "reply", "Replies to your comments"
        MENTION = "mention", "Mentions of you"
        FOLLOW = "follow", "New followers"
        REMIX = "remix", "Remixes of your clips"
        NEW_POST = "new_post", "New clips from people you follow"
        CLIP_READY = "clip_ready", "Your clip is ready (or couldn't be made)"
        MODERATION = "moderation", "Moderation notices and appeal outcomes"
        MESSAGE = "message", "Messages and message requests"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications_caused",
    )
    post = models.ForeignKey(
        "feed.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(
        "feed.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    job = models.ForeignKey(
        "generation.GenerationJob",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    notice = models.ForeignKey(
        "moderation.Notice", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # What the line says beyond who and what (a comment's first words, a notice's subject,
    # why a clip could not be made), as it was when it happened.
    text = models.CharField(max_length=200, blank=True, validators=[MaxLengthValidator(200)])
    group_key = models.CharField(max_length=80)
    created = models.DateTimeField(default=timezone.now)
    read = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-created"], name="notification_recent"),
            models.Index(
                fields=["recipient"],
                name="notification_unread",
                condition=models.Q(read__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} ({self.group_key})"


class NotificationSettings(models.Model):
    """Which kinds of notification a person gets (every kind, until they turn one off), and
    whether they want an email digest of what they haven't read."""

    class Digest(models.TextChoices):
        OFF = "off", "Never"
        DAILY = "daily", "Once a day"
        WEEKLY = "weekly", "Once a week"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    off = models.JSONField(default=list, blank=True, help_text="The kinds turned off.")
    digest = models.CharField(
        max_length=8,
        choices=Digest.choices,
        default=Digest.OFF,
        help_text="How often to email unread notifications (opt-in).",
    )
    digest_sent = models.DateTimeField(
        null=True, blank=True, help_text="When the last digest went out."
    )

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notifications of {self.user_id}: off {', '.join(self.off) or 'none'}"


class Conversation(models.Model):
    """Two people's messages. `first` is the one with the lower id, so a pair has one row.

    Someone you don't follow lands in your Requests: the conversation waits unaccepted
    until you accept it (or answer); declined, it leaves your lists and takes no more.
    """

    first = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    accepted = models.BooleanField(default=False)
    declined = models.DateTimeField(null=True, blank=True)
    first_read = models.DateTimeField(null=True, blank=True)
    second_read = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(default=timezone.now)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="conversation_pair"),
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")), name="conversation_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["first", "-last_message_at"], name="conversation_first"),
            models.Index(fields=["second", "-last_message_at"], name="conversation_second"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} and {self.second_id}"

    def other_id(self, user_id: int) -> int:
        """The other person's id."""
        return self.second_id if user_id == self.first_id else self.first_id

    def is_request_for(self, user_id: int) -> bool:
        """Whether it waits in this person's Requests."""
        return not self.accepted and self.started_by_id != user_id

    def read_by(self, user_id: int) -> datetime | None:
        """When this person last read it."""
        return self.first_read if user_id == self.first_id else self.second_read


class Message(models.Model):
    """A message: text, a shared clip, or both."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages_sent"
    )
    body = models.TextField(max_length=1000, blank=True, validators=[MaxLengthValidator(1000)])
    post = models.ForeignKey(
        "feed.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    removed = models.DateTimeField(
        null=True, blank=True, help_text="When moderation removed it (it shows as removed)."
    )

    class Meta:
        indexes = [models.Index(fields=["conversation", "id"], name="message_conversation")]

    def __str__(self) -> str:
        return f"{self.sender_id} in {self.conversation_id}: {self.body[:40]}"


class PushSubscription(models.Model):
    """A browser that agreed to get this person's notifications as Web Push messages."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=800, unique=True)
    p256dh = models.CharField(max_length=200, help_text="The browser's public key.")
    auth = models.CharField(max_length=100, help_text="The browser's auth secret.")
    user_agent = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(default=timezone.now)
    last_sent = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveSmallIntegerField(
        default=0, help_text="Failed sends in a row; the subscription is dropped after a few."
    )

    def __str__(self) -> str:
        return f"push to {self.user_id} ({self.endpoint[:40]})"


class VapidKey(models.Model):
    """The instance's own VAPID key pair for Web Push, made on first use (one row)."""

    private_pem = models.TextField()
    public_key = models.CharField(
        max_length=100, help_text="The application server key, as browsers take it (base64url)."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "VAPID key"

    def __str__(self) -> str:
        return f"VAPID key {self.public_key[:16]}…"
