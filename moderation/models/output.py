"""Output checks: the hash bank of removed clips and each generated clip's fingerprint."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class HashBankEntry(models.Model):
    """The frame hashes of a clip moderators removed: new clips that match are held."""

    post = models.ForeignKey(
        "feed.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision = models.ForeignKey(
        "Decision", null=True, blank=True, on_delete=models.SET_NULL, related_name="bank_entries"
    )
    # PDQ hashes (256 bits, 64 hex digits) of the clip's sampled frames.
    hashes = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    added = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "hash bank entries"

    def __str__(self) -> str:
        return f"bank #{self.pk} (post {self.post_id}, {len(self.hashes)} frames)"


class ClipFingerprint(models.Model):
    """A generated clip's frame hashes and the bank entry it matched, if any.

    `hashes` are of its frames before the label and the watermark were drawn (what another
    generation of the same pixels hashes to); `published_hashes` of the frames as published,
    label and watermark included (what a copy of the published file hashes to): /verify/
    finds a clip by the latter when its watermark is gone.
    """

    job = models.OneToOneField(
        "generation.GenerationJob", on_delete=models.CASCADE, related_name="fingerprint"
    )
    hashes = models.JSONField(default=list)
    published_hashes = models.JSONField(default=list, blank=True)
    # Whether the posted file was hashed (clips made before it was have their file hashed
    # once it is posted, by moderation.perceptual.published_hashes_backfill).
    published_hashed = models.BooleanField(default=False)
    match = models.ForeignKey(
        HashBankEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="matches"
    )
    matched_share = models.FloatField(default=0.0)
    created = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"fingerprint of {self.job_id}"
