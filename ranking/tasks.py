"""Periodic ranking work (Celery beat): the full retrain, and pruning the served-page log."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .intake import WINDOW
from .models import ClipShown, ServedItem
from .services import ranking_model_train


@shared_task
def ranking_retrain() -> int:
    """Retrain the For You learner on every event and make it live; its version number."""
    return ranking_model_train(note="scheduled retrain").version


@shared_task
def served_items_prune() -> int:
    """Forget served-page rows older than RANKING_SERVED_DAYS, and shown-clip notes older
    than the day their events count for; how many rows were deleted."""
    now = timezone.now()
    cutoff = now - timedelta(days=settings.RANKING_SERVED_DAYS)
    deleted, _ = ServedItem.objects.filter(created__lt=cutoff).delete()
    shown, _ = ClipShown.objects.filter(created__lt=now - WINDOW).delete()
    return deleted + shown
