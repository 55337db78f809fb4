"""Generation jobs: a prompt on its way to a clip, as one declared state graph."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.uploads import random_upload_name

# A clip's invisible watermark carries this many bits: its watermark id.
WATERMARK_ID_BITS = 48


def new_watermark_id() -> int:
    """A random id for a clip's invisible watermark (generation_job_create redraws a clash)."""
    return secrets.randbelow(2**WATERMARK_ID_BITS)


def clip_upload_to(instance: GenerationJob, filename: str) -> str:
    """Finished clips get random names: a draft's URL must not be guessable."""
    return random_upload_name(folder="generations", owner_id=instance.owner_id, ext="mp4")


def clip_poster_upload_to(instance: GenerationJob, filename: str) -> str:
    """The poster frame sits beside its clip."""
    return random_upload_name(folder="generations", owner_id=instance.owner_id, ext="jpg")


class GenerationJob(models.Model):
    """One request to turn a prompt (and, for a remix, a source clip) into a video."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Generating"
        ENCODING = "encoding", "Encoding"
        SUCCEEDED = "succeeded", "Ready"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        TIMED_OUT = "timed_out", "Timed out"

    class Failure(models.TextChoices):
        POLICY = "policy", "Refused by policy"
        INFRASTRUCTURE = "infrastructure", "Our fault"
        TIMEOUT = "timeout", "Took too long"
        CANCELLED = "cancelled", "Cancelled"

    class Aspect(models.TextChoices):
        PORTRAIT = "9:16", "Portrait 9:16"
        LANDSCAPE = "16:9", "Landscape 16:9"
        SQUARE = "1:1", "Square 1:1"

    # The whole state graph, declared once; services.job_transition refuses anything else.
    # running/encoding -> queued is the sweeper putting back a job whose worker died.
    TRANSITIONS: dict[str, frozenset[str]] = {
        State.QUEUED: frozenset({State.RUNNING, State.FAILED, State.CANCELLED, State.TIMED_OUT}),
        State.RUNNING: frozenset(
            {State.ENCODING, State.QUEUED, State.FAILED, State.CANCELLED, State.TIMED_OUT}
        ),
        State.ENCODING: frozenset(
            {State.SUCCEEDED, State.QUEUED, State.FAILED, State.CANCELLED, State.TIMED_OUT}
        ),
        State.SUCCEEDED: frozenset(),
        State.FAILED: frozenset(),
        State.CANCELLED: frozenset(),
        State.TIMED_OUT: frozenset(),
    }
    ACTIVE = (State.QUEUED, State.RUNNING, State.ENCODING)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_jobs"
    )
    prompt = models.TextField(max_length=2000, validators=[MaxLengthValidator(2000)])
    negative_prompt = models.TextField(
        max_length=1000, blank=True, validators=[MaxLengthValidator(1000)]
    )
    model_key = models.CharField(max_length=100)
    aspect = models.CharField(max_length=5, choices=Aspect.choices, default=Aspect.PORTRAIT)
    duration_s = models.FloatField(
        default=2.0, validators=[MinValueValidator(0.5), MaxValueValidator(10.0)]
    )
    seed = models.PositiveBigIntegerField()
    steps = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    guidance = models.FloatField(
        default=5.0, validators=[MinValueValidator(0.0), MaxValueValidator(20.0)]
    )
    # A remix: the source post's id and its video, by storage name. Generation knows no
    # posts; the feed turns this id back into the new post's `remix_of`.
    source_post_id = models.PositiveBigIntegerField(null=True, blank=True)
    source_video = models.CharField(max_length=300, blank=True)
    strength = models.FloatField(
        default=0.6, validators=[MinValueValidator(0.05), MaxValueValidator(1.0)]
    )

    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    progress_step = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    # The lease on a running job: the worker that claimed it and which attempt that claim
    # was hold it until lease_expires_at, which their heartbeat keeps pushing on. Every write a
    # runner makes names both, so one that lost the lease writes nothing; the sweeper takes
    # back only expired leases (a running job without one has nobody holding it).
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=20, choices=Failure.choices, blank=True)
    failure_message = models.TextField(blank=True)
    quota_refunded = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=100, blank=True)

    queued_at = models.DateTimeField(default=timezone.now)
    # When its task was last sent to the broker: the sweeper sends it again when it waits on.
    sent_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    video = models.FileField(upload_to=clip_upload_to, blank=True)
    poster = models.ImageField(upload_to=clip_poster_upload_to, blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    frame_count = models.PositiveIntegerField(default=0)
    fps = models.PositiveSmallIntegerField(default=0)
    video_duration_s = models.FloatField(default=0)
    video_bytes = models.PositiveBigIntegerField(default=0)
    # What the clip's invisible watermark says; it leads a "verify" upload back to the clip.
    watermark_id = models.PositiveBigIntegerField(
        unique=True, default=new_watermark_id, editable=False
    )
    # What the signed clip carries (ClipInspection.as_json(): its credentials and watermark),
    # read back once when it was signed; its post shows this instead of decoding the clip.
    clip_reading = models.JSONField(null=True, blank=True, editable=False)
    # Set when the draft was posted (the post took over the files) or thrown away.
    published_post_id = models.PositiveBigIntegerField(null=True, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-queued_at"], name="job_owner_recent"),
            models.Index(fields=["state", "queued_at"], name="job_state_queue"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="job_idempotency_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.state}: {self.prompt[:40]}"

    @property
    def is_active(self) -> bool:
        """Queued, generating or encoding."""
        return self.state in self.ACTIVE

    @property
    def is_draft(self) -> bool:
        """A finished clip its owner has neither posted nor thrown away."""
        return (
            self.state == self.State.SUCCEEDED
            and self.published_post_id is None
            and self.discarded_at is None
        )


class GenerationQuota(models.Model):
    """An admin's override of one person's allowances (the defaults are in settings)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_quota"
    )
    daily_limit = models.PositiveIntegerField(
        help_text="Clips this person may start in 24 hours (failures that are ours don't count)."
    )
    concurrent_limit = models.PositiveSmallIntegerField(
        help_text="Jobs this person may have queued or running at once."
    )
    note = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.daily_limit}/day, {self.concurrent_limit} at once"
