"""Notifications and each person's choice of which kinds they get."""

from __future__ import annotations

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
    """Which kinds of notification a person gets (every kind, until they turn one off)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    off = models.JSONField(default=list, blank=True, help_text="The kinds turned off.")

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"notifications of {self.user_id}: off {', '.join(self.off) or 'none'}"
