"""Keyset pagination with opaque cursors, shared by the feed pages and every API list."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

M = TypeVar("M", bound=Model)

_INVALID = "That page cursor is not valid; start again from the top."


class InvalidCursor(ValueError):
    """A cursor that this server did not hand out."""


def cursor_encode(key: datetime, pk: int) -> str:
    """An opaque cursor pointing after (key, pk)."""
    raw = f"{key.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, int]:
    """The (key, pk) a cursor points after; InvalidCursor if it is malformed."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key_s, pk_s = base64.urlsafe_b64decode(padded.encode()).decode().split("|")
        key = datetime.fromisoformat(key_s)
        pk = int(pk_s)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCursor(_INVALID) from exc
    if key.tzinfo is None:
        raise InvalidCursor(_INVALID)
    return key, pk


def keyset_page(
    qs: QuerySet[M],
    *,
    cursor: str | None,
    size: int,
    key: str = "created",
    newest_first: bool = True,
) -> tuple[list[M], str | None]:
    """Cut one page of `qs` ordered by (key, pk); the cursor points after the last item.

    Keyset, not offset: a page never repeats or skips a row when new ones arrive.
    """
    sign = "-" if newest_first else ""
    qs = qs.order_by(f"{sign}{key}", f"{sign}pk")
    if cursor:
        after_key, after_pk = cursor_decode(cursor)
        op = "lt" if newest_first else "gt"
        qs = qs.filter(
            Q(**{f"{key}__{op}": after_key}) | Q(**{key: after_key, f"pk__{op}": after_pk})
        )
    items = list(qs[: size + 1])
    if len(items) <= size:
        return items, None
    items = items[:size]
    last = items[-1]
    return items, cursor_encode(getattr(last, key), last.pk)
