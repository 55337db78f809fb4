"""Jobs in any state, made straight in the database for tests of what follows a state."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from generation.models import GenerationJob
from tests.factories import tiny_clip


def job_in_state(owner: User, state: str = "queued", **fields: Any) -> GenerationJob:
    """A job row in `state`; a succeeded one gets a real clip and poster."""
    job = GenerationJob.objects.create(
        owner=owner,
        prompt=fields.pop("prompt", "a lighthouse in a storm"),
        model_key=fields.pop("model_key", "tiny-wan"),
        seed=fields.pop("seed", 7),
        state=state,
        **fields,
    )
    if state == GenerationJob.State.SUCCEEDED:
        video, poster = tiny_clip()
        job.video.save("clip.mp4", ContentFile(video), save=False)
        job.poster.save("poster.jpg", ContentFile(poster), save=False)
        job.width, job.height, job.video_duration_s = 90, 160, 0.5
        job.started_at = job.finished_at = timezone.now()
        job.save()
    return job
