"""Celery tasks of the feed: hashing the posted files of clips made before they were hashed."""

from __future__ import annotations

from typing import IO

from celery import shared_task

from moderation.perceptual import published_hashes_backfill

from .models import Post

# Posted files hashed per run (~0.1 s each): an instance with years of clips catches up
# within a few days of hourly runs without holding a worker for long.
BACKFILL_BATCH = 200


def _open_video(post_id: int) -> IO[bytes] | None:
    post = Post.objects.filter(pk=post_id).only("video").first()
    if post is None or not post.video.name or not post.video.storage.exists(post.video.name):
        return None
    return post.video.open("rb")


@shared_task(name="feed.published_hashes_backfill")
def published_hashes_backfill_task() -> int:
    """Hash the posted files /verify/'s look-alike search doesn't know yet (beat, hourly)."""
    return published_hashes_backfill(limit=BACKFILL_BATCH, open_video=_open_video)
