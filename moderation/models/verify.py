"""Checks of uploaded videos ("Verify a clip"): each one waits for the `verify` worker."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class VerifyCheck(models.Model):
    """One uploaded video being checked, then what it carries; kept a short while only.

    Its id is random and is the only way to it: whoever uploaded the video holds it.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Checking"
        DONE = "done", "Checked"
        REFUSED = "refused", "Refused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # The upload's name in default storage while it waits (removed once checked).
    upload = models.CharField(max_length=300, blank=True)
    filename = models.CharField(max_length=255, blank=True)  # as the uploader named it
    # ClipInspection.as_json() once done; why it was refused otherwise.
    reading = models.JSONField(null=True, blank=True)
    refusal = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created"], name="verifycheck_state_created")]

    def __str__(self) -> str:
        return f"verify check {self.pk} ({self.state})"
