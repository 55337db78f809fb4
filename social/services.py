"""Notification writes: sending (in bulk), marking read, settings, and the live push."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Block, User

from . import presence, webpush
from .models import Notification, NotificationSettings

logger = logging.getLogger(__name__)

# Rows written per INSERT when one event reaches many people (a new clip to its followers).
BULK_BATCH = 2000
# Pushes to open pages in flight at once (social.services.unread_push).
PUSH_CONCURRENCY = 50


def unread_group(user_id: int) -> str:
    """The channel-layer group of a person's open pages (social/consumers.py)."""
    return f"notifications.{user_id}"


def conversation_group(conversation_id: int) -> str:
    """The channel-layer group of a conversation's open pages (social/consumers.py)."""
    return f"conversation.{conversation_id}"


def message_group_key(conversation_id: int) -> str:
    """The notification line of a conversation's unread messages."""
    return f"message:{conversation_id}"


def _wanting(kind: str, recipient_ids: Iterable[int], actor_id: int | None) -> list[int]:
    """Those recipients who get this kind: active, not the actor, not turned it off, and not
    blocking the actor nor blocked by them."""
    ids = {pk for pk in recipient_ids if pk != actor_id}
    if not ids:
        return []
    muted = {
        user_id
        for user_id, off in NotificationSettings.objects.filter(user_id__in=ids).values_list(
            "user_id", "off"
        )
        if kind in off
    }
    ids -= muted
    if actor_id is not None and ids:
        ids -= set(
            Block.objects.filter(blocker_id=actor_id, blocked_id__in=ids).values_list(
                "blocked_id", flat=True
            )
        )
        ids -= set(
            Block.objects.filter(blocked_id=actor_id, blocker_id__in=ids).values_list(
                "blocker_id", flat=True
            )
        )
    active = User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True)
    return sorted(active)


def notifications_send(
    *,
    kind: str,
    recipient_ids: Iterable[int],
    group_key: str,
    actor_id: int | None = None,
    post_id: int | None = None,
    comment_id: int | None = None,
    job_id: str | None = None,
    notice_id: int | None = None,
    text: str = "",
) -> list[int]:
    """Tell each recipient who wants it; the ids of those told. One INSERT per 2,000; once
    the rows are committed their open pages are told, and the browsers they subscribed get
    the line pushed (social/webpush.py, only for those with a subscription)."""
    kind = Notification.Kind(kind)
    now = timezone.now()
    with transaction.atomic():
        told = _wanting(kind, recipient_ids, actor_id)
        rows = (
            Notification(
                recipient_id=pk,
                kind=kind,
                actor_id=actor_id,
                post_id=post_id,
                comment_id=comment_id,
                job_id=job_id,
                notice_id=notice_id,
                text=text[:200],
                group_key=group_key,
                created=now,
            )
            for pk in told
        )
        Notification.objects.bulk_create(rows, batch_size=BULK_BATCH)
        transaction.on_commit(lambda: unread_push(user_ids=told))
        webpush.push_later(user_ids=told, group_key=group_key)
    return told


def notifications_mark_read(
    *, user: User, ids: Sequence[int] | None = None, group_key: str | None = None
) -> int:
    """Mark a person's notifications read (all, those of `ids`, or one line's, by its
    `group_key`); how many were unread."""
    unread = Notification.objects.filter(recipient=user, read__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    if group_key is not None:
        unread = unread.filter(group_key=group_key)
    count = unread.update(read=timezone.now())
    if count:
        transaction.on_commit(lambda: unread_push(user_ids=[user.pk]))
    return count


def notification_settings_set(
    *, user: User, off: Iterable[str], digest: str | None = None
) -> NotificationSettings:
    """Turn off exactly these kinds (the others on), and set the email digest when given.
    Whoever calls it checks that a digest goes to a confirmed address (social/digest.py)."""
    values: dict[str, object] = {"off": sorted({Notification.Kind(kind).value for kind in off})}
    if digest is not None:
        values["digest"] = NotificationSettings.Digest(digest).value
    settings, _ = NotificationSettings.objects.update_or_create(user=user, defaults=values)
    return settings


def notifications_prune(*, before: object) -> int:
    """Delete notifications older than `before` that were read (unread ones wait)."""
    deleted, _ = Notification.objects.filter(Q(created__lt=before) & Q(read__isnull=False)).delete()
    return deleted


def unread_push(*, user_ids: Sequence[int]) -> None:
    """Tell these people's open pages (those present, social/presence.py) that their
    notifications changed: they re-read the count. Without a reachable channel layer or
    Redis, the pages' own re-reads cover it."""
    if not user_ids:
        return
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        listening = presence.present_among(user_ids)
        if listening:
            async_to_sync(_push_all)(layer, listening)
    except Exception:  # a channel layer down must not fail what was already committed
        logger.warning("Could not tell open pages of %d people", len(user_ids), exc_info=True)


def push(*, group: str, event: str) -> None:
    """Tell the open pages of one group that `event` happened (they re-read what changed);
    without a reachable channel layer, their own re-reads cover it."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_send_all)(layer, [group], event)
    except Exception:  # a channel layer down must not fail what was already committed
        logger.warning("Could not tell the open pages of %s", group, exc_info=True)


async def _push_all(layer: object, user_ids: list[int]) -> None:
    await _send_all(layer, [unread_group(pk) for pk in user_ids], "notifications.changed")


async def _send_all(layer: object, groups: list[str], event: str) -> None:
    # A push is a round trip to Redis, most of them to a group with nobody in it: many at
    # once, PUSH_CONCURRENCY at a time, rather than one after another.
    message = {"type": event}
    for start in range(0, len(groups), PUSH_CONCURRENCY):
        chunk = groups[start : start + PUSH_CONCURRENCY]
        await asyncio.gather(*(layer.group_send(group, message) for group in chunk))  # type: ignore[attr-defined]
