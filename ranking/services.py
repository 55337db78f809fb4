"""Writes for ranking: the engagement log."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from feed.models import Post

from .models import TUNABLE_FIELDS, EngagementEvent, RankingConfig


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


# --- ranking settings: versions and which one is live ---------------------------------


def ranking_config_diff(before: RankingConfig | None, after: RankingConfig) -> dict[str, list[Any]]:
    """{field: [before, after]} for each setting that differs (before None: the defaults)."""
    base = (before or RankingConfig()).values
    return {
        name: [base[name], value] for name, value in after.values.items() if value != base[name]
    }


def ranking_config_create(
    *,
    values: Mapping[str, Any],
    note: str,
    based_on: RankingConfig | None,
    created_by: User | None,
) -> RankingConfig:
    """Save the settings as the next version (inactive), with its diff against `based_on`."""
    unknown = set(values) - set(TUNABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not ranking settings: {', '.join(sorted(unknown))}")
    config = RankingConfig(note=note, based_on=based_on, created_by=created_by, **values)
    config.changes = ranking_config_diff(based_on, config)
    config.full_clean(exclude=["version"])
    attempts = 3
    while True:
        try:
            with transaction.atomic():
                latest = RankingConfig.objects.aggregate(latest=Max("version"))["latest"]
                config.version = (latest or 0) + 1
                config.save(force_insert=True)
            return config
        except IntegrityError:
            # Someone took that number at the same moment: take the next one.
            attempts -= 1
            if not attempts:
                raise
            config.pk = None
            config._state.adding = True


def ranking_config_activate(*, config: RankingConfig, by: User | None) -> RankingConfig:
    """Make this version the live one and the previous one not, in one transaction.

    The partial unique constraint keeps two from ever being active: an activation racing
    this one fails with IntegrityError rather than leaving both on.
    """
    with transaction.atomic():
        config = RankingConfig.objects.select_for_update().get(pk=config.pk)
        if config.is_active:
            return config
        RankingConfig.objects.filter(is_active=True).update(is_active=False)
        config.is_active = True
        config.activated = timezone.now()
        config.activated_by = by
        config.save(update_fields=["is_active", "activated", "activated_by"])
    return config
