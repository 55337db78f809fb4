"""Reads for ranking: the page the feed asks for, and the ranking settings in force."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from config.pagination import keyset_page

from .models import RankingConfig


@dataclass(frozen=True)
class Page:
    """An ordered page of candidates and the cursor of the next one."""

    items: list[Any]
    next_cursor: str | None


def feed_page(
    *, viewer: User | None, candidates: QuerySet[Any], cursor: str | None, size: int
) -> Page:
    """Order the feed's candidates for this viewer and cut one page.

    The candidates come from the feed (already limited to what the viewer may see).
    Ranking is by recency for now; the cursor is keyset (created, id), so pages
    never repeat or skip a post when new ones arrive.
    """
    items, next_cursor = keyset_page(candidates, cursor=cursor, size=size)
    return Page(items=items, next_cursor=next_cursor)


def active_config() -> RankingConfig:
    """The live ranking settings: the active version, or the defaults (unsaved) if none is.

    One indexed query (the partial unique index on is_active); callers that rank several
    times in one request should keep the result rather than ask again.
    """
    return RankingConfig.objects.filter(is_active=True).first() or RankingConfig()


def ranking_config_previous() -> RankingConfig | None:
    """The version that was live before the active one: what a rollback goes back to."""
    return (
        RankingConfig.objects.filter(is_active=False, activated__isnull=False)
        .order_by("-activated", "-version")
        .first()
    )
