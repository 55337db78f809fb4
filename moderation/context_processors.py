"""What every page needs from moderation: the unread notice count and the moderator link."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import selectors


def moderation(request: HttpRequest) -> dict[str, Any]:
    """`unread_notices` and `is_moderator` for the header (one query each, signed in only)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notices": 0, "is_moderator": False}
    return {
        "unread_notices": selectors.unread_notices(user=user),
        "is_moderator": selectors.is_moderator(user),
    }
