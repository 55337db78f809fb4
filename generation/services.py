"""Writes for generation: creating jobs, moving them through their states, drafts."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from moderation.policy import prompt_verdict

from . import events
from .lease import lease_expiry
from .models import GenerationJob, new_watermark_id
from .selectors import job_refusals, quota_limits, quota_usage

State = GenerationJob.State
Failure = GenerationJob.Failure

# Failures that are ours give the allowance back; policy refusals and cancels do not.
REFUNDED_FAILURES = {Failure.INFRASTRUCTURE, Failure.TIMEOUT}


class InvalidTransition(RuntimeError):
    """A state change the job's graph does not declare."""


class GenerationRefused(ValidationError):
    """The prompt policy refused the prompt; nothing was queued.

    Carries the recorded refusal's id and where to appeal it (for a suspended account, the
    notices page, where the suspension itself can be appealed).
    """

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        category: str,
        refusal_id: int | None = None,
        appeal_url: str = "",
    ) -> None:
        super().__init__(message, code="policy")
        self.rule = rule
        self.category = category
        self.refusal_id = refusal_id
        self.appeal_url = appeal_url


class QuotaExceeded(ValidationError):
    """The person has used their allowance; nothing was queued."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="quota")


class IdempotencyConflict(ValidationError):
    """A request's idempotency key already started a job that asked for something else."""

    def __init__(self, *, job: GenerationJob, differs: list[str]) -> None:
        super().__init__(
            "This request was already sent once with other settings, and that started another "
            "clip; start a new one to make this.",
            code="idempotency",
        )
        self.job = job
        self.differs = differs


@dataclass(frozen=True)
class RemixSource:
    """The clip a remix starts from: its post's id, video (storage name) and seed."""

    post_id: int
    video: str
    seed: int | None = None


def job_transition(
    *, job: GenerationJob, to: str, failure: str = "", message: str = "", **changes: Any
) -> GenerationJob:
    """Move a job along its declared graph; the only place that sets `state`.

    The caller holds the row (select_for_update inside a transaction) so two workers, or a
    worker and the sweeper, can't both move it.
    """
    if to not in GenerationJob.TRANSITIONS[job.state]:
        raise InvalidTransition(f"A {job.state} job cannot become {to}.")
    now = timezone.now()
    fields = {"state", *changes}
    job.state = to
    for name, value in changes.items():
        setattr(job, name, value)
    if to == State.RUNNING:
        # A claim: the lease is the caller's (worker, attempts) until it runs out.
        job.started_at = job.heartbeat_at = now
        job.lease_expires_at = lease_expiry(now)
        fields |= {"started_at", "heartbeat_at", "lease_expires_at"}
    elif to == State.QUEUED:
        # Put back for another attempt: it waits in line again from now, and whoever put it
        # back sends its task again.
        job.queued_at = job.sent_at = now
        job.started_at = job.heartbeat_at = job.lease_expires_at = None
        job.progress_step = 0
        fields |= {
            "queued_at",
            "sent_at",
            "started_at",
            "heartbeat_at",
            "lease_expires_at",
            "progress_step",
        }
    elif to in (State.SUCCEEDED, State.FAILED, State.CANCELLED, State.TIMED_OUT):
        job.finished_at = now
        fields.add("finished_at")
    if failure:
        job.failure, job.failure_message = failure, message
        job.quota_refunded = failure in REFUNDED_FAILURES
        fields |= {"failure", "failure_message", "quota_refunded"}
    job.save(update_fields=sorted(fields))
    if to not in GenerationJob.ACTIVE:
        events.job_finished.emit(job=job)
    return job


def job_retry_or_fail(*, job: GenerationJob, reason: str) -> GenerationJob:
    """Give a held running job back to the queue, or fail it with `reason` at its last attempt.

    Whoever gave it back sends it on again: the sweeper enqueues it, a worker's task retries.
    """
    if job.attempts < settings.GENERATION_MAX_ATTEMPTS:
        return job_transition(job=job, to=State.QUEUED, worker="")
    return job_transition(job=job, to=State.FAILED, failure=Failure.INFRASTRUCTURE, message=reason)


def _enqueue(job: GenerationJob) -> None:
    from .tasks import run_generation_job

    job_id = str(job.pk)
    transaction.on_commit(lambda: run_generation_job.delay(job_id))


def _model_config(model_key: str) -> dict[str, Any]:
    config = settings.RIFF_MODELS.get(model_key)
    if config is None:
        raise ValidationError({"model_key": f"There is no model called “{model_key}” here."})
    return config


