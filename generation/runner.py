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
from .lease import Lease, LeaseLost
from .models import GenerationJob
from .progress import publish
from .selectors import job_refusals, model_fps, model_size
from .services import Failure, State, job_retry_or_fail, job_transition
from .video import encode_mp4, poster_jpeg, probe

log = logging.getLogger(__name__)


class JobCancelled(GenerationAborted):
    """Its owner cancelled the job while it ran."""


class JobTimedOut(GenerationAborted):
    """The job ran past GENERATION_TIMEOUT_S."""


class InfrastructureError(RuntimeError):
    """Our fault, worth another attempt: the task retries the job."""


def _claim(job_id: str, worker: str) -> GenerationJob | None:
    """Take a queued job for this worker under a new attempt (its lease); None when it is not
    ours to run (any more).

    A task delivered twice (the sweeper re-sends jobs that wait long), or after the job was
    taken, finished or cancelled, finds the job in another state and does nothing: a job
    runs at most once at a time, and to completion at most once.
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


def _finish(lease: Lease, to: str, failure: str = "", message: str = "", **changes: Any) -> None:
    """Move the job to `to`, if this runner still holds it."""
    with transaction.atomic():
        job = lease.lock()
        if job is None:
            return
        job_transition(job=job, to=to, failure=failure, message=message, **changes)
    publish(lease.job_id)


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
    width, height = model_size(model_key, aspect)
    fps = model_fps(model_key)
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
    """Run one job to a final state; raises InfrastructureError when it should be retried.

    From the claim to the last write the job is held on a lease that a heartbeat thread
    renews; a runner that finds it lost (the sweeper took it back, another worker claimed it)
    stops there and writes nothing more.
    """
    job = _claim(job_id, worker)
    if job is None:
        return
    publish(job_id)
    with Lease(job_id=job_id, worker=worker, attempt=job.attempts) as lease:
        try:
            _run(job, lease)
        except LeaseLost:
            log.warning("job %s: %s gave it up, its lease was taken", job_id, worker)


def _run(job: GenerationJob, lease: Lease) -> None:
    job_id = lease.job_id
    refusals = job_refusals(
        model_key=job.model_key, aspect=job.aspect, duration_s=job.duration_s, steps=job.steps
    )
    if refusals:
        # Queued before the model's caps were lowered: it is not run past them.
        _finish(lease, State.FAILED, Failure.INFRASTRUCTURE, " ".join(refusals.values()))
        return
    deadline = timezone.now() + timedelta(seconds=settings.GENERATION_TIMEOUT_S)

    def on_step(step: int, total: int) -> None:
        if not lease.update(progress_step=step, progress_total=total):
            raise LeaseLost(f"job {job_id}: lost its lease at step {step}")
        publish(job_id)
        if GenerationJob.objects.filter(pk=job_id, cancel_requested=True).exists():
            raise JobCancelled("cancelled")
        if timezone.now() > deadline:
            raise JobTimedOut("timed out")

    try:
        backend = get_backend(job.model_key)
        lease.renew()  # a cold load may have outlasted the lease, were the heartbeat to stop
        spec = backend.fit(_spec(job))
        frames = backend.generate(spec, on_step)
        lease.renew()
    except LeaseLost:
        raise
    except JobCancelled:
        _finish(lease, State.CANCELLED, Failure.CANCELLED, "You cancelled it.")
        return
    except JobTimedOut:
        _finish(
            lease,
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
        _finish(lease, State.FAILED, Failure.INFRASTRUCTURE, model_missing_message(job))
        return
    except GenerationAborted as exc:
        # Not worth retrying either: the clip being remixed is gone.
        log.error("job %s cannot run: %s", job_id, exc)
        _finish(lease, State.FAILED, Failure.INFRASTRUCTURE, str(exc))
        return
    except Exception as exc:
        log.exception("job %s failed in the pipeline", job_id)
        if _give_back_or_fail(lease, exc):
            raise InfrastructureError(str(exc)) from exc
        return
    try:
        _encode_and_store(job, lease, frames, spec.fps)
    except LeaseLost:
        raise
    except SigningUnavailable as exc:
        # A setup fault that another attempt can't fix: say so, don't retry.
        log.error("job %s cannot be signed: %s", job_id, exc)
        _finish(
            lease,
            State.FAILED,
            Failure.INFRASTRUCTURE,
            "This Riff can't sign clips right now, so it can't publish them as AI-made; its "
            "administrator has been told. It didn't count against your allowance.",
        )
    except Exception as exc:
        log.exception("job %s failed while encoding", job_id)
        if _give_back_or_fail(lease, exc):
            raise InfrastructureError(str(exc)) from exc


def model_missing_message(job: GenerationJob) -> str:
    """What a person is told when their job's model isn't installed: no paths, no commands."""
    label = settings.RIFF_MODELS.get(job.model_key, {}).get("label", job.model_key)
    return (
        f"{label} isn't available on this Riff right now, so this clip couldn't be made; "
        "its administrator has been told. It didn't count against your allowance."
    )


def _give_back_or_fail(lease: Lease, exc: Exception) -> bool:
    """Give the job back for another attempt, or fail it at the last; False when it isn't
    this runner's any more (then the task has nothing to retry)."""
    with transaction.atomic():
        job = lease.lock()
        if job is None:
            return False
        job_retry_or_fail(
            job=job,
            reason="Something went wrong on our side while making this clip "
            f"({type(exc).__name__}). It didn't count against your allowance.",
        )
    publish(lease.job_id)
    return True


