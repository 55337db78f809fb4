"""One lockout for every way of signing in (django-axes): the log-in page and the token API.

Too many failed sign-ins for one account, or from one address, lock both ways in for that
account or address until the cool-off passes; the right password is refused meanwhile too.
The address is the client's as core.web.client_address reads it: REMOTE_ADDR, which the ASGI
wrapper (core/proxy.py) sets from X-Forwarded-For only behind the proxies that
TRUSTED_PROXY_COUNT trusts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .models import User


def login_key(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The account a sign-in is for, however it was named: handle, @handle or email address."""
    credentials = credentials or {}
    login = credentials.get("username") or credentials.get("email") or ""
    if not login:
        login = request.POST.get("login", "")
    login = str(login).strip().removeprefix("@").lower()
    if "@" in login:
        handle = User.objects.filter(email__iexact=login).values_list("username", flat=True)
        return (handle.first() or login).lower()
    return login


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """429 saying when to try again: JSON on the API, the site's page elsewhere."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = (
        "Too many failed sign-ins for this account or from this address. "
        f"Try again in {minutes} minutes, or reset your password."
    )
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    return response