def generation_job_create(
    *,
    owner: User,
    prompt: str,
    params: dict[str, Any],
    negative_prompt: str = "",
    source: RemixSource | None = None,
    idempotency_key: str = "",
) -> GenerationJob:
    """Check the prompt and the allowance, then queue a job; the task is sent on commit.

    `params` holds model_key, aspect, duration_s, steps, guidance and optionally seed and
    strength. The same idempotency key from the same person with the same request returns
    the first job; with another request, IdempotencyConflict.
    """
    prompt, negative_prompt = prompt.strip(), negative_prompt.strip()
    asked = _asked(prompt=prompt, negative_prompt=negative_prompt, params=params, source=source)
    if idempotency_key:
        existing = _job_for_key(owner=owner, idempotency_key=idempotency_key, asked=asked)
        if existing is not None:
            return existing
    # Outside the transaction below: the refusal the policy records must outlive the
    # rollback that raising GenerationRefused would cause, or there is nothing to appeal.
    verdict = prompt_verdict(user=owner, prompt=prompt, negative_prompt=negative_prompt)
    if not verdict.allowed:
        raise GenerationRefused(
            verdict.message,
            rule=verdict.rule,
            category=verdict.category,
            refusal_id=verdict.refusal_id,
            appeal_url=verdict.appeal_url,
        )
    return _job_queue(owner=owner, asked=asked, source=source, idempotency_key=idempotency_key)


def _asked(
    *, prompt: str, negative_prompt: str, params: dict[str, Any], source: RemixSource | None
) -> dict[str, Any]:
    """The job fields a request asks for, defaults filled in (the seed only when named)."""
    asked = {
        "prompt": prompt,
        "negative_prompt": negative_prompt,
        "model_key": params.get("model_key") or settings.RIFF_DEFAULT_MODEL,
        "aspect": params.get("aspect") or GenerationJob.Aspect.PORTRAIT,
        "duration_s": params.get("duration_s", 2.0),
        "steps": params.get("steps", 20),
        "guidance": params.get("guidance", 5.0),
        "strength": params.get("strength", 0.6),
        "source_post_id": source.post_id if source else None,
    }
    if params.get("seed") is not None:
        asked["seed"] = params["seed"]
    return asked


def _job_for_key(
    *, owner: User, idempotency_key: str, asked: dict[str, Any]
) -> GenerationJob | None:
    """The job this key already started, if the request is the same; IdempotencyConflict if not."""
    job = GenerationJob.objects.filter(owner=owner, idempotency_key=idempotency_key).first()
    if job is None:
        return None
    differs = [name for name, value in asked.items() if getattr(job, name) != value]
    if differs:
        raise IdempotencyConflict(job=job, differs=differs)
    return job


@transaction.atomic
def _job_queue(
    *,
    owner: User,
    asked: dict[str, Any],
    source: RemixSource | None,
    idempotency_key: str,
) -> GenerationJob:
    """Count the allowance and queue an allowed prompt's job (`asked`: see _asked)."""
    _model_config(asked["model_key"])  # raises for a model that isn't configured
    refusals = job_refusals(
        model_key=asked["model_key"],
        aspect=asked["aspect"],
        duration_s=asked["duration_s"],
        steps=asked["steps"],
    )
    if refusals:
        raise ValidationError(refusals)
    # One person's jobs are counted under a lock on their row, so two tabs can't both
    # take the last slot.
    User.objects.select_for_update().filter(pk=owner.pk).first()
    if idempotency_key:
        # Looked up again under the lock: the same request sent twice at once may have
        # passed the first look-up together while the policy was being checked.
        existing = _job_for_key(owner=owner, idempotency_key=idempotency_key, asked=asked)
        if existing is not None:
            return existing
    daily, concurrent = quota_limits(user=owner)
    used_today, active = quota_usage(user=owner)
    if active >= concurrent:
        raise QuotaExceeded(
            f"You already have {active} clip{'s' if active != 1 else ''} in the works "
            f"(the limit is {concurrent}). Wait for one to finish or cancel it."
        )
    if used_today >= daily:
        raise QuotaExceeded(
            f"You've made {used_today} clips in the last 24 hours, your daily allowance. "
            "It frees up as those clips age past a day."
        )

    seed = asked.get("seed")
    if seed is None:
        seed = source.seed if source and source.seed is not None else random.getrandbits(31)
    job = GenerationJob(
        owner=owner,
        **{**asked, "seed": seed},
        source_video=source.video if source else "",
        idempotency_key=idempotency_key,
    )
    # 48 random bits: a clash is rare but real over millions of clips, so draw again.
    while GenerationJob.objects.filter(watermark_id=job.watermark_id).exists():
        job.watermark_id = new_watermark_id()
    job.full_clean()
    job.save()
    _enqueue(job)
    return job


@transaction.atomic
def job_cancel(*, job: GenerationJob, actor: User) -> GenerationJob:
    """Cancel a job: at once while queued, at the worker's next step once running."""
    if job.owner_id != actor.pk:
        raise PermissionDenied("Only the person who started this clip can cancel it.")
    job = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if not job.is_active:
        raise ValidationError(f"This clip is already {job.get_state_display().lower()}.")
    if job.state == State.QUEUED:
        return job_transition(
            job=job, to=State.CANCELLED, failure=Failure.CANCELLED, message="You cancelled it."
        )
    job.cancel_requested = True
    job.save(update_fields=["cancel_requested"])
    return job


