"""Reads for generation: allowances, queue position and ETA, a job's status, drafts."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Avg, DurationField, ExpressionWrapper, F, QuerySet
from django.utils import timezone

from accounts.models import User
from moderation.models import ClipFingerprint

from .backends import WeightsMissing
from .backends.registry import check_weights, model_configs
from .models import GenerationJob, GenerationQuota

State = GenerationJob.State
log = logging.getLogger(__name__)


def models_offered(*, user: Any) -> list[str]:
    """The models this person may choose: those installed here, in settings order.

    Test models (tiny-*, random weights) are offered only to staff on an instance run with
    DEBUG. A configured model whose weights are missing is left out, and the log says why
    (once per process): where they should be and how to get them is for the administrator.
    """
    testing = bool(settings.DEBUG and getattr(user, "is_staff", False))
    offered = []
    for key, config in model_configs().items():
        if config.is_tiny and not testing:
            continue
        try:
            check_weights(config)
        except WeightsMissing as exc:
            if key not in _reported_missing:
                _reported_missing.add(key)
                log.warning("model %s is configured but not offered: %s", key, exc)
            continue
        offered.append(key)
    return offered


_reported_missing: set[str] = set()


def model_choices(*, user: Any) -> list[tuple[str, str]]:
    """(key, label) of the models this person may choose, for forms."""
    return [(key, model_label(key)) for key in models_offered(user=user)]


# No clip is longer than this, whatever the model: the API's and the form's own limit.
CLIP_SECONDS_MAX = 10.0


def model_longest(model_key: str) -> float | None:
    """The longest clip a model makes, in seconds (RIFF_MODELS' max_seconds), if it has one."""
    longest = settings.RIFF_MODELS.get(model_key, {}).get("max_seconds")
    return None if longest is None else float(longest)


def model_limit_seconds(model_key: str) -> float:
    """The longest clip one may ask this model for: its own limit, else CLIP_SECONDS_MAX."""
    longest = model_longest(model_key)
    return CLIP_SECONDS_MAX if longest is None else min(longest, CLIP_SECONDS_MAX)


def models_limit_seconds(model_keys: list[str]) -> float:
    """The longest clip any of these models may be asked for (CLIP_SECONDS_MAX if none)."""
    return max((model_limit_seconds(key) for key in model_keys), default=CLIP_SECONDS_MAX)


def duration_refusal(*, model_key: str, duration_s: float) -> str | None:
    """Why this model can't make a clip this long, in words; None when it can."""
    limit = model_limit_seconds(model_key)
    if duration_s <= limit:
        return None
    return f"{model_label(model_key)} makes clips of at most {limit:g} seconds; ask for less."


def model_label(model_key: str) -> str:
    """The readable name of a model, or its key when it is no longer configured."""
    return str(settings.RIFF_MODELS.get(model_key, {}).get("label", model_key))


def quota_limits(*, user: User) -> tuple[int, int]:
    """(daily, concurrent) allowances: the admin's override, else the settings."""
    override = GenerationQuota.objects.filter(user=user).first()
    if override is not None:
        return override.daily_limit, override.concurrent_limit
    return settings.GENERATION_DAILY_QUOTA, settings.GENERATION_CONCURRENT_QUOTA


def quota_usage(*, user: User) -> tuple[int, int]:
    """(jobs counted in the last 24 hours, jobs active now); refunded ones don't count."""
    since = timezone.now() - timedelta(days=1)
    mine = GenerationJob.objects.filter(owner=user)
    used = mine.filter(queued_at__gte=since, quota_refunded=False).count()
    active = mine.filter(state__in=GenerationJob.ACTIVE).count()
    return used, active


def job_of(*, user: User, job_id: str) -> GenerationJob | None:
    """One of this person's jobs, or None (also for a malformed id)."""
    try:
        return GenerationJob.objects.filter(pk=job_id, owner=user).first()
    except ValidationError:
        return None


def jobs_of(*, user: User) -> QuerySet[GenerationJob]:
    """A person's jobs, newest first, without the ones already posted or thrown away."""
    return GenerationJob.objects.filter(
        owner=user, published_post_id__isnull=True, discarded_at__isnull=True
    ).order_by("-queued_at")


def drafts_of(*, user: User) -> QuerySet[GenerationJob]:
    """Finished clips a person has not posted or thrown away, newest first."""
    return jobs_of(user=user).filter(state=State.SUCCEEDED)


def queue_position(*, job: GenerationJob) -> int | None:
    """1 for the next job a worker takes; None once the job has left the queue."""
    if job.state != State.QUEUED:
        return None
    ahead = GenerationJob.objects.filter(state=State.QUEUED, queued_at__lt=job.queued_at)
    return ahead.count() + 1


def typical_run_seconds(*, model_key: str) -> float | None:
    """Mean start-to-finish time of this model's last 20 finished clips, if there are any."""
    recent = (
        GenerationJob.objects.filter(
            model_key=model_key, state=State.SUCCEEDED, started_at__isnull=False
        )
        .order_by("-finished_at")
        .values("pk")[:20]
    )
    took = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    mean = GenerationJob.objects.filter(pk__in=recent).aggregate(mean=Avg(took))["mean"]
    return mean.total_seconds() if mean else None


def eta_seconds(*, job: GenerationJob, position: int | None) -> float | None:
    """Seconds until the clip is ready, from recent run times; None when unknown."""
    typical = typical_run_seconds(model_key=job.model_key)
    if typical is None or not job.is_active:
        return None
    if job.state == State.QUEUED:
        return typical * (position or 1)
    if job.progress_total:
        return max(0.0, typical * (1 - job.progress_step / job.progress_total))
    return typical


def job_status(*, job: GenerationJob) -> dict[str, Any]:
    """What a person watching a job needs: state, progress, place in line, ETA, result."""
    position = queue_position(job=job)
    return {
        "id": str(job.pk),
        "state": job.state,
        "state_label": job.get_state_display(),
        "progress": {"step": job.progress_step, "total": job.progress_total},
        "queue_position": position,
        "eta_seconds": eta_seconds(job=job, position=position),
        "cancel_requested": job.cancel_requested,
        "failure": job.failure or None,
        "failure_message": job.failure_message or None,
        "video_url": job.video.url if job.video else None,
        "poster_url": job.poster.url if job.poster else None,
    }


def job_page(*, job: GenerationJob) -> dict[str, Any]:
    """What the job page and its status fragment render: the job, its status, its model.

    And whether the draft resembles a clip moderators removed: posting it holds it for review.
    """
    return {
        "job": job,
        "status": job_status(job=job),
        "model_label": model_label(job.model_key),
        # Only a draft can still be posted; a running job's page polls, so skip the query.
        "resembles_removed": job.is_draft
        and ClipFingerprint.objects.filter(job=job, match__active=True).exists(),
    }


def job_for_clip(*, watermark_id: int | None, clip_id: str | None) -> GenerationJob | None:
    """The finished job a clip came from, by its watermark id or its credentials' clip id."""
    finished = GenerationJob.objects.filter(state=State.SUCCEEDED)
    if watermark_id is not None:
        job = finished.filter(watermark_id=watermark_id).first()
        if job is not None:
            return job
    if clip_id:
        try:
            return finished.filter(pk=uuid.UUID(clip_id)).first()
        except ValueError:
            return None
    return None
