"""Requests refused before any view sees them (malformed, or over a write limit), headers
every response carries, and the answer to a request that needed Redis while it was down."""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import unquote_plus

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.decorators import sync_and_async_middleware
from django.utils.deprecation import MiddlewareMixin
from kombu.exceptions import OperationalError as BrokerDown
from redis.exceptions import RedisError
from rest_framework.views import APIView

from core.throttling import LimitsUnavailable, WriteRateThrottle
from core.web import refusal

logger = logging.getLogger(__name__)

NUL_IN_ADDRESS = "That address contains a character (NUL) that no address on Riff can contain."


def _malformed(request: HttpRequest) -> str | None:
    """Why the request can't be served, or None.

    A NUL byte fits no handle, file name or database text (PostgreSQL refuses it), so one
    in the path or the query would otherwise become a server error deep in some view.
    """
    if "\x00" in request.path or "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
        return NUL_IN_ADDRESS
    if "\x00" in request.headers.get("Authorization", ""):
        return "That Authorization header contains a character (NUL) no API token has."
    return None


@sync_and_async_middleware
def reject_malformed_requests(get_response: Any) -> Any:
    """Answer a malformed request with a readable 400 instead of passing it on."""
    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponse:
            message = _malformed(request)
            if message is not None:
                # The page reads the signed-in user, a database read: off the event loop.
                return await sync_to_async(refusal)(request, message)
            return await get_response(request)

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponse:
        message = _malformed(request)
        return refusal(request, message) if message is not None else get_response(request)

    return middleware


@sync_and_async_middleware
def content_security_policy(get_response: Any) -> Any:
    """Send settings.CONTENT_SECURITY_POLICY with every response that has none of its own."""
    policy = settings.CONTENT_SECURITY_POLICY

    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponse:
            response = await get_response(request)
            response.headers.setdefault("Content-Security-Policy", policy)
            return response

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy)
        return response

    return middleware


# What Redis going away raises: the cache's client (allauth's limits count there) and the
# Celery broker's, when a job is sent.
REDIS_DOWN = (RedisError, BrokerDown)
OUTAGE = "Part of Riff is restarting, so it can't take this right now; try again in a minute."
OUTAGE_RETRY_AFTER_S = 60


class ServiceOutage(MiddlewareMixin):
    """A request that needed Redis while it was down gets a 503 saying so, never a 500.

    Reads don't need Redis (sessions, feeds and pages live in PostgreSQL); what does is
    counting a page's limits (sign-in, sign-up, password reset) and sending work to the
    workers, and both are refused until Redis is back rather than let through uncounted.
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The 503 for an outage; anything else goes on to Django's own handling."""
        if not isinstance(exception, REDIS_DOWN):
            return None
        logger.warning("Redis unavailable (%s): %s", type(exception).__name__, exception)
        return outage_response(request)


def outage_response(request: HttpRequest) -> HttpResponse:
    """The 503 for a request that needs Redis while it is down."""
    if request.path.startswith("/api/") or getattr(request, "htmx", False):
        return refusal(request, OUTAGE, status=503, retry_after=OUTAGE_RETRY_AFTER_S)
    # Plain template rendering: the outage page must not need anything else to work.
    response = HttpResponse(render_to_string("503.html", {"message": OUTAGE}), status=503)
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER_S)
    return response


class LimitPageWrites(MiddlewareMixin):
    """The write limits of settings.RATE_LIMITED_WRITES, for the site's own pages.

    API views count the same writes in their throttle (core.throttling.WriteRateThrottle)
    under the same keys, so a comment posted from a page and one posted over the API come
    out of one allowance.
    """

    def process_view(
        self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """A 429 (or a 503 while limits can't be counted) instead of the view, when due."""
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None  # DRF applies the same throttle itself, after its own sign-in
        throttle = WriteRateThrottle()
        try:
            if throttle.allow_request(request, None):  # type: ignore[arg-type]
                return None
        except LimitsUnavailable:
            return outage_response(request)
        wait = max(1, math.ceil(throttle.wait() or 1))
        message = f"That's a lot in a short time. Try again in {_duration(wait)}."
        return refusal(request, message, status=429, retry_after=wait)


def _duration(seconds: int) -> str:
    """A wait in words: "1 second", "40 seconds", "12 minutes"."""
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minutes"


SUSPENDED = (
    "Your account is suspended: you can read, appeal and download your data, nothing else. "
    "Your notices page says why and how to appeal."
)


def acting_user(request: HttpRequest) -> Any:
    """Who is asking: the session's user, else the owner of the API token sent, else None.

    DRF signs a token in only when its view runs; this looks the token up the same way so
    that a rule applied before any view covers the API too.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    kind, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    # Tokens are 40 hex digits; anything else is no token (and never reaches the database).
    if kind.lower() != "token" or not key.isascii() or not key.isalnum() or len(key) > 64:
        return None
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token is not None and token.user.is_active else None


def suspension_allows(*, view_name: str, method: str) -> bool:
    """Whether a suspended account may do this: read anything, and write only the views of
    settings.SUSPENDED_ACCOUNTS_MAY (appeals, signing in and out, its password)."""
    return method in ("GET", "HEAD", "OPTIONS") or view_name in settings.SUSPENDED_ACCOUNTS_MAY


class SuspendedAccountScope(MiddlewareMixin):
    """The one place a suspension is enforced, for pages and the API alike: a suspended
    account reads, appeals and downloads its data; every other write is refused with 403."""

    def process_view(
        self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """A 403 instead of the view, for a suspended account's write outside its scope."""
        match = request.resolver_match
        view_name = match.view_name if match is not None else ""
        if suspension_allows(view_name=view_name, method=request.method or "GET"):
            return None
        user = acting_user(request)
        if user is None or user.suspended_at is None:
            return None
        return refusal(request, SUSPENDED, status=403)
