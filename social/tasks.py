"""Notification work off the request: fan-out of one event, and the nightly prune."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import fanout, services


@shared_task(name="social.notify")
def notify(event: str, ids: dict[str, Any]) -> None:
    """Write the notifications one event makes (social/fanout.py) and tell open pages."""
    fanout.fan_out(event, ids)


@shared_task(name="social.notifications_prune")
def notifications_prune() -> int:
    """Delete read notifications older than NOTIFICATIONS_KEEP_DAYS."""
    before = timezone.now() - timedelta(days=settings.NOTIFICATIONS_KEEP_DAYS)
    return services.notifications_prune(before=before)
