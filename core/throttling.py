"""DRF's throttles, made to survive their cache going away.

The throttles count requests in the shared cache (Redis in production). While it is down,
reads stay open, since refusing them would take the site down with the cache, and writes
that cost work are refused with a 503 saying so, since nobody can tell how many a caller
already made. Nothing answers 500 because the cache is missing.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.exceptions import RedisError
from rest_framework import status, throttling
from rest_framework.exceptions import APIException
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

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
