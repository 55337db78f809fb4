"""What can be reported, and how to find it as a viewer sees it.

Accounts are moderation's own to find. Posts and comments belong to the feed, which sits
above moderation: it registers a finder for each kind in its AppConfig (the messages app
will register messages the same way). A finder returns the object when the viewer may see
it, else None, so nobody can report, or learn of, what they can't see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.models import User

Finder = Callable[..., Any | None]

_finders: dict[str, Finder] = {}


def report_kind_register(kind: str, finder: Finder) -> None:
    """Let `kind` be reported; `finder(*, viewer, pk)` returns what the viewer may see."""
    _finders[kind] = finder


def report_target(*, viewer: User, kind: str, ref: str) -> dict[str, Any] | None:
    """The post, comment or account (by @handle) to report; None unless the viewer can see it."""
    if kind == "account":
        user = User.objects.filter(username__iexact=ref, is_active=True).first()
        return {"account": user} if user is not None else None
    finder = _finders.get(kind)
    if finder is None or not ref.isdigit():
        return None
    found = finder(viewer=viewer, pk=int(ref))
    return {kind: found} if found is not None else None
