"""The append-only audit log and the instance's moderation thresholds."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """One moderator or automated action. Rows are only ever added."""

    # No database foreign key: an entry outlives the account that acted, and deleting a user
    # must not have to rewrite the log.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=60, help_text="@handle, or “automation”.")
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=60, help_text="What was acted on, e.g. “post 12”.")
    details = models.JSONField(default=dict)
    created = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name_plural = "audit entries"
        ordering = ("-created", "-id")

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Add the entry; an entry already written can't be saved again."""
        if not self._state.adding:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        """Refused: the audit log is append-only."""
        raise PermissionError("The audit log is append-only.")


class ModerationSettings(models.Model):
    """The instance's moderation thresholds and conflict reviewers: one row, edited in the admin."""

    suspend_after_strikes = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text="An account with this many live strikes is suspended automatically.",
    )
    strike_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(1)],
        help_text="A strike counts for this many days.",
    )
    hash_distance = models.PositiveSmallIntegerField(
        default=31,
        validators=[MaxValueValidator(256)],
        help_text="Two frames match when their PDQ hashes differ in at most this many bits.",
    )
    hash_share = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.05), MaxValueValidator(1.0)],
        help_text="A clip matches a banked one when this share of its frames match.",
    )
    conflict_reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text=(
            "Moderators who decide the cases and appeals about a moderator's own posts, "
            "comments, account or refused prompts. Empty: any other moderator decides them. "
            "Nobody ever decides their own."
        ),
    )
    updated = models.DateTimeField(auto_now=True)

    ROW_PK = 1  # the one row's id

    class Meta:
        verbose_name = verbose_name_plural = "moderation settings"

    def __str__(self) -> str:
        return "Moderation settings"

    @classmethod
    def current(cls) -> ModerationSettings:
        """The one row, created with the defaults on first use."""
        obj, _ = cls.objects.get_or_create(pk=cls.ROW_PK)
        return obj
