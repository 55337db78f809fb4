"""Serializers of generation jobs, and the one way a request starts a job.

Shared by the generation API and the feed's remix endpoint, which adds a source clip.
"""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from core.api import StrictCharField, StrictFloatField, absolute_url
from core.media import media_url

from . import services
from .models import GenerationJob
from .selectors import (
    job_refusals,
    job_status,
    model_guide,
    model_limit_seconds,
    model_max_steps,
    models_limit_seconds,
    models_offered,
)


class JobOutputSerializer(serializers.Serializer):
    """A job: what was asked, where it stands, and once done, the clip."""

    id = serializers.UUIDField()
    prompt = serializers.CharField()
    negative_prompt = serializers.CharField()
    model_key = serializers.CharField()
    aspect = serializers.CharField()
    duration_s = serializers.FloatField()
    seed = serializers.IntegerField()
    steps = serializers.IntegerField()
    guidance = serializers.FloatField()
    remix_of = serializers.IntegerField(source="source_post_id", allow_null=True)
    strength = serializers.FloatField()
    state = serializers.ChoiceField(choices=GenerationJob.State.choices)
    progress = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()
    eta_seconds = serializers.SerializerMethodField()
    failure = serializers.ChoiceField(
        choices=GenerationJob.Failure.choices, allow_blank=True, allow_null=True
    )
    failure_message = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    queued_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    video_url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    frame_count = serializers.IntegerField()
    video_duration_s = serializers.FloatField()
    video_bytes = serializers.IntegerField()
    published_post = serializers.IntegerField(source="published_post_id", allow_null=True)
    unknown_words = serializers.SerializerMethodField()
    prompt_note = serializers.SerializerMethodField()

    class Meta:
        ref_name = "GenerationJob"

    def _status(self, job: GenerationJob) -> dict[str, Any]:
        # Progress, place in line and ETA come from one job_status() per job, not three.
        cache: dict[Any, dict[str, Any]] = self.__dict__.setdefault("_status_cache", {})
        if job.pk not in cache:
            cache[job.pk] = job_status(job=job)
        return cache[job.pk]

    def get_progress(self, job: GenerationJob) -> dict[str, int]:
        """Denoising steps done of the total."""
        return cast(dict[str, int], self._status(job)["progress"])

    def get_queue_position(self, job: GenerationJob) -> int | None:
        """1 when a worker takes it next; null once it left the queue."""
        return cast(int | None, self._status(job)["queue_position"])

    def get_eta_seconds(self, job: GenerationJob) -> float | None:
        """Seconds until ready, from recent run times; null when unknown."""
        return cast(float | None, self._status(job)["eta_seconds"])

    def get_unknown_words(self, job: GenerationJob) -> list[str]:
        """The prompt's words its model never learnt ([] for a model that takes any prompt);
        the job is made all the same."""
        guide = model_guide(job.model_key)
        return guide.unknown(job.prompt) if guide else []

    def get_prompt_note(self, job: GenerationJob) -> str:
        """Those words in a sentence, as the create page says them: "riff-house draws
        coloured shapes; it won't draw: dog, surfing." ("" when there are none)."""
        guide = model_guide(job.model_key)
        return guide.note(job.model_key, job.prompt) if guide else ""

    def get_video_url(self, job: GenerationJob) -> str | None:
        """The finished MP4, while it is a draft."""
        return absolute_url(self.context["request"], media_url(job.video, viewer=job.owner))

    def get_poster_url(self, job: GenerationJob) -> str | None:
        """The poster frame, while it is a draft."""
        return absolute_url(self.context["request"], media_url(job.poster, viewer=job.owner))


