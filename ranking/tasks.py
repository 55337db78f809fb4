"""Periodic ranking work (Celery beat): the full retrain, and pruning the served-page log."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import ServedItem
from .services import ranking_model_train


@shared_task
def ranking_retrain() -> int:
    """Retrain the For You learner on every event and make it live; its version number."""
    return ranking_model_train(note="scheduled retrain").version


@shared_task
def served_items_prune() -> int:
    """Forget served-page rows older than RANKING_SERVED_DAYS; how many were deleted."""
    cutoff = timezone.now() - timedelta(days=settings.RANKING_SERVED_DAYS)
    deleted, _ = ServedItem.objects.filter(created__lt=cutoff).delete()
    return deleted