@dataclass(frozen=True)
class _SweepLimits:
    """One sweep's clock: now, and the times before which a job waited or ran too long."""

    now: datetime
    ran_since: datetime
    queued_since: datetime
    sent_since: datetime


def jobs_sweep() -> dict[str, int]:
    """Take back expired leases, send again what waits long, time out what waited or ran too
    long. Runs periodically (Celery beat); nothing stays queued or running forever.

    Only a job whose lease ran out is given back (or failed at its last attempt): a worker
    whose heartbeat renews its lease keeps its job however long the model takes to load.
    A job queued for GENERATION_RESEND_QUEUED_S since its task was last sent is sent again,
    since a broker that lost the message would leave it waiting until it timed out; a
    second delivery finds the job taken and does nothing.
    """
    now = timezone.now()
    counts = {"requeued": 0, "failed": 0, "timed_out": 0, "resent": 0}
    limits = _SweepLimits(
        now=now,
        ran_since=now - timedelta(seconds=settings.GENERATION_TIMEOUT_S),
        queued_since=now - timedelta(seconds=settings.GENERATION_QUEUE_TIMEOUT_S),
        sent_since=now - timedelta(seconds=settings.GENERATION_RESEND_QUEUED_S),
    )
    lease_gone = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    due = (
        Q(state=State.QUEUED, queued_at__lt=limits.queued_since)
        | Q(state=State.QUEUED, sent_at__lt=limits.sent_since)
        | (
            Q(state__in=(State.RUNNING, State.ENCODING))
            & (Q(started_at__lt=limits.ran_since) | lease_gone)
        )
    )
    for pk in list(GenerationJob.objects.filter(due).values_list("pk", flat=True)):
        with transaction.atomic():
            job = GenerationJob.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if job is None or not job.is_active:
                continue
            outcome = _sweep_one(job, limits)
            if outcome:
                counts[outcome] += 1
    return counts


def _sweep_one(job: GenerationJob, limits: _SweepLimits) -> str:
    """What the sweeper does with one held, active job; the count it adds to ("" for none)."""
    if job.state == State.QUEUED:
        if job.queued_at < limits.queued_since:
            job_transition(
                job=job,
                to=State.TIMED_OUT,
                failure=Failure.TIMEOUT,
                message="No worker was free to make this clip in time. It didn't count "
                "against your allowance; try again later.",
            )
            return "timed_out"
        if job.sent_at < limits.sent_since:
            job.sent_at = limits.now
            job.save(update_fields=["sent_at"])
            _enqueue(job)
            return "resent"
        return ""
    if job.started_at and job.started_at < limits.ran_since:
        job_transition(
            job=job,
            to=State.TIMED_OUT,
            failure=Failure.TIMEOUT,
            message="This clip took longer than we allow and was stopped. It didn't "
            "count against your allowance.",
        )
        return "timed_out"
    if job.lease_expires_at is not None and job.lease_expires_at >= limits.now:
        return ""  # its worker renewed the lease since the sweep began
    job = job_retry_or_fail(
        job=job,
        reason="The machine making this clip stopped answering, several times. "
        "It didn't count against your allowance.",
    )
    if job.state == State.QUEUED:
        _enqueue(job)
        return "requeued"
    return "failed"


@transaction.atomic
def draft_discard(*, job: GenerationJob, actor: User) -> None:
    """Throw a draft away, its files with it (once the change is committed)."""
    if job.owner_id != actor.pk:
        raise PermissionDenied("Only the person who made this draft can delete it.")
    job = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if not job.is_draft:
        raise ValidationError("Only a finished, unposted clip can be deleted as a draft.")
    files = [f.name for f in (job.video, job.poster) if f and f.name]
    storage = job.video.storage
    job.discarded_at = timezone.now()
    job.video, job.poster = "", ""
    job.save(update_fields=["discarded_at", "video", "poster"])

    def remove_files() -> None:
        for name in files:
            storage.delete(name)

    transaction.on_commit(remove_files)


def draft_lock(*, job: GenerationJob, actor: User) -> GenerationJob:
    """Hold a draft for posting (inside the caller's transaction); refuse anything else."""
    if job.owner_id != actor.pk:
        raise PermissionDenied("Only the person who made this draft can post it.")
    job = GenerationJob.objects.select_for_update().get(pk=job.pk)
    if not job.is_draft:
        raise ValidationError("This clip has already been posted or deleted.")
    return job


def draft_mark_published(*, job: GenerationJob, post_id: int) -> None:
    """Record that a held draft became a post, which now owns its files."""
    job.published_post_id = post_id
    job.video, job.poster = "", ""
    job.save(update_fields=["published_post_id", "video", "poster"])
