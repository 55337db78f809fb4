"""Reads for ranking: the one function the feed asks for a page."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import User


class InvalidCursor(ValueError):
    """A cursor that this server did not hand out."""


@dataclass(frozen=True)
class Page:
    """An ordered page of candidates and the cursor of the next one."""

    items: list[Any]
    next_cursor: str | None


def cursor_encode(created: datetime, pk: int) -> str:
    """An opaque cursor pointing after (created, pk)."""
    raw = f"{created.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, int]:
    """The (created, pk) a cursor points after; InvalidCursor if it is malformed."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_s, pk_s = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        created = datetime.fromisoformat(created_s)
        pk = int(pk_s)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor("That page cursor is not valid; start again from the top.") from exc
    if created.tzinfo is None:
        raise InvalidCursor("That page cursor is not valid; start again from the top.")
    return created, pk


def feed_page(
    *, viewer: User | None, candidates: QuerySet[Any], cursor: str | None, size: int
) -> Page:
    """Order the feed's candidates for this viewer and cut one page.

    The candidates come from the feed (already limited to what the viewer may see).
    Ranking is by recency for now; the cursor is keyset (created, id), so pages
    never repeat or skip a post when new ones arrive.
    """
    qs = candidates.order_by("-created", "-id")
    if cursor:
        created, pk = cursor_decode(cursor)
        qs = qs.filter(Q(created__lt=created) | Q(created=created, id__lt=pk))
    items = list(qs[: size + 1])
    has_more = len(items) > size
    items = items[:size]
    next_cursor = cursor_encode(items[-1].created, items[-1].pk) if has_more and items else None
    return Page(items=items, next_cursor=next_cursor)
