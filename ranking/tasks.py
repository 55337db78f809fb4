"""Periodic ranking work (Celery beat): the retrain, and pruning the event and served-page logs."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import services
from .intake import WINDOW
from .models import ClipShown, ServedItem
from .services import ranking_model_train


@shared_task
def ranking_retrain() -> int:
    """Retrain the For You learner on the window's events; it goes live if it passes the
    held-out check (else it is kept inactive, with the reason); its version number."""
    return ranking_model_train(note="scheduled retrain").version


@shared_task
def engagement_events_prune() -> int:
    """Delete engagement events older than the training window and its margin, in batches;
    how many were deleted."""
    return services.engagement_events_prune()


@shared_task
def served_items_prune() -> int:
    """Forget served-page rows older than RANKING_SERVED_DAYS, and shown-clip notes older
    than the day their events count for; how many rows were deleted."""
    now = timezone.now()
    cutoff = now - timedelta(days=settings.RANKING_SERVED_DAYS)
    deleted, _ = ServedItem.objects.filter(created__lt=cutoff).delete()
    shown, _ = ClipShown.objects.filter(created__lt=now - WINDOW).delete()
    return deleted + shown


@shared_task
def ranking_preview(run_id: str) -> None:
    """Compute an admin preview (ranking/preview_runs.py): its progress and then its result
    are kept in the cache under the run's id, for the admin page to show."""
    from .preview_runs import preview_run_execute

    preview_run_execute(run_id=run_id)
