"""Writes for ranking: the engagement log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from feed.models import Post

from .models import EngagementEvent


@dataclass(frozen=True)
class EventIn:
    """One validated event from a client or a service."""

    post_id: int
    kind: str
    value: float = 1.0
    client_id: str = ""


def events_record(*, viewer: User | None, events: Iterable[EventIn]) -> int:
    """Append events to the log; a client id seen before for this viewer is skipped."""
    viewer_id = viewer.pk if viewer is not None and viewer.is_authenticated else None
    now = timezone.now()
    rows = [
        EngagementEvent(
            viewer_id=viewer_id,
            post_id=event.post_id,
            kind=event.kind,
            value=event.value,
            client_id=event.client_id if viewer_id is not None else "",
            created=now,
        )
        for event in events
    ]
    if not rows:
        return 0
    try:
        with transaction.atomic():
            EngagementEvent.objects.bulk_create(rows, ignore_conflicts=True)
    except IntegrityError:
        # A post was deleted since the caller checked it: keep the events of the rest.
        live = set(
            Post.objects.filter(pk__in={r.post_id for r in rows}).values_list("pk", flat=True)
        )
        rows = [row for row in rows if row.post_id in live]
        EngagementEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def event_record(*, viewer: User | None, post_id: int, kind: str, value: float = 1.0) -> None:
    """Append one server-side event (a like, a comment, a follow from a post)."""
    events_record(viewer=viewer, events=[EventIn(post_id=post_id, kind=kind, value=value)])
