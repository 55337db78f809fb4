"""What can be reported, and how to find it as a viewer sees it.

Accounts are moderation's own to find. Posts, comments and messages belong to apps above
moderation: each registers its kind in its AppConfig with a finder, and where it helps a
moderator, what to keep with the report (a message's conversation) and where the reporter
goes back to. A finder returns the object when the viewer may see it, else None, so nobody
can report, or learn of, what they can't see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accounts.models import User

Finder = Callable[..., Any | None]


@dataclass(frozen=True)
class ReportKind:
    """How one kind of thing is found, what a report on it keeps, and where it lives."""

    finder: Finder
    # What a report keeps beside it, as it is now (JSON), e.g. a conversation's last messages.
    context: Callable[[Any], list[dict[str, Any]]] | None = None
    # Where the reporter goes back to once the report is sent (default: its own address).
    back: Callable[[Any, User], str] | None = None


_kinds: dict[str, ReportKind] = {}


def report_kind_register(
    kind: str,
    finder: Finder,
    *,
    context: Callable[[Any], list[dict[str, Any]]] | None = None,
    back: Callable[[Any, User], str] | None = None,
) -> None:
    """Let `kind` be reported; `finder(*, viewer, pk)` returns what the viewer may see."""
    _kinds[kind] = ReportKind(finder=finder, context=context, back=back)


def report_target(*, viewer: User, kind: str, ref: str) -> dict[str, Any] | None:
    """The post, comment, message or account (by @handle) to report; None unless the viewer
    can see it."""
    if kind == "account":
        user = User.objects.filter(username__iexact=ref, is_active=True).first()
        return {"account": user} if user is not None else None
    registered = _kinds.get(kind)
    if registered is None or not ref.isdigit():
        return None
    found = registered.finder(viewer=viewer, pk=int(ref))
    return {kind: found} if found is not None else None


def report_context(kind: str, target: Any) -> list[dict[str, Any]]:
    """What a report on this keeps beside it (empty for most kinds)."""
    registered = _kinds.get(kind)
    if registered is None or registered.context is None:
        return []
    return registered.context(target)


def report_back(kind: str, target: Any, viewer: User) -> str:
    """Where the reporter goes once the report is sent."""
    registered = _kinds.get(kind)
    if registered is not None and registered.back is not None:
        return registered.back(target, viewer)
    return str(target.get_absolute_url())
