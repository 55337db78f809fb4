"""What every page needs from notifications: the unread count on the bell."""

from __future__ import annotations

from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest

from .selectors import unread_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    """`unread_notifications` for the header (one query, signed in only), and `bell_socket`:
    whether this server takes WebSockets (ASGI, as daphne serves Riff; a WSGI server, such
    as Django's test server, can't, so the bell polls there instead)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0, "bell_socket": False}
    return {
        "unread_notifications": unread_count(user=user),
        "bell_socket": isinstance(request, ASGIRequest),
    }
