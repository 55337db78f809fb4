"""Reads for the feed: visible posts, feed pages, comments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from accounts.export import export_rows
from accounts.models import Block, Follow, User
from accounts.selectors import following_ids
from core.media import media_url
from core.pagination import keyset_page
from generation import selectors as generation
from moderation.selectors import is_moderator

from .models import Comment, CommentLike, Like, Post

if TYPE_CHECKING:
    from moderation.content_credentials import CredentialReading
    from moderation.provenance import ClipInspection


class Feed:
    """The feeds a viewer can open."""

    FOR_YOU = "for_you"
    FOLLOWING = "following"
    ALL = (FOR_YOU, FOLLOWING)


def post_queryset() -> QuerySet[Post]:
    """Posts with what a card shows joined in: the base of every post read."""
    return Post.objects.select_related("owner__profile", "remix_of__owner")


# Moderation's standings that others may still see (a limited post stays off For You only).
SHOWN = (Post.Standing.OK, Post.Standing.LIMITED)


def live_posts() -> QuerySet[Post]:
    """Posts moderation leaves up, by accounts that are active and not suspended."""
    return post_queryset().filter(
        owner__is_active=True, owner__suspended_at__isnull=True, standing__in=SHOWN
    )


def visible_posts(*, viewer: User | None) -> QuerySet[Post]:
    """Posts this viewer may see: the one rule every page, API, media URL and action uses.

    Public posts, followers-only ones of people they follow, and their own. Never a post of
    someone they blocked or who blocked them, of a suspended or deactivated account, or one
    held or removed by moderation: that stays visible to its owner only, who sees why. Drafts
    are generation jobs, not posts: only their owner sees them (generation.selectors).
    """
    if viewer is None or not viewer.is_authenticated:
        return live_posts().filter(visibility=Post.Visibility.PUBLIC)
    followed = Follow.objects.filter(follower=viewer).values("followee_id")
    blocked = Block.objects.filter(blocker=viewer).values("blocked_id")
    blockers = Block.objects.filter(blocked=viewer).values("blocker_id")
    return post_queryset().filter(
        Q(owner=viewer)
        | (
            (
                Q(visibility=Post.Visibility.PUBLIC)
                | Q(visibility=Post.Visibility.FOLLOWERS, owner_id__in=followed)
            )
            & Q(owner__is_active=True, owner__suspended_at__isnull=True, standing__in=SHOWN)
            & ~Q(owner_id__in=blocked)
            & ~Q(owner_id__in=blockers)
        )
    )


def anyone_may_see(post: Post) -> bool:
    """Whether a signed-out stranger may see this post: the rule above for nobody."""
    return (
        post.visibility == Post.Visibility.PUBLIC
        and post.standing in SHOWN
        and post.owner.is_active
        and not post.owner.is_suspended
    )


def post_visible(*, viewer: User | None, pk: int) -> Post | None:
    """The post if this viewer may see it, else None."""
    return visible_posts(viewer=viewer).filter(pk=pk).first()


def post_media_may_open(post: Post, viewer: User | None) -> bool:
    """Whether this viewer may open the post's video and poster: when they may see the post,
    or as a moderator, when a case is about it."""
    if visible_posts(viewer=viewer).filter(pk=post.pk).exists():
        return True
    return viewer is not None and is_moderator(viewer) and post.cases.exists()


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


@dataclass
class PostsPage:
    """Posts in the order a feed shows them, and where its next page starts."""

    items: list[Post]
    next_cursor: str | None


def following_page(
    *, viewer: User | None, live: QuerySet[Post], cursor: str | None, size: int
) -> PostsPage:
    """Following: the newest posts of the people the viewer follows (none when signed out)."""
    # Each feed states its visibility rule directly rather than narrowing visible_posts():
    # a plain filter lets PostgreSQL walk the (visibility, created) index instead of
    # sorting every row that an OR of the three visibility cases matches.
    if viewer is None or not viewer.is_authenticated:
        return PostsPage(items=[], next_cursor=None)
    followed = Follow.objects.filter(follower=viewer).values("followee_id")
    candidates = live.filter(
        owner_id__in=followed,
        visibility__in=[Post.Visibility.PUBLIC, Post.Visibility.FOLLOWERS],
    )
    posts, next_cursor = keyset_page(candidates, cursor=cursor, size=size)
    return PostsPage(items=posts, next_cursor=next_cursor)


def profile_posts(*, viewer: User | None, owner: User) -> QuerySet[Post]:
    """The posts on someone's profile grid that this viewer may see, newest first."""
    return visible_posts(viewer=viewer).filter(owner=owner).order_by("-created", "-id")


