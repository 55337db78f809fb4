"""Which published clip a video looks like: the fallback of /verify/ when no watermark reads.

Every generated clip keeps the PDQ hashes of its frames as published, label and watermark
included (ClipFingerprint.published_hashes). A video is matched the way the hash bank
matches (moderation/hashbank.py): a post matches when at least `hash_share` of the video's
hashed frames lie within `hash_distance` bits of one of the post's frames
(ModerationSettings). A resize or a re-encode keeps PDQ within ~20 bits; a crop moves it
far more (~84 bits for 10%), which the watermark covers instead.

The lookup is a multi-index hash (faiss's IndexBinaryMultiHash, the structure of
ThreatExchange's PDQ index): each 256-bit hash is cut into 16 parts of 16 bits, and a hash
within d bits of a stored one agrees with it to within d // 16 bits on at least one part,
so probing each part with up to d // 16 flipped bits misses nothing within the distance
while touching only a sliver of the stored hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import av
import numpy as np
from django.db.models import Count, Max, Q

from .hashbank import video_hashes
from .models import ClipFingerprint, ModerationSettings

PDQ_BITS = 256
PARTS = 16  # 16 parts of 16 bits each


@dataclass(frozen=True)
class PerceptualMatch:
    """The post a video looks like, and on how many of its hashed frames."""

    post_id: int
    matched: int
    frames: int


@dataclass(frozen=True)
class PublishedIndex:
    """The published clips' frame hashes, searchable, and the post of each stored hash."""

    index: Any  # faiss.IndexBinaryMultiHash (faiss is loaded when an index is first built)
    posts: np.ndarray  # (N,) the post id of each stored hash, in the index's order

    @classmethod
    def of(cls, rows: list[tuple[int, list[str]]]) -> PublishedIndex:
        """An index of (post id, hex hashes) pairs."""
        import faiss

        index = faiss.IndexBinaryMultiHash(PDQ_BITS, PARTS, PDQ_BITS // PARTS)
        posts = np.array([pk for pk, hashes in rows for _ in hashes], dtype=np.int64)
        if len(posts):
            index.add(_bytes([h for _, hashes in rows for h in hashes]))
        return cls(index=index, posts=posts)


def _bytes(hashes: list[str]) -> np.ndarray:
    """Hex hashes as an (N, 32) uint8 array, the layout faiss's binary indexes take."""
    raw = bytes.fromhex("".join(hashes))
    if len(raw) != 32 * len(hashes):
        raise ValueError("a PDQ hash is 64 hex digits")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32)


# The last index this process built, with the (count, highest fingerprint id, highest post
# id, count hashed) of the published fingerprints it was built from: a new post, a deleted
# one or a backfilled file changes them. Building costs ~0.8 s per 100,000 stored hashes
# (5 s for 100,000 clips of 16 frames, one core) and a 16-frame search 3 to 50 ms; the
# check is one query.
_loaded: tuple[tuple[int, int | None, int | None, int], PublishedIndex] | None = None


def published_index() -> PublishedIndex:
    """The frame hashes of every clip that was posted, ready to search."""
    global _loaded
    published = ClipFingerprint.objects.filter(job__published_post_id__isnull=False)
    stamp = published.aggregate(
        count=Count("pk"),
        top=Max("pk"),
        post=Max("job__published_post_id"),
        hashed=Count("pk", filter=Q(published_hashed=True)),
    )
    key = (stamp["count"], stamp["top"], stamp["post"], stamp["hashed"])
    if _loaded is not None and _loaded[0] == key:
        return _loaded[1]
    rows = [
        (int(post_id), hashes)
        for post_id, hashes in published.order_by("pk").values_list(
            "job__published_post_id", "published_hashes"
        )
        if hashes and post_id is not None
    ]
    built = PublishedIndex.of(rows)
    _loaded = (key, built)
    return built


def published_match(
    hashes: list[str], index: PublishedIndex, *, distance: int, share: float
) -> PerceptualMatch | None:
    """The post whose published frames are within `distance` bits of at least `share` of
    these frames (the most such frames; on a tie, the lower post id), or None."""
    if not hashes or not len(index.posts):
        return None
    index.index.nflip = distance // (PDQ_BITS // PARTS)
    # faiss returns distances strictly below the radius.
    limits, _distances, found = index.index.range_search(_bytes(hashes), distance + 1)
    matched: dict[int, int] = {}
    for frame in range(len(hashes)):
        for post_id in {int(index.posts[i]) for i in found[limits[frame] : limits[frame + 1]]}:
            matched[post_id] = matched.get(post_id, 0) + 1
    if not matched:
        return None
    best = min(matched, key=lambda post_id: (-matched[post_id], post_id))
    if matched[best] < share * len(hashes):
        return None
    return PerceptualMatch(post_id=best, matched=matched[best], frames=len(hashes))


def looks_like(hashes: list[str]) -> PerceptualMatch | None:
    """The posted clip these frame hashes match under the instance's hash settings."""
    rules = ModerationSettings.current()
    return published_match(
        hashes, published_index(), distance=rules.hash_distance, share=rules.hash_share
    )


def published_hashes_backfill(*, limit: int, open_video: Callable[[int], IO[bytes] | None]) -> int:
    """Hash the posted files of up to `limit` clips posted before their files were hashed
    (Celery beat runs this until none is left); how many were hashed.

    `open_video(post_id)` opens the post's video file, or returns None when it has none
    (moderation sits below the feed, which owns posts and their files).
    """
    waiting = (
        ClipFingerprint.objects.filter(job__published_post_id__isnull=False, published_hashed=False)
        .values_list("pk", "job__published_post_id")
        .order_by("pk")[:limit]
    )
    done = 0
    for pk, post_id in waiting:
        handle = open_video(post_id) if post_id is not None else None
        hashes = []
        if handle is not None:
            with handle:
                try:
                    hashes = video_hashes(handle)
                except (av.error.FFmpegError, IndexError):
                    hashes = []
        ClipFingerprint.objects.filter(pk=pk).update(published_hashes=hashes, published_hashed=True)
        done += 1
    return done
