"""Schemathesis hooks for the API drill (tests/test_api_drill.py), loaded by `st run`.

The drill judges each request on its own, so its pace must not trip the rate limits, and a
signed-in run must stay signed in after one of its requests revokes the caller's token.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
import redis
import schemathesis

_cache = redis.Redis.from_url(os.environ["REDIS_URL"])


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, **kwargs: Any) -> None:
    """Forget every rate-limit count (DRF keeps them in the cache as throttle_*)."""
    keys = list(_cache.scan_iter("*throttle_*"))
    if keys:
        _cache.delete(*keys)


@schemathesis.hook
def after_call(context: Any, case: schemathesis.Case, response: schemathesis.Response) -> None:
    """Put the caller's token back after DELETE /api/v1/auth/token/ revoked it."""
    token, user_id = os.environ.get("DRILL_TOKEN"), os.environ.get("DRILL_USER_ID")
    revoked = case.method.upper() == "DELETE" and case.path == "/api/v1/auth/token/"
    if token and user_id and revoked and response.status_code == 204:
        with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
            connection.execute(
                "INSERT INTO authtoken_token (key, user_id, created) VALUES (%s, %s, now()) "
                "ON CONFLICT DO NOTHING",
                (token, int(user_id)),
            )