def tag_posts(*, viewer: User | None, tag: str) -> QuerySet[Post]:
    """The posts carrying a #tag that this viewer may see, newest first."""
    return visible_posts(viewer=viewer).filter(tags__tag=tag).order_by("-created", "-id")


def remix_count(*, viewer: User | None, post: Post) -> int:
    """How many remixes of this post the viewer may see (direct ones only)."""
    return visible_posts(viewer=viewer).filter(remix_of=post).count()


# How far up a remix chain, and how many remixes below a clip, its lineage page reaches.
LINEAGE_MAX_DEPTH = 50
LINEAGE_MAX_REMIXES = 300


@dataclass
class RemixNode:
    """A remix in a lineage tree, with the remixes made from it."""

    post: Post
    children: list[RemixNode]


@dataclass
class Lineage:
    """Where a clip comes from and what was made from it, as far as this viewer may see."""

    post: Post
    ancestors: list[Post]  # the original first, the direct source last
    hidden_ancestors: int  # links in the chain this viewer can't see
    remixes: list[RemixNode]  # oldest first, each with its own remixes
    remix_count: int  # every remix in the tree, at any depth


def _chain_rows(sql: str, params: list[int]) -> list[tuple[int, int | None]]:
    """(id, remix_of_id) rows of a recursive walk over the remix links."""
    table = connection.ops.quote_name(Post._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=table), params)
        return [(row[0], row[1]) for row in cursor.fetchall()]


def post_lineage(*, viewer: User | None, post: Post) -> Lineage:
    """A clip's ancestors and its remix tree in three queries, however long the chain.

    Both walks are recursive queries (PostgreSQL and SQLite alike); the posts they find
    are then read through visible_posts, so a private link is counted but never shown.
    """
    up = _chain_rows(
        """
        WITH RECURSIVE chain(id, remix_of_id, depth) AS (
            SELECT id, remix_of_id, 0 FROM {table} WHERE id = %s
            UNION ALL
            SELECT p.id, p.remix_of_id, c.depth + 1
            FROM {table} p JOIN chain c ON p.id = c.remix_of_id
            WHERE c.depth < %s
        )
        SELECT id, remix_of_id FROM chain WHERE depth > 0 ORDER BY depth DESC
        """,
        [post.pk, LINEAGE_MAX_DEPTH],
    )
    down = _chain_rows(
        """
        WITH RECURSIVE tree(id, remix_of_id, depth) AS (
            SELECT id, remix_of_id, 1 FROM {table} WHERE remix_of_id = %s
            UNION ALL
            SELECT p.id, p.remix_of_id, t.depth + 1
            FROM {table} p JOIN tree t ON p.remix_of_id = t.id
            WHERE t.depth < %s
        )
        SELECT id, remix_of_id FROM tree ORDER BY depth, id LIMIT %s
        """,
        [post.pk, LINEAGE_MAX_DEPTH, LINEAGE_MAX_REMIXES],
    )
    ids = [pk for pk, _ in up] + [pk for pk, _ in down]
    visible = {p.pk: p for p in visible_posts(viewer=viewer).filter(pk__in=ids)} if ids else {}

    ancestors = [visible[pk] for pk, _ in up if pk in visible]
    # A remix of a hidden remix hangs under the nearest link this viewer can see.
    parent_of = dict(down)
    nodes = {pk: RemixNode(post=visible[pk], children=[]) for pk, _ in down if pk in visible}
    roots: list[RemixNode] = []
    for node in sorted(nodes.values(), key=lambda n: (n.post.created, n.post.pk)):
        parent = parent_of[node.post.pk]
        while parent is not None and parent != post.pk and parent not in nodes:
            parent = parent_of.get(parent)
        (nodes[parent].children if parent in nodes else roots).append(node)
    return Lineage(
        post=post,
        ancestors=ancestors,
        hidden_ancestors=len(up) - len(ancestors),
        remixes=roots,
        remix_count=len(nodes),
    )


def post_comments(*, post: Post) -> QuerySet[Comment]:
    """A post's shown comments and replies, oldest first, with their authors."""
    return (
        Comment.objects.filter(post=post, removed=False, author__suspended_at__isnull=True)
        .select_related("author__profile")
        .order_by("created", "id")
    )


