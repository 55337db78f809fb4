"""Engagement logs the ranking tests share."""

from __future__ import annotations

from collections.abc import Sequence

from accounts.models import User
from feed.models import Post
from ranking.event_log import events_record
from ranking.intake import EventIn


def liked_or_skipped(viewers: Sequence[User], posts: Sequence[Post]) -> None:
    """Each viewer shown each post: liked and watched to the end where the pair's places
    add up to an odd number, skipped after 1.5 s where even."""
    for v, viewer in enumerate(viewers):
        for p, post in enumerate(posts):
            events = [EventIn(post_id=post.pk, kind="impression")]
            if (v + p) % 2:
                events += [EventIn(post_id=post.pk, kind="like")]
                events += [EventIn(post_id=post.pk, kind="complete")]
            else:
                events += [EventIn(post_id=post.pk, kind="skip", value=1.5)]
            events_record(viewer=viewer, events=events)