def _parent(job: GenerationJob) -> Parent | None:
    """A remix's source clip, to name as the parent in the new clip's credentials."""
    if not job.source_video or not default_storage.exists(job.source_video):
        return None
    with default_storage.open(job.source_video, "rb") as handle:
        return Parent(video=handle.read(), title=f"Riff post {job.source_post_id}")


def _encode_and_store(job: GenerationJob, lease: Lease, frames: np.ndarray, fps: int) -> None:
    """Mark, encode and sign the clip, store it and its poster, then record it as succeeded.

    Files are stored outside any transaction (an upload can take long, and must not hold
    the job's row); a short transaction then checks the lease and commits the state, with
    the clip's fingerprint. Stored files are deleted when that doesn't happen. The
    fingerprint is taken of the frames before the label is drawn, so that the same pixels
    made by someone else still match the hash bank. Provenance comes after the last pixel
    change and the signature after the final encode: any later re-encode would drop the
    manifest.
    """
    job_id = lease.job_id
    with transaction.atomic():
        held = lease.lock()
        if held is None or held.state != State.RUNNING:
            raise LeaseLost(f"job {job_id}: lost its lease before encoding")
        job_transition(job=held, to=State.ENCODING)
    publish(job_id)
    handle = GenerationJob.objects.values_list("owner__username", flat=True).get(pk=job_id)
    unmarked = frames
    frames = mark_frames(frames, payload=job.watermark_id, label=f"AI · @{handle}", fps=fps)
    data = sign_clip(
        encode_mp4(frames, fps=fps),
        title=f"Riff clip by @{handle}",
        clip_id=str(job.pk),
        model_key=job.model_key,
        parent=_parent(job),
        watermark_id=job.watermark_id,
    )
    info = probe(io.BytesIO(data))
    # Read back as anyone checking the clip would: its post's credentials page shows this.
    reading = clip_read(io.BytesIO(data)).as_json()
    poster = poster_jpeg(frames[0])
    lease.renew()
    stored: list[str] = []
    outcome = ""
    try:
        stored = _store_files(job, video=data, poster=poster)
        with transaction.atomic():
            held = lease.lock()
            if held is None or held.state != State.ENCODING:
                outcome = "lost"
            elif held.cancel_requested:
                outcome = "cancelled"
                job_transition(
                    job=held,
                    to=State.CANCELLED,
                    failure=Failure.CANCELLED,
                    message="You cancelled it.",
                )
            else:
                fingerprint_record(job_id=job_id, frames=unmarked, published=frames)
                job_transition(
                    job=held,
                    to=State.SUCCEEDED,
                    video=stored[0],
                    poster=stored[1],
                    width=info.width,
                    height=info.height,
                    frame_count=info.frames,
                    fps=fps,
                    video_duration_s=info.duration_s,
                    video_bytes=len(data),
                    clip_reading=reading,
                    progress_step=held.progress_total,
                )
                outcome = "succeeded"
    finally:
        if outcome != "succeeded":
            # Nothing half-written: files stored for a clip that wasn't recorded go with it.
            for name in stored:
                default_storage.delete(name)
    if outcome == "lost":
        raise LeaseLost(f"job {job_id}: lost its lease while encoding")
    publish(job_id)


def _store_files(job: GenerationJob, *, video: bytes, poster: bytes) -> list[str]:
    """Store the clip and its poster under new random names; [video, poster] as stored.

    Should the second fail, the first is deleted before the error goes on.
    """
    stored: list[str] = []
    try:
        for field, name, content in (
            (job.video, "clip.mp4", video),
            (job.poster, "poster.jpg", poster),
        ):
            field.save(name, ContentFile(content), save=False)
            stored.append(field.name or "")
    except Exception:
        for name in stored:
            default_storage.delete(name)
        raise
    return stored
