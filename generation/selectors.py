"""Reads for generation: allowances, queue position and ETA, a job's status, drafts."""

from __future__ import annotations

import logging
import math
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Avg, DurationField, ExpressionWrapper, F, QuerySet
from django.utils import timezone

from accounts.models import User
from core.media import media_url
from moderation.models import ClipFingerprint

from .backends import WeightsMissing
from .backends.registry import backend_class, check_weights, model_configs
from .models import GenerationJob, GenerationQuota

if TYPE_CHECKING:
    from .house.vocabulary import PromptGuide

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

# Each family's frame size per shape and frame rate, where RIFF_MODELS doesn't name its own.
DEFAULT_SIZES = {
    "wan": {"9:16": (480, 832), "16:9": (832, 480), "1:1": (624, 624)},
    "ltx": {"9:16": (512, 768), "16:9": (768, 512), "1:1": (640, 640)},
    # Display sizes: the house model's square clips are upscaled and centred on a blurred fill.
    "house": {"9:16": (512, 912), "16:9": (912, 512), "1:1": (512, 512)},
}
# The house model's display rate; its own frames are 4 fps apart (generation/house/display.py).
DEFAULT_FPS = {"wan": 16, "ltx": 24, "house": 24}


def model_size(model_key: str, aspect: str) -> tuple[int, int]:
    """(width, height) of a configured model's clips of this shape."""
    config = settings.RIFF_MODELS[model_key]
    width, height = (config.get("sizes") or DEFAULT_SIZES[config["family"]])[aspect]
    return int(width), int(height)


def model_fps(model_key: str) -> int:
    """The frame rate of a configured model's clips."""
    config = settings.RIFF_MODELS[model_key]
    return int(config.get("fps") or DEFAULT_FPS[config["family"]])


def model_longest(model_key: str) -> float | None:
    """The longest clip a model makes, in seconds, if it has a limit: RIFF_MODELS' max_seconds,
    or its max_frames at its frame rate (to the hundredth below), whichever is shorter."""
    config = settings.RIFF_MODELS.get(model_key, {})
    limits = []
    if config.get("max_seconds") is not None:
        limits.append(float(config["max_seconds"]))
    if config.get("max_frames") is not None:
        limits.append(math.floor(int(config["max_frames"]) * 100 / model_fps(model_key)) / 100)
    return min(limits, default=None)


def model_max_steps(model_key: str) -> int:
    """The most denoising steps one may ask of a model: RIFF_MODELS' max_steps, else
    GENERATION_MAX_STEPS."""
    cap = settings.RIFF_MODELS.get(model_key, {}).get("max_steps")
    return int(settings.GENERATION_MAX_STEPS if cap is None else cap)


def model_max_size(model_key: str) -> tuple[int | None, int | None]:
    """(widest, tallest) frame a model may make, each None when it has no cap."""
    config = settings.RIFF_MODELS.get(model_key, {})
    return config.get("max_width"), config.get("max_height")


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


def steps_refusal(*, model_key: str, steps: int) -> str | None:
    """Why this model won't take this many steps, in words; None when it will."""
    cap = model_max_steps(model_key)
    if steps <= cap:
        return None
    return f"{model_label(model_key)} takes at most {cap} steps; ask for fewer."


def size_refusal(*, model_key: str, aspect: str) -> str | None:
    """Why this model can't make clips of this shape (its frame is over its cap); None if it can."""
    widest, tallest = model_max_size(model_key)
    if widest is None and tallest is None:
        return None
    width, height = model_size(model_key, aspect)
    if (widest is None or width <= widest) and (tallest is None or height <= tallest):
        return None
    if widest is None:
        cap = f"frames at most {tallest} pixels tall"
    elif tallest is None:
        cap = f"frames at most {widest} pixels wide"
    else:
        cap = f"frames of at most {widest}×{tallest} pixels"
    return (
        f"{model_label(model_key)} makes {cap}, and its {aspect} clips are {width}×{height}; "
        "choose another shape."
    )


def job_refusals(*, model_key: str, aspect: str, duration_s: float, steps: int) -> dict[str, str]:
    """Why a configured model can't make this clip, by field: its caps on length, steps and
    frame size ({} when it can). Checked by the API, the form and again by the worker."""
    refusals = {
        "duration_s": duration_refusal(model_key=model_key, duration_s=duration_s),
        "steps": steps_refusal(model_key=model_key, steps=steps),
        "aspect": size_refusal(model_key=model_key, aspect=aspect),
    }
    return {field: message for field, message in refusals.items() if message is not None}


def model_guide(model_key: str) -> PromptGuide | None:
    """How to prompt a model whose vocabulary is small (the house model); None for one that
    takes any prompt, or one no longer configured."""
    config = model_configs().get(model_key)
    return None if config is None else backend_class(config.family).prompt_guide


def model_is_test(model_key: str) -> bool:
    """Whether a model is a test model (tiny, random weights)."""
    config = model_configs().get(model_key)
    return config is not None and config.is_tiny


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
        # Only its owner follows a job: the URLs are signed for them.
        "video_url": media_url(job.video, viewer=job.owner),
        "poster_url": media_url(job.poster, viewer=job.owner),
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


def export_of(user: User) -> list[dict[str, Any]]:
    """A person's generation jobs (drafts and all), for their data download."""
    return [
        {
            "id": str(job.pk),
            "prompt": job.prompt,
            "negative_prompt": job.negative_prompt,
            "model": job.model_key,
            "state": job.state,
            "failure_message": job.failure_message or None,
            "queued_at": job.queued_at.isoformat(),
            "posted_as": job.published_post_id,
            "video_url": media_url(job.video, viewer=user),
        }
        for job in GenerationJob.objects.filter(owner=user).order_by("queued_at")
    ]
