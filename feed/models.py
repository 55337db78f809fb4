"""Posts and what people do with them: likes and comments."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from core.uploads import random_upload_name


def video_upload_to(instance: Post, filename: str) -> str:
    """Videos get random names: the URL of a private clip must not be guessable."""
    return random_upload_name(folder="posts", owner_id=instance.owner_id, ext="mp4")


def poster_upload_to(instance: Post, filename: str) -> str:
    """Poster frames sit beside their video under a random name."""
    return random_upload_name(folder="posts", owner_id=instance.owner_id, ext="jpg")


class Post(models.Model):
    """A published clip."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Everyone"
        FOLLOWERS = "followers", "Followers"
        PRIVATE = "private", "Only me"

    class Standing(models.TextChoices):
        """Where moderation left the post."""

        OK = "ok", "Shown"
        LIMITED = "limited", "Limited: kept off For You"
        HELD = "held", "Held for review"
        REMOVED = "removed", "Removed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts"
    )
    video = models.FileField(upload_to=video_upload_to)
    poster = models.ImageField(upload_to=poster_upload_to, blank=True)
    caption = models.TextField(max_length=500, blank=True, validators=[MaxLengthValidator(500)])
    prompt = models.TextField(max_length=2000, validators=[MaxLengthValidator(2000)])
    model_name = models.CharField(max_length=100)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    remix_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="remixes"
    )
    allow_remix = models.BooleanField(default=True)
    allow_download = models.BooleanField(default=False)
    duration_s = models.FloatField(default=0)
    # Whether the video carries a sound track: the player offers its sound control only then.
    # Riff's own encoder writes none, so every generated clip is silent.
    has_audio = models.BooleanField(default=False)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    standing = models.CharField(max_length=10, choices=Standing.choices, default=Standing.OK)
    content_label = models.CharField(
        max_length=80,
        blank=True,
        help_text="A moderator's warning label: the clip waits behind it until tapped.",
    )
    content_label_rule = models.CharField(
        max_length=80, blank=True, help_text="The policy category the label was given under."
    )
    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    # The prompt's unit MiniLM embedding (float32 bytes), what For You matches tastes with;
    # empty when the encoder was not there (the next full retrain of the ranking fills it).
    prompt_embedding = models.BinaryField(blank=True, default=b"", editable=False)
    # What the clip carries (ClipInspection.as_json(): credentials and watermark), as read
    # when it was signed; its credentials page shows this and never decodes the clip. Empty
    # for a post made before this was kept, until the page first fills it.
    clip_reading = models.JSONField(null=True, blank=True, editable=False)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["-created", "-id"], name="post_recent"),
            models.Index(fields=["owner", "-created"], name="post_owner_recent"),
            models.Index(fields=["visibility", "-created", "-id"], name="post_vis_recent"),
            # What For You reads of each of its ~400 candidate clips, so PostgreSQL reads
            # this index alone: a clip's row holds its prompt embedding and fills most of a
            # table page, so each candidate read from the table is a page read from cold.
            models.Index(
                fields=["id"],
                include=["owner", "remix_of", "created", "visibility", "standing"],
                name="post_candidate",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} by {self.owner_id}: {self.caption[:40] or self.prompt[:40]}"

    def get_absolute_url(self) -> str:
        """The post page."""
        return reverse("feed:post_detail", kwargs={"pk": self.pk})


class Like(models.Model):
    """A person likes a post (once)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes"
    )
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="like_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.post_id}"


class Comment(models.Model):
    """A comment under a post, or a reply to one (one level: a reply's parent is never a
    reply itself)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField(max_length=500, validators=[MaxLengthValidator(500)])
    removed = models.BooleanField(default=False, help_text="Removed by a moderator.")
    like_count = models.PositiveIntegerField(default=0)
    reply_count = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["post", "created"], name="comment_post_time")]

    def __str__(self) -> str:
        return f"{self.author_id} on {self.post_id}: {self.body[:40]}"


class CommentLike(models.Model):
    """A person likes a comment (once)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_likes"
    )
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="likes")
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "comment"], name="comment_like_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} likes comment {self.comment_id}"


class PostTag(models.Model):
    """A #tag a post's caption carries (feed/tags.py keeps these in step with the caption)."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="tags")
    tag = models.CharField(max_length=50)

    class Meta:
        # (tag, post): a tag's page reads its posts from the front of this index.
        constraints = [models.UniqueConstraint(fields=["tag", "post"], name="post_tag_unique")]

    def __str__(self) -> str:
        return f"#{self.tag} on {self.post_id}"
