"""The engagement log the feed learns from."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class EngagementEvent(models.Model):
    """One thing a viewer did with a post; append-only."""

    class Kind(models.TextChoices):
        IMPRESSION = "impression", "Impression"
        VIEW = "view", "View (value: seconds watched)"
        COMPLETE = "complete", "Watched to the end"
        REPLAY = "replay", "Replay"
        SKIP = "skip", "Skip (value: seconds watched)"
        LIKE = "like", "Like"
        UNLIKE = "unlike", "Unlike"
        COMMENT = "comment", "Comment"
        SHARE = "share", "Share"
        FOLLOW = "follow", "Follow from post"
        REMIX = "remix", "Remix"
        NOT_INTERESTED = "not_interested", "Not interested"
        REPORT = "report", "Report"

    viewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="engagement_events",
        help_text="Empty for signed-out viewers.",
    )
    post = models.ForeignKey("feed.Post", on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.FloatField(default=1.0)
    created = models.DateTimeField(default=timezone.now)
    client_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Id the client gave the event, so a batch sent twice counts once.",
    )

    class Meta:
        indexes = [
            models.Index(fields=["post", "kind"], name="event_post_kind"),
            models.Index(fields=["viewer", "-created"], name="event_viewer_recent"),
            models.Index(fields=["-created"], name="event_recent"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["viewer", "client_id"],
                condition=~models.Q(client_id=""),
                name="event_client_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.post_id} by {self.viewer_id}"
