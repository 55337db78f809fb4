"""Search and discover: people, clips (caption and prompt) and tags, and what is lively.

Clips are found by PostgreSQL full-text search over caption and prompt, with the GIN index
feed/migrations/0008 builds on the same expression (the `simple` configuration: words as
written, no stemming, as prompts mix languages); the embedded SQLite mode matches every word
as a substring instead. Everything found goes through the feed's visibility rule, so a
search never shows what the page itself wouldn't (blocks, moderation, followers-only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Block, User
from feed.models import Post, PostTag
from feed.selectors import visible_posts
from ranking.selectors import similar_post_ids, trending_post_ids

# Results of each kind on one search page.
PEOPLE_MAX = 8
CLIPS_MAX = 24
TAGS_MAX = 10
# A query longer than this is cut (the form says so too).
QUERY_MAX = 100
# Trending tags count the clips posted this recently.
TRENDING_TAG_DAYS = 7


@dataclass
class Results:
    """What one search found."""

    query: str
    people: list[User] = field(default_factory=list)
    clips: list[Post] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing of any kind."""
        return not (self.people or self.clips or self.tags)


def clean_query(text: str) -> str:
    """The query as searched: spaces collapsed, at most QUERY_MAX characters."""
    return " ".join(text.split())[:QUERY_MAX]


def _search_vector() -> SearchVector:
    return SearchVector("caption", "prompt", config="simple")


def search_clips(*, viewer: User | None, query: str, limit: int = CLIPS_MAX) -> list[Post]:
    """Clips whose caption or prompt has every word of the query, best match first."""
    words = query.replace("#", " ").split()
    if not words:
        return []
    base = visible_posts(viewer=viewer)
    found: QuerySet[Post]
    if connection.vendor == "postgresql":
        wanted = SearchQuery(" ".join(words), search_type="websearch", config="simple")
        found = (
            base.annotate(match=_search_vector())
            .filter(match=wanted)
            .annotate(rank=SearchRank(_search_vector(), wanted))
            .order_by("-rank", "-created", "-id")
        )
    else:
        condition = Q()
        for word in words:
            condition &= Q(caption__icontains=word) | Q(prompt__icontains=word)
        found = base.filter(condition).order_by("-created", "-id")
    return list(found[:limit])


def _people(viewer: User | None) -> QuerySet[User]:
    people = User.objects.filter(is_active=True, suspended_at__isnull=True)
    if viewer is not None and viewer.is_authenticated:
        people = people.exclude(
            pk__in=Block.objects.filter(blocker=viewer).values("blocked_id")
        ).exclude(pk__in=Block.objects.filter(blocked=viewer).values("blocker_id"))
    return people.select_related("profile")


def search_people(*, viewer: User | None, query: str, limit: int = PEOPLE_MAX) -> list[User]:
    """People whose handle starts with the query, or whose name has it; handles first."""
    text = query.lstrip("@").strip()
    if not text:
        return []
    people = _people(viewer)
    by_handle = list(people.filter(username__istartswith=text).order_by("username")[:limit])
    if len(by_handle) == limit:
        return by_handle
    by_name = people.filter(profile__display_name__icontains=text).exclude(
        pk__in=[person.pk for person in by_handle]
    )
    return by_handle + list(by_name.order_by("username")[: limit - len(by_handle)])


def _tag_counts(tags: QuerySet[PostTag]) -> list[tuple[str, int]]:
    shown = tags.filter(
        post__visibility=Post.Visibility.PUBLIC,
        post__standing=Post.Standing.OK,
        post__owner__suspended_at__isnull=True,
    )
    rows = shown.values("tag").annotate(clips=Count("post")).order_by("-clips", "tag")
    return [(row["tag"], row["clips"]) for row in rows[:TAGS_MAX]]


def search_tags(*, query: str) -> list[tuple[str, int]]:
    """Tags starting with the query's first word, with how many public clips carry each."""
    words = query.lstrip("#").lower().split()
    if not words:
        return []
    return _tag_counts(PostTag.objects.filter(tag__startswith=words[0].lstrip("#")))


def search(*, viewer: User | None, query: str) -> Results:
    """People, clips and tags for a query (a constant number of queries)."""
    query = clean_query(query)
    if not query:
        return Results(query="")
    return Results(
        query=query,
        people=search_people(viewer=viewer, query=query),
        clips=search_clips(viewer=viewer, query=query),
        tags=search_tags(query=query),
    )


def _in_order(viewer: User | None, ids: list[int]) -> list[Post]:
    """The posts of `ids` the viewer may see, in the order of `ids`."""
    if not ids:
        return []
    found = {post.pk: post for post in visible_posts(viewer=viewer).filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]


def clips_like(*, viewer: User | None, post: Post, limit: int = CLIPS_MAX) -> list[Post]:
    """Clips whose prompts are nearest this one's, that the viewer may see."""
    return _in_order(viewer, similar_post_ids(post=post, n=limit))


@dataclass
class Discover:
    """The Discover page: lively tags and clips."""

    tags: list[tuple[str, int]]
    clips: list[Post]


def discover(*, viewer: User | None) -> Discover:
    """Tags on the most clips posted this week, and the clips with the most engagement
    lately (For You's trending source), as far as the viewer may see them."""
    since = timezone.now() - timedelta(days=TRENDING_TAG_DAYS)
    tags = _tag_counts(PostTag.objects.filter(post__created__gte=since))
    clips = _in_order(viewer, trending_post_ids(n=CLIPS_MAX * 2))[:CLIPS_MAX]
    if len(clips) < CLIPS_MAX:  # a young instance: fill up with the newest
        newest = visible_posts(viewer=viewer).filter(visibility=Post.Visibility.PUBLIC)
        newest = newest.exclude(pk__in=[post.pk for post in clips]).order_by("-created", "-id")
        clips += list(newest[: CLIPS_MAX - len(clips)])
    return Discover(tags=tags, clips=clips)
