"""Celery tasks: thin interfaces that take ids and call the runner or a service."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from .runner import InfrastructureError, job_run
from .services import jobs_sweep


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.GENERATION_MAX_ATTEMPTS,
)
def run_generation_job(self: Task, job_id: str) -> None:
    """Make one clip on a GPU worker (queue `gpu`); retried only for faults that are ours."""
    try:
        job_run(job_id=job_id, worker=self.request.hostname or "worker")
    except InfrastructureError as exc:
        raise self.retry(exc=exc, countdown=5 * (self.request.retries + 1)) from exc


@shared_task
def sweep_generation_jobs() -> dict[str, int]:
    """Take back expired leases, send again jobs queued too long, time out stuck ones (Celery
    beat runs this)."""
    return jobs_sweep()
