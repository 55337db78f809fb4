"""#tags in captions: which a caption carries, and keeping each post's tags in step.

A tag is "#" then 1 to 50 letters, digits or underscores (any script), not preceded by a
letter, digit, underscore, "#" or "&" (so "C#" and "&#39;" tag nothing). Tags are kept
lowercased: #Koi and #koi are one tag.
"""

from __future__ import annotations

import re

from core.text import distinct_matches

from .models import Post, PostTag

TAG = re.compile(r"(?<![\w#&])#(\w{1,50})(?![\w#])")
# At most this many tags are kept from one caption.
TAGS_MAX = 20


def tags_in(text: str) -> list[str]:
    """The distinct tags of a text, lowercased, in order, at most TAGS_MAX."""
    return distinct_matches(TAG, text, TAGS_MAX)


def post_tags_sync(*, post: Post) -> None:
    """Make the post's stored tags those of its caption (inside the caller's transaction)."""
    wanted = set(tags_in(post.caption))
    stored = set(PostTag.objects.filter(post=post).values_list("tag", flat=True))
    if stored - wanted:
        PostTag.objects.filter(post=post, tag__in=stored - wanted).delete()
    if wanted - stored:
        PostTag.objects.bulk_create(
            [PostTag(post=post, tag=tag) for tag in sorted(wanted - stored)],
            ignore_conflicts=True,
        )