class JobInputSerializer(serializers.Serializer):
    """What to make."""

    prompt = StrictCharField(max_length=2000)
    negative_prompt = StrictCharField(max_length=1000, required=False, default="")
    model_key = serializers.ChoiceField(choices=[], required=False)
    aspect = serializers.ChoiceField(
        choices=GenerationJob.Aspect.choices, default=GenerationJob.Aspect.PORTRAIT
    )
    duration_s = StrictFloatField(min_value=0.5, max_value=10.0, default=2.0)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False)
    steps = serializers.IntegerField(min_value=1, max_value=100, default=20)
    guidance = StrictFloatField(min_value=0.0, max_value=20.0, default=5.0)
    strength = StrictFloatField(
        min_value=0.05,
        max_value=1.0,
        default=0.6,
        help_text="For a remix: how far the new clip may move away from its source.",
    )

    class Meta:
        ref_name = "GenerationJobIn"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """The models the caller may choose (see models_offered), and how long a clip may be.

        Without a request (the schema), those offered to people: installed, and no test
        models. The length's maximum is the longest any of them makes; each model's own
        limit is in the description, and GET /api/v1/generations/models/ lists them.
        """
        super().__init__(*args, **kwargs)
        field = cast(serializers.ChoiceField, self.fields["model_key"])
        request = self.context.get("request")
        offered = models_offered(user=request.user if request is not None else None)
        field.choices = offered
        field.error_messages["invalid_choice"] = (
            "“{input}” isn't available on this Riff; ask GET /api/v1/generations/models/ "
            "for those that are."
        )
        limits = ", ".join(f"{key}: {model_limit_seconds(key):g} s" for key in offered)
        longest = models_limit_seconds(offered)
        self.fields["duration_s"] = StrictFloatField(
            min_value=0.5,
            max_value=longest,
            default=2.0,
            help_text=f"Seconds, at most the chosen model's longest clip ({limits or 'none'}).",
            error_messages={
                "max_value": f"No model here makes clips longer than {longest:g} seconds "
                f"({limits}); ask for less."
            },
        )
        caps = ", ".join(f"{key}: {model_max_steps(key)}" for key in offered)
        self.fields["steps"] = serializers.IntegerField(
            min_value=1,
            max_value=100,
            default=20,
            help_text=f"Denoising steps, at most the chosen model's cap ({caps or 'none'}).",
        )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Without a model named, the instance's default, or the first one offered; a length,
        steps and shape within the model's caps."""
        if "model_key" not in attrs:
            offered = list(cast(serializers.ChoiceField, self.fields["model_key"]).choices)
            if not offered:
                raise serializers.ValidationError(
                    {"model_key": ["No model is available on this Riff right now."]}
                )
            default = settings.RIFF_DEFAULT_MODEL
            attrs["model_key"] = default if default in offered else offered[0]
        refusals = job_refusals(
            model_key=attrs["model_key"],
            aspect=attrs["aspect"],
            duration_s=attrs["duration_s"],
            steps=attrs["steps"],
        )
        if refusals:
            raise serializers.ValidationError({k: [v] for k, v in refusals.items()})
        return attrs


# A job's fields by the names the API gives them.
API_NAMES = {"source_post_id": "remix_of"}


def job_create_response(request: Request, *, source: services.RemixSource | None) -> Response:
    """Validate the request, queue the job and answer 201 (200 for an idempotent retry).

    Policy refusals are 400 naming the rule and category, with where to appeal; a used-up
    allowance is 429; an Idempotency-Key already used for another request is 422.
    """
    owner = cast(User, request.user)
    data = JobInputSerializer(data=request.data, context={"request": request})
    data.is_valid(raise_exception=True)
    params = dict(data.validated_data)
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 100:
        raise serializers.ValidationError({"Idempotency-Key": ["At most 100 characters."]})
    replay = bool(key) and GenerationJob.objects.filter(owner=owner, idempotency_key=key).exists()
    try:
        job = services.generation_job_create(
            owner=owner,
            prompt=params.pop("prompt"),
            negative_prompt=params.pop("negative_prompt"),
            params=params,
            source=source,
            idempotency_key=key,
        )
    except services.GenerationRefused as exc:
        raise serializers.ValidationError(
            {
                "prompt": exc.messages,
                "rule": exc.rule,
                "category": exc.category,
                "appeal_url": absolute_url(request, exc.appeal_url),
            }
        ) from exc
    except services.QuotaExceeded as exc:
        raise Throttled(detail=exc.messages[0]) from exc
    except services.IdempotencyConflict as exc:
        return Response(
            {
                "detail": f"The Idempotency-Key “{key}” was already used for another request "
                f"(it differs in: {', '.join(API_NAMES.get(n, n) for n in exc.differs)}). Send "
                "the same request to get that job back, or a new key to start a new one.",
                "job": str(exc.job.pk),
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    body = JobOutputSerializer(job, context={"request": request}).data
    return Response(body, status=status.HTTP_200_OK if replay else status.HTTP_201_CREATED)
