"""People on Riff: users, their profiles, who follows or blocks whom, and invite codes."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

handle_validator = RegexValidator(
    regex=r"^[a-z0-9_]{3,30}$",
    message="A handle is 3 to 30 characters: lowercase letters, digits and underscores.",
)


class User(AbstractUser):
    """A person; `username` is their public @handle."""

    username = models.CharField(
        "handle",
        max_length=30,
        unique=True,
        validators=[handle_validator],
        help_text="3 to 30 characters: lowercase letters, digits and underscores.",
        error_messages={"unique": "That handle is taken."},
    )
    email = models.EmailField("email address", unique=True)
    invite = models.ForeignKey(
        "accounts.InviteCode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="users",
        help_text="The invite code this person signed up with.",
    )
    suspended_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=(
            "Set by a moderator's decision: the person can sign in, read why and appeal, "
            "but can't post, comment or generate, and their posts are hidden."
        ),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_handle_ci_unique"),
        ]

    @property
    def is_suspended(self) -> bool:
        """Suspended by moderation."""
        return self.suspended_at is not None

    @property
    def handle(self) -> str:
        """The public handle, without the @."""
        return self.username

    def get_absolute_url(self) -> str:
        """The profile page."""
        return reverse("accounts:profile", kwargs={"handle": self.username})


AVATAR_EXTENSIONS = ("jpg", "jpeg", "png", "gif", "webp")


def avatar_upload_to(instance: Profile, filename: str) -> str:
    """Store avatars under a random name so old URLs don't leak new pictures."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in AVATAR_EXTENSIONS:
        ext = "jpg"
    return f"avatars/{instance.user_id}/{secrets.token_hex(8)}.{ext}"


class Profile(models.Model):
    """What a person shows about themselves."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=50, blank=True)
    bio = models.TextField(max_length=300, blank=True, validators=[MaxLengthValidator(300)])
    avatar = models.ImageField(upload_to=avatar_upload_to, blank=True)
    follower_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    post_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"@{self.user.username}"

    @property
    def name(self) -> str:
        """The name to show: display name, else the handle."""
        return self.display_name or self.user.username


class Follow(models.Model):
    """`follower` sees `followee`'s posts in Following."""

    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_set"
    )
    followee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_set"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_unique"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")), name="follow_not_self"
            ),
        ]
        indexes = [models.Index(fields=["followee", "-created"])]

    def __str__(self) -> str:
        return f"{self.follower_id} -> {self.followee_id}"


class Block(models.Model):
    """`blocker` wants nothing to do with `blocked`: no follows either way, no clips shown."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocking_set"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_by_set"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique"),
            models.CheckConstraint(
                condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


def invite_code_default() -> str:
    """A short code that is easy to read out."""
    return secrets.token_urlsafe(9)


class InviteCode(models.Model):
    """A code that lets people sign up while Riff is invite-only."""

    code = models.CharField(max_length=40, unique=True, default=invite_code_default)
    note = models.CharField(max_length=200, blank=True, help_text="Who it is for.")
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.code

    def problem(self) -> str | None:
        """Why this code can't be used now, or None if it can."""
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "This invite code has expired."
        if self.uses >= self.max_uses:
            return "This invite code has been used up."
        return None
