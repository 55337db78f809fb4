"""What moderation records when the apps below it report a change (see core/events.py)."""

from __future__ import annotations

from typing import Any

from accounts import events as account_events
from accounts.models import User

from .services import audit_record


def on_roles_changed(
    *, user: User, by: User | None, before: dict[str, Any], after: dict[str, Any], **kwargs: Any
) -> None:
    """Every grant or removal of staff, superuser or a group (Moderators) is audited."""
    audit_record(
        actor=by, action="roles:change", target=f"account {user.pk}", before=before, after=after
    )


def connect() -> None:
    """Listen to accounts' events (called once, from ModerationConfig.ready)."""
    account_events.roles_changed.connect(on_roles_changed, dispatch_uid="moderation.roles")
