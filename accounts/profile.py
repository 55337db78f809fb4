"""What a profile page shows besides the person: the clips, filled in by the feed.

accounts sits below the apps that own clips, so it can't ask for them by import. The feed
registers the one function that lists a person's clips for a viewer (in its AppConfig), and
the profile page and its fragments call `profile_posts` here. Until something registers,
a profile simply has no clips.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db.models import QuerySet

from .models import User

PostsOf = Callable[..., QuerySet[Any] | Sequence[Any]]

_posts_of: PostsOf | None = None


def profile_posts_register(posts_of: PostsOf) -> None:
    """Name the function `posts_of(*, viewer, owner)` that lists a profile's clips."""
    global _posts_of
    _posts_of = posts_of


def profile_posts(*, viewer: User | None, owner: User) -> QuerySet[Any] | Sequence[Any]:
    """The clips on `owner`'s profile that `viewer` may see, newest first."""
    if _posts_of is None:
        return []
    return _posts_of(viewer=viewer, owner=owner)
