"""What the ranking plugs into the apps below it: For You, and the events it learns from.

The feed serves For You through the page maker registered here; likes, comments, remixes
(feed/events.py) and reports (moderation/events.py) become engagement events. What a page
puts in front of a signed-in viewer is kept, so that their events about it can be checked
(ranking/intake.py): For You logs its pages (ServedItem), and the clips of a Following page
are noted (`ClipShown`) by the feed's own page maker, wrapped here. Connected once, from
RankingConfig.ready.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from accounts.models import User
from core.events import DomainEvent
from feed import events as feed_events
from feed import feeds
from feed.feeds import Page, PageMaker
from feed.models import Comment, Post
from feed.selectors import Feed
from moderation import events as moderation_events
from moderation.models import Report

from .event_log import clips_shown_record, event_record
from .models import ClipShown, EngagementEvent
from .recommend import RankedPage
from .services import for_you_serve


def for_you(
    *, viewer: User | None, live: QuerySet[Post], cursor: str | None, size: int
) -> RankedPage:
    """A For You page: ranked for the viewer, logged as served."""
    # For You is discovery: followers-only posts stay in Following and on profiles, a post
    # moderation limited is never recommended, and nobody is recommended their own clips
    # (they are on their profile).
    base = live.filter(visibility=Post.Visibility.PUBLIC, standing=Post.Standing.OK)
    if viewer is not None and viewer.is_authenticated:
        base = base.exclude(owner=viewer)
    return for_you_serve(viewer=viewer, base=base, cursor=cursor, size=size)


def following_noting_shown(following: PageMaker) -> PageMaker:
    """The Following page maker, noting the clips each page shows a signed-in viewer."""
    if getattr(following, "notes_shown", False):
        return following  # connected twice: wrapped once

    def page_of(
        *, viewer: User | None, live: QuerySet[Post], cursor: str | None, size: int
    ) -> Page:
        page = following(viewer=viewer, live=live, cursor=cursor, size=size)
        clips_shown_record(
            viewer=viewer, post_ids=[p.pk for p in page.items], where=ClipShown.Where.FOLLOWING
        )
        return page

    page_of.notes_shown = True  # type: ignore[attr-defined]
    return page_of


def on_post_published(*, post: Post, **kwargs: Any) -> None:
    """Remixing is the strongest "more like this" a clip can get."""
    if post.remix_of_id is not None:
        event_record(viewer=post.owner, post_id=post.remix_of_id, kind=EngagementEvent.Kind.REMIX)


def on_post_liked(*, user: User, post: Post, **kwargs: Any) -> None:
    """A like is a positive label for the viewer and the clip."""
    event_record(viewer=user, post_id=post.pk, kind=EngagementEvent.Kind.LIKE)


def on_post_unliked(*, user: User, post: Post, **kwargs: Any) -> None:
    """Taking a like back is learnt too."""
    event_record(viewer=user, post_id=post.pk, kind=EngagementEvent.Kind.UNLIKE)


def on_comment_created(*, comment: Comment, **kwargs: Any) -> None:
    """A comment says the clip engaged its author."""
    event_record(viewer=comment.author, post_id=comment.post_id, kind=EngagementEvent.Kind.COMMENT)


def on_report_filed(*, report: Report, **kwargs: Any) -> None:
    """A report of a post is the strongest negative signal the feed learns from."""
    if report.case.post_id is not None:
        event_record(
            viewer=report.reporter, post_id=report.case.post_id, kind=EngagementEvent.Kind.REPORT
        )


def connect() -> None:
    """Register For You with the feed and listen to the feed's and moderation's events."""
    feeds.feed_register(Feed.FOR_YOU, for_you)
    # The feed registered Following in its own ready(), which runs before this one.
    feeds.feed_register(Feed.FOLLOWING, following_noting_shown(feeds.feed_maker(Feed.FOLLOWING)))
    receivers: dict[DomainEvent, Callable[..., None]] = {
        feed_events.post_published: on_post_published,
        feed_events.post_liked: on_post_liked,
        feed_events.post_unliked: on_post_unliked,
        feed_events.comment_created: on_comment_created,
        moderation_events.report_filed: on_report_filed,
    }
    for event, receiver in receivers.items():
        event.connect(receiver, dispatch_uid=f"ranking.{receiver.__name__}")
