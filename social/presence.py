"""Who has a page open right now: so a clip's fan-out pushes only to those who can hear it.

An open page's socket marks its person present in one Redis sorted set (score: when), on
connect and on each of its re-reads; a mark older than PRESENT_FOR_S has gone (a closed
page is never unmarked: it just ages out). Pushing to 10,000 followers is then one
ZMSCORE and a push for each who is present, instead of two round trips per follower.
Without Redis (the embedded mode) nobody can be pushed to from a worker anyway.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cache

import redis
from django.conf import settings

KEY = "riff:notifications:present"
# Marks in the set at most this long for each id asked in one ZMSCORE.
CHUNK = 5000


def present_for_s() -> float:
    """How long a mark counts: a page re-reads (and marks) every NOTIFICATIONS_RECHECK_S."""
    return 2 * settings.NOTIFICATIONS_RECHECK_S + 30


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def mark_present(user_id: int) -> None:
    """This person has a page open (now); old marks of anyone are dropped now and then."""
    if not settings.REDIS_URL:
        return
    client, now = _client(settings.REDIS_URL), time.time()
    pipe = client.pipeline()
    pipe.zadd(KEY, {str(user_id): now})
    pipe.zremrangebyscore(KEY, 0, now - present_for_s())
    pipe.execute()


def present_among(user_ids: Sequence[int]) -> list[int]:
    """Those of `user_ids` with a page open; all of them when presence isn't kept."""
    if not settings.REDIS_URL:
        return list(user_ids)
    client, since = _client(settings.REDIS_URL), time.time() - present_for_s()
    present: list[int] = []
    for start in range(0, len(user_ids), CHUNK):
        chunk = list(user_ids[start : start + CHUNK])
        scores = client.zmscore(KEY, [str(pk) for pk in chunk])
        present += [pk for pk, score in zip(chunk, scores, strict=True) if score and score >= since]
    return present
