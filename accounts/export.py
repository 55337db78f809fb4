"""A person's data, to download: what they said and made on Riff, as one JSON document.

accounts sits below the apps that hold most of it, so each app registers a section (in its
AppConfig.ready) that lists the person's own records; `account_export` gathers them. Media
URLs in it are signed for the person and expire (MEDIA_SIGNED_URL_S), like any other.
Downloading is a read, so a suspended account may do it too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from core.media import media_url

from .models import Block, Follow, User

Section = Callable[[User], Any]

_sections: dict[str, Section] = {}


def export_section_register(name: str, build: Section) -> None:
    """Add a section to every export: `build(user)` gives its JSON-ready content."""
    _sections[name] = build


def export_rows(rows: QuerySet[Any], *fields: str) -> list[dict[str, Any]]:
    """These fields of each row, oldest first, with times in ISO 8601."""
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
        for row in rows.order_by("created", "pk").values(*fields)
    ]


def account_export(*, user: User) -> dict[str, Any]:
    """Everything registered about this person, with when it was made."""
    data: dict[str, Any] = {"exported_at": timezone.now().isoformat(), "account": _account(user)}
    for name, build in _sections.items():
        data[name] = build(user)
    return data


def _account(user: User) -> dict[str, Any]:
    profile = user.profile
    return {
        "handle": user.username,
        "email": user.email,
        "joined": user.date_joined.isoformat(),
        "suspended_at": user.suspended_at.isoformat() if user.suspended_at else None,
        "display_name": profile.display_name,
        "bio": profile.bio,
        "avatar_url": media_url(profile.avatar, viewer=user),
        "following": list(
            Follow.objects.filter(follower=user).values_list("followee__username", flat=True)
        ),
        "followers": list(
            Follow.objects.filter(followee=user).values_list("follower__username", flat=True)
        ),
        "blocked": list(
            Block.objects.filter(blocker=user).values_list("blocked__username", flat=True)
        ),
    }
