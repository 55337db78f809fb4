"""The worker's side of a job: claim it, run the pipeline step by step, encode, store."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import av
import numpy as np
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image

from moderation.content_credentials import Parent, SigningUnavailable, sign_clip
from moderation.hashbank import fingerprint_record
from moderation.provenance import clip_read
from moderation.watermark import mark_frames

from .backends import GenerationAborted, GenerationSpec, WeightsMissing, get_backend
from .models import GenerationJob
from .progress import publish
from .services import Failure, State, job_retry_or_fail, job_transition
from .video import encode_mp4, poster_jpeg, probe

log = logging.getLogger(__name__)

DEFAULT_SIZES = {
    "wan": {"9:16": (480, 832), "16:9": (832, 480), "1:1": (624, 624)},
    "ltx": {"9:16": (512, 768), "16:9": (768, 512), "1:1": (640, 640)},
    # Display sizes: the house model's square clips are upscaled and centred on a blurred fill.
    "house": {"9:16": (512, 912), "16:9": (912, 512), "1:1": (512, 512)},
}
# The house model's display rate; its own frames are 4 fps apart (generation/house/display.py).
DEFAULT_FPS = {"wan": 16, "ltx": 24, "house": 24}


class JobCancelled(GenerationAborted):
    """Its owner cancelled the job while it ran."""


class JobTimedOut(GenerationAborted):
    """The job ran past GENERATION_TIMEOUT_S."""


class InfrastructureError(RuntimeError):
    """Our fault, worth another attempt: the task retries the job."""


def _claim(job_id: str, worker: str) -> GenerationJob | None:
    """Take a queued job for this worker; None when it is not ours to run (any more).

    A task delivered twice, or after the job finished or was cancelled, finds the job
    in another state and does nothing: a job runs to completion at most once.
    """
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state != State.QUEUED:
            return None
        if job.cancel_requested:
            job_transition(
                job=job, to=State.CANCELLED, failure=Failure.CANCELLED, message="You cancelled it."
            )
            return None
        return job_transition(
            job=job, to=State.RUNNING, attempts=job.attempts + 1, worker=worker, progress_step=0
        )


def _finish(job_id: str, to: str, failure: str = "", message: str = "", **changes: Any) -> None:
    """Move a running job to `to`, unless someone (the sweeper) already moved it on."""
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().get(pk=job_id)
        if job.state in (State.RUNNING, State.ENCODING):
            job_transition(job=job, to=to, failure=failure, message=message, **changes)
    publish(job_id)


def spec_for(
    *,
    model_key: str,
    prompt: str,
    aspect: str,
    duration_s: float,
    steps: int,
    guidance: float,
    seed: int,
    negative_prompt: str = "",
) -> GenerationSpec:
    """The spec a job with these settings runs: size and frame rate from RIFF_MODELS."""
    config = settings.RIFF_MODELS[model_key]
    family = config["family"]
    sizes = config.get("sizes") or DEFAULT_SIZES[family]
    width, height = sizes[aspect]
    fps = int(config.get("fps") or DEFAULT_FPS[family])
    return GenerationSpec(
        prompt=prompt,
        negative_prompt=negative_prompt,
        width=width,
        height=height,
        num_frames=max(1, round(duration_s * fps)),
        fps=fps,
        steps=steps,
        guidance=guidance,
        seed=seed,
    )


def _spec(job: GenerationJob) -> GenerationSpec:
    spec = spec_for(
        model_key=job.model_key,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        aspect=job.aspect,
        duration_s=job.duration_s,
        steps=job.steps,
        guidance=job.guidance,
        seed=job.seed,
    )
    if not job.source_video:
        return spec
    source = _source_frames(job, spec.width, spec.height)
    return replace(spec, source_frames=source, strength=job.strength)


def _source_frames(job: GenerationJob, width: int, height: int) -> np.ndarray:
    """The remixed clip's frames, resized to the new clip's size."""
    if not default_storage.exists(job.source_video):
        raise GenerationAborted("The clip you remixed has been deleted, so it can't be used.")
    frames = []
    with (
        default_storage.open(job.source_video, "rb") as handle,
        av.open(handle, mode="r") as container,
    ):
        for frame in container.decode(video=0):
            image = (
                frame.to_image().convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
            )
            frames.append(np.asarray(image))
    return np.stack(frames)


def job_run(*, job_id: str, worker: str) -> None:
    """Run one job to a final state; raises InfrastructureError when it should be retried."""
    job = _claim(job_id, worker)
    if job is None:
        return
    publish(job_id)
    deadline = timezone.now() + timedelta(seconds=settings.GENERATION_TIMEOUT_S)

    def on_step(step: int, total: int) -> None:
        now = timezone.now()
        GenerationJob.objects.filter(pk=job_id).update(
            progress_step=step, progress_total=total, heartbeat_at=now
        )
        publish(job_id)
        if GenerationJob.objects.filter(pk=job_id, cancel_requested=True).exists():
            raise JobCancelled("cancelled")
        if now > deadline:
            raise JobTimedOut("timed out")

    try:
        backend = get_backend(job.model_key)
        spec = backend.fit(_spec(job))
        frames = backend.generate(spec, on_step)
    except JobCancelled:
        _finish(job_id, State.CANCELLED, Failure.CANCELLED, "You cancelled it.")
        return
    except JobTimedOut:
        _finish(
            job_id,
            State.TIMED_OUT,
            Failure.TIMEOUT,
            "This clip took longer than we allow and was stopped. It didn't count against "
            "your allowance.",
        )
        return
    except WeightsMissing as exc:
        # Not worth retrying. Where the weights should be, and how to get them, is for the
        # administrator (the log, `manage.py check`); the person is told the model is missing.
        log.error("job %s cannot run: %s", job_id, exc)
        _finish(job_id, State.FAILED, Failure.INFRASTRUCTURE, model_missing_message(job))
        return
    except GenerationAborted as exc:
        # Not worth retrying either: the clip being remixed is gone.
        log.error("job %s cannot run: %s", job_id, exc)
        _finish(job_id, State.FAILED, Failure.INFRASTRUCTURE, str(exc))
        return
    except Exception as exc:
        log.exception("job %s failed in the pipeline", job_id)
        _give_back_or_fail(job_id, exc)
        raise InfrastructureError(str(exc)) from exc
    try:
        _encode_and_store(job_id, frames, spec.fps)
    except SigningUnavailable as exc:
        # A setup fault that another attempt can't fix: say so, don't retry.
        log.error("job %s cannot be signed: %s", job_id, exc)
        _finish(
            job_id,
            State.FAILED,
            Failure.INFRASTRUCTURE,
            "This Riff can't sign clips right now, so it can't publish them as AI-made; its "
            "administrator has been told. It didn't count against your allowance.",
        )
    except Exception as exc:
        log.exception("job %s failed while encoding", job_id)
        _give_back_or_fail(job_id, exc)
        raise InfrastructureError(str(exc)) from exc


def model_missing_message(job: GenerationJob) -> str:
    """What a person is told when their job's model isn't installed: no paths, no commands."""
    label = settings.RIFF_MODELS.get(job.model_key, {}).get("label", job.model_key)
    return (
        f"{label} isn't available on this Riff right now, so this clip couldn't be made; "
        "its administrator has been told. It didn't count against your allowance."
    )


def _give_back_or_fail(job_id: str, exc: Exception) -> None:
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().get(pk=job_id)
        if job.state not in (State.RUNNING, State.ENCODING):
            return
        job_retry_or_fail(
            job=job,
            reason="Something went wrong on our side while making this clip "
            f"({type(exc).__name__}). It didn't count against your allowance.",
        )
    publish(job_id)


def _parent(job: GenerationJob) -> Parent | None:
    """A remix's source clip, to name as the parent in the new clip's credentials."""
    if not job.source_video or not default_storage.exists(job.source_video):
        return None
    with default_storage.open(job.source_video, "rb") as handle:
        return Parent(video=handle.read(), title=f"Riff post {job.source_post_id}")


def _encode_and_store(job_id: str, frames: np.ndarray, fps: int) -> None:
    """Fingerprint, mark, encode and sign the clip, store it and its poster, mark it succeeded.

    The fingerprint is taken before the label is drawn, so that the same pixels made by
    someone else still match the hash bank. Provenance comes after the last pixel change and
    the signature after the final encode: any later re-encode would drop the manifest.
    """
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().get(pk=job_id)
        if job.state != State.RUNNING:
            return
        job_transition(job=job, to=State.ENCODING)
    publish(job_id)
    handle = GenerationJob.objects.values_list("owner__username", flat=True).get(pk=job_id)
    fingerprint_record(job_id=job_id, frames=frames)
    frames = mark_frames(frames, payload=job.watermark_id, label=f"AI · @{handle}")
    data = sign_clip(
        encode_mp4(frames, fps=fps),
        title=f"Riff clip by @{handle}",
        clip_id=str(job.pk),
        model_key=job.model_key,
        parent=_parent(job),
    )
    info = probe(io.BytesIO(data))
    # Read back as anyone checking the clip would: its post's credentials page shows this.
    reading = clip_read(io.BytesIO(data)).as_json()
    stored: list[str] = []
    try:
        with transaction.atomic():
            job = GenerationJob.objects.select_for_update().get(pk=job_id)
            if job.state != State.ENCODING:
                return
            if job.cancel_requested:
                job_transition(
                    job=job,
                    to=State.CANCELLED,
                    failure=Failure.CANCELLED,
                    message="You cancelled it.",
                )
                return
            job.video.save("clip.mp4", ContentFile(data), save=False)
            stored.append(job.video.name or "")
            job.poster.save("poster.jpg", ContentFile(poster_jpeg(frames[0])), save=False)
            stored.append(job.poster.name or "")
            job_transition(
                job=job,
                to=State.SUCCEEDED,
                video=job.video,
                poster=job.poster,
                width=info.width,
                height=info.height,
                frame_count=info.frames,
                fps=fps,
                video_duration_s=info.duration_s,
                video_bytes=len(data),
                clip_reading=reading,
                progress_step=job.progress_total,
            )
    except Exception:
        # Nothing half-written: files stored before the failure go with it.
        for name in stored:
            default_storage.delete(name)
        raise
    publish(job_id)
