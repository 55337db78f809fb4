"""Notification work off the request: fan-out of one event, the prune, the digest and
browser pushes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from . import digest, fanout, services, webpush


@shared_task(name="social.notify")
def notify(event: str, ids: dict[str, Any]) -> None:
    """Write the notifications one event makes (social/fanout.py) and tell open pages."""
    fanout.fan_out(event, ids)


@shared_task(name="social.notifications_prune")
def notifications_prune() -> int:
    """Delete read notifications older than NOTIFICATIONS_KEEP_DAYS."""
    before = timezone.now() - timedelta(days=settings.NOTIFICATIONS_KEEP_DAYS)
    return services.notifications_prune(before=before)


@shared_task(name="social.digest_send")
def digest_send() -> int:
    """Email the digest of unread notifications to everyone due one (hourly); how many."""
    return digest.digests_send(now=timezone.now())


@shared_task(name="social.web_push")
def web_push(user_ids: list[int], group_key: str) -> int:
    """Push one notification line to these people's subscribed browsers (social/webpush.py);
    how many took it. No retries: a failed send counts against its subscription instead."""
    return webpush.push_line(user_ids=user_ids, group_key=group_key)
