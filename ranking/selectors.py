"""Reads for ranking: the one function the feed asks for a page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from config.pagination import keyset_page


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
