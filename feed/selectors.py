"""Reads for the feed: visible posts, feed pages, comments."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from accounts.models import Follow, User
from accounts.selectors import following_ids
from ranking import selectors as ranking

from .models import Comment, Like, Post


class Feed:
    """The feeds a viewer can open."""

    FOR_YOU = "for_you"
    FOLLOWING = "following"
    ALL = (FOR_YOU, FOLLOWING)


def post_queryset() -> QuerySet[Post]:
    """Posts with what a card shows joined in: the base of every post read."""
    return Post.objects.select_related("owner__profile", "remix_of__owner")


def visible_posts(*, viewer: User | None) -> QuerySet[Post]:
    """Posts this viewer may see: public ones, followers-only of people they follow, their own."""
    qs = post_queryset().filter(owner__is_active=True)
    if viewer is None or not viewer.is_authenticated:
        return qs.filter(visibility=Post.Visibility.PUBLIC)
    followed = Follow.objects.filter(follower=viewer).values("followee_id")
    return qs.filter(
        Q(visibility=Post.Visibility.PUBLIC)
        | Q(owner=viewer)
        | Q(visibility=Post.Visibility.FOLLOWERS, owner_id__in=followed)
    )


def post_visible(*, viewer: User | None, pk: int) -> Post | None:
    """The post if this viewer may see it, else None."""
    return visible_posts(viewer=viewer).filter(pk=pk).first()


@dataclass
class PostCard:
    """A post with what this viewer's card needs to know about it."""

    post: Post
    liked: bool
    following_owner: bool


def cards_for(*, viewer: User | None, posts: list[Post]) -> list[PostCard]:
    """Wrap posts with the viewer's like and follow state: two queries whatever the length."""
    liked: set[int] = set()
    if viewer is not None and viewer.is_authenticated and posts:
        liked = set(
            Like.objects.filter(user=viewer, post__in=[p.pk for p in posts]).values_list(
                "post_id", flat=True
            )
        )
    followed = following_ids(user=viewer, among=list({p.owner_id for p in posts}))
    return [
        PostCard(post=p, liked=p.pk in liked, following_owner=p.owner_id in followed) for p in posts
    ]


@dataclass
class FeedPage:
    """One page of a feed, ready to render."""

    cards: list[PostCard]
    next_cursor: str | None


def feed_page(*, viewer: User | None, feed: str, cursor: str | None, size: int) -> FeedPage:
    """A page of For You or Following; ranking orders it and cuts the page."""
    # Each feed states its visibility rule directly rather than narrowing visible_posts():
    # a plain filter lets PostgreSQL walk the (visibility, created) index instead of
    # sorting every row that an OR of the three visibility cases matches.
    live = post_queryset().filter(owner__is_active=True)
    if feed == Feed.FOLLOWING:
        if viewer is None or not viewer.is_authenticated:
            return FeedPage(cards=[], next_cursor=None)
        followed = Follow.objects.filter(follower=viewer).values("followee_id")
        candidates = live.filter(
            owner_id__in=followed,
            visibility__in=[Post.Visibility.PUBLIC, Post.Visibility.FOLLOWERS],
        )
    elif feed == Feed.FOR_YOU:
        # For You is discovery: followers-only posts stay in Following and on profiles.
        candidates = live.filter(visibility=Post.Visibility.PUBLIC)
    else:
        raise ValueError(f"Unknown feed {feed!r}")
    page = ranking.feed_page(viewer=viewer, candidates=candidates, cursor=cursor, size=size)
    return FeedPage(cards=cards_for(viewer=viewer, posts=page.items), next_cursor=page.next_cursor)


def profile_posts(*, viewer: User | None, owner: User) -> QuerySet[Post]:
    """The posts on someone's profile grid that this viewer may see, newest first."""
    return visible_posts(viewer=viewer).filter(owner=owner).order_by("-created", "-id")


def post_comments(*, post: Post) -> QuerySet[Comment]:
    """A post's comments, oldest first, with their authors."""
    return (
        Comment.objects.filter(post=post)
        .select_related("author__profile")
        .order_by("created", "id")
    )