@dataclass
class CommentThreads:
    """A post's comments as its page shows them: each with its replies
    (`comment.shown_replies`), and which of them the viewer liked."""

    comments: Sequence[Comment]
    liked: set[int]


def comment_threads(*, post: Post, viewer: User | None) -> CommentThreads:
    """The post's shown top-level comments, oldest first, each with its shown replies
    (three queries, and one for the viewer's likes)."""
    shown = post_comments(post=post)
    comments = list(
        shown.filter(parent__isnull=True).prefetch_related(
            Prefetch("replies", queryset=shown, to_attr="shown_replies")
        )
    )
    every = [*comments, *(reply for comment in comments for reply in comment.shown_replies)]
    return CommentThreads(comments=comments, liked=comments_liked(viewer=viewer, comments=every))


def comments_liked(*, viewer: User | None, comments: Sequence[Comment]) -> set[int]:
    """Which of these comments the viewer likes (one query; none signed out)."""
    if viewer is None or not viewer.is_authenticated or not comments:
        return set()
    return set(
        CommentLike.objects.filter(user=viewer, comment__in=comments).values_list(
            "comment_id", flat=True
        )
    )


@dataclass
class ClipOrigin:
    """What a video is, as far as this instance can tell, and the post it matches."""

    inspection: ClipInspection
    made_here: bool  # its signature, watermark or look leads to a clip made here
    post: Post | None  # the matching post, when this viewer may see it
    # How the clip was found: "credentials", "watermark", "perceptual", or "" (it wasn't).
    found_by: str = ""
    # The matched post's own stored credentials, when the video's own don't hold up (the
    # verify view fills them in: a copy stripped of its manifest leads back to it).
    stored: CredentialReading | None = None


def clip_origin(*, viewer: User | None, inspection: ClipInspection) -> ClipOrigin:
    """Match an inspected video to a clip of this instance and, if visible, its post: by its
    own trusted signature, else its watermark, else the posted clip it looks like."""
    credentials = inspection.credentials
    # Only this instance's own, unbroken signature is taken at its word about the clip id.
    clip_id = credentials.clip_id if credentials.state == "Trusted" else None
    payload = inspection.watermark.payload
    job = generation.job_for_clip(watermark_id=payload, clip_id=clip_id)
    post_id, found_by = None, ""
    if job is not None:
        post_id, found_by = job.published_post_id, "credentials" if clip_id else "watermark"
    elif inspection.perceptual is not None:
        post_id, found_by = inspection.perceptual.post_id, "perceptual"
    post = post_visible(viewer=viewer, pk=post_id) if post_id is not None else None
    return ClipOrigin(inspection=inspection, made_here=bool(found_by), post=post, found_by=found_by)


def binding_post(*, viewer: User | None, watermark_id: int) -> Post | None:
    """The posted clip that carries this watermark id, if this viewer may see it."""
    job = generation.job_for_clip(watermark_id=watermark_id, clip_id=None)
    if job is None or job.published_post_id is None:
        return None
    return post_visible(viewer=viewer, pk=job.published_post_id)


def comment_visible(*, viewer: User | None, pk: int) -> Comment | None:
    """The comment if it is shown and this viewer may see its post, else None."""
    comment = Comment.objects.filter(pk=pk, removed=False).select_related("post").first()
    if comment is None or post_visible(viewer=viewer, pk=comment.post_id) is None:
        return None
    return comment


def export_of(user: User) -> dict[str, Any]:
    """A person's posts, comments and likes, for their data download."""
    posts = [
        {
            "id": post.pk,
            "url": post.get_absolute_url(),
            "caption": post.caption,
            "prompt": post.prompt,
            "model": post.model_name,
            "visibility": post.visibility,
            "standing": post.standing,
            "remix_of": post.remix_of_id,
            "created": post.created.isoformat(),
            "video_url": media_url(post.video, viewer=user),
            "poster_url": media_url(post.poster, viewer=user),
        }
        for post in post_queryset().filter(owner=user).order_by("created", "id")
    ]
    comments = export_rows(
        Comment.objects.filter(author=user), "post_id", "body", "removed", "created"
    )
    likes = Like.objects.filter(user=user).order_by("created").values_list("post_id", flat=True)
    return {"posts": posts, "comments": comments, "liked_posts": list(likes)}
