"""What a signed-out person asked to do, done once they have signed up or in.

A like, a follow or a comment tapped while signed out leads to the sign-up page (not a dead
end): the view remembers the action in the session (`pending_action_remember`) and, when the
person signs in (a new account signs in at once), `pending_action_run` carries it out with
the handler its app registered, and says so. Only the latest such action is kept, and only
for the session it was asked in; the handler checks again what the view would have checked
(the clip still visible, no block), so nothing is done that the person couldn't do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest

logger = logging.getLogger(__name__)

SESSION_KEY = "riff_pending_action"

# name -> handler(user, **args) giving what to tell the person, or None when it can't be done.
Handler = Callable[..., str | None]
_HANDLERS: dict[str, Handler] = {}


def pending_action_register(name: str, handler: Handler) -> None:
    """Say how to carry out a remembered action `name` (called from an AppConfig.ready)."""
    _HANDLERS[name] = handler


def pending_action_remember(request: HttpRequest, name: str, **args: Any) -> None:
    """Keep `name(**args)` for when this session signs in (ids and handles only)."""
    if name not in _HANDLERS:
        raise KeyError(f"no pending action is registered as {name!r}")
    request.session[SESSION_KEY] = {"name": name, "args": args}


def pending_action_run(request: HttpRequest, user: Any) -> None:
    """Carry out the action this session remembered, if any, as `user`; tell them."""
    pending = request.session.pop(SESSION_KEY, None)
    if not isinstance(pending, dict) or pending.get("name") not in _HANDLERS:
        return
    try:
        said = _HANDLERS[pending["name"]](user, **pending.get("args", {}))
    except Exception:  # never fail a sign-in over what was asked before it
        logger.exception("Could not carry out %s after sign-in", pending.get("name"))
        return
    if said:
        messages.success(request, said)
