"""Celery tasks: the `verify` queue's checks of uploaded videos, and their sweeper."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from . import verify


# Acknowledged on receipt (not late, as other tasks are): a video that kills its worker
# must not be handed to the next one. Prefork workers enforce the time limits; solo ones
# don't, so the frame reader also checks its own deadline.
@shared_task(
    acks_late=False,
    soft_time_limit=settings.VERIFY_TIME_LIMIT_S,
    time_limit=settings.VERIFY_TIME_LIMIT_S + 15,
)
def verify_check(check_id: str) -> None:
    """Check one uploaded video (queue `verify`)."""
    verify.verify_check_run(check_id=check_id)


@shared_task
def verify_checks_sweep() -> dict[str, int]:
    """Give up on stuck checks and forget old ones (Celery beat runs this)."""
    return verify.verify_checks_sweep()
