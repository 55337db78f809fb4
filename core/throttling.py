"""DRF's throttles, made to survive their cache going away.

The throttles count requests in the shared cache (Redis in production). While it is down,
reads stay open, since refusing them would take the site down with the cache, and writes
that cost work are refused with a 503 saying so, since nobody can tell how many a caller
already made. Nothing answers 500 because the cache is missing.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework import status, throttling
from rest_framework.exceptions import APIException
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)

# What a cache that can't be reached raises: redis-py's errors, or the socket's own.
CACHE_DOWN = (RedisError, OSError)


class LimitsUnavailable(APIException):
    """A write refused because its rate limit can't be checked right now."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "Riff can't check its limits right now, so it can't take this; try again in a minute."
    )
    default_code = "limits_unavailable"


class FailSafe:
    """Fail open for reads and closed for writes when the throttle's cache is down."""

    def allow_request(self, request: Request, view: Any) -> bool:
        """The throttle's own answer, or the fail-safe one without a cache."""
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except CACHE_DOWN as error:
            logger.warning("rate-limit cache unavailable (%s): %s", type(error).__name__, error)
            if request.method in SAFE_METHODS:
                return True
            raise LimitsUnavailable() from error


class AnonRateThrottle(FailSafe, throttling.AnonRateThrottle):
    """Signed-out callers, by address."""


class UserRateThrottle(FailSafe, throttling.UserRateThrottle):
    """Signed-in callers, by account."""


class ScopedRateThrottle(FailSafe, throttling.ScopedRateThrottle):
    """A view's own scope (token, verify), by account or address."""


class _WriteRate(throttling.SimpleRateThrottle):
    """The limit settings.RATE_LIMITED_WRITES gives the view a write goes to, if any.

    Keyed by account when signed in, else by address, under the scope's name: the page and
    the API endpoint of one action share the scope, so they share the allowance.
    """

    def __init__(self) -> None:
        # SimpleRateThrottle reads its rate here; ours depends on the request.
        self.scope: str | None = None

    def get_rate(self) -> str | None:
        """The scope's rate, read now (so a changed setting is seen at once)."""
        rates: dict[str, str | None] = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        return rates[self.scope or ""]

    def allow_request(self, request: Request, view: Any) -> bool:
        """True for reads and for writes no limit covers; else the scope's answer."""
        if request.method in SAFE_METHODS:
            return True
        match = getattr(request, "resolver_match", None)
        self.scope = settings.RATE_LIMITED_WRITES.get(match.view_name) if match else None
        if self.scope is None:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str:
        """The account's key when signed in, else the address's."""
        user = getattr(request, "user", None)
        ident = user.pk if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WriteRateThrottle(FailSafe, _WriteRate):
    """Writes that cost work (comments, reports, generation, events...), by their scope."""
