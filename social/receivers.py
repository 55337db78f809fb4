"""What the social app does when the apps below tell it something (core/events.py): it
notifies, and carries out moderation's decisions on messages.

Each notifying receiver asks for the `social.notify` task once the sender's transaction
commits (ids only; the task re-reads), best effort (core/events.py `after_commit`): a broker
that can't be reached loses that notification, logged, and never fails the like or comment
that was already saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts import events as accounts_events
from core.events import after_commit
from feed import events as feed_events
from generation import events as generation_events
from moderation import events as moderation_events
from moderation.models import Decision

from . import messaging
from .tasks import notify

# Decisions on a message that take it down.
HIDES_MESSAGE = (Decision.Action.REMOVE, Decision.Action.SUSPEND)


def _later(event: str, **ids: Any) -> None:
    after_commit(notify.delay, event, ids)


def on_post_liked(*, user: Any, post: Any, **kwargs: Any) -> None:
    """A like: the clip's owner hears of it."""
    _later("liked", user_id=user.pk, post_id=post.pk)


def on_comment_created(*, comment: Any, **kwargs: Any) -> None:
    """A comment: the clip's owner and those it mentions hear of it."""
    _later("commented", comment_id=comment.pk)


def on_followed(*, follower: Any, followee: Any, **kwargs: Any) -> None:
    """A new follower."""
    _later("followed", follower_id=follower.pk, followee_id=followee.pk)


def on_post_published(*, post: Any, **kwargs: Any) -> None:
    """A new clip: followers, the remixed clip's owner, those the caption mentions."""
    _later("published", post_id=post.pk)


def on_job_finished(*, job: Any, **kwargs: Any) -> None:
    """A clip finished generating (or failed)."""
    _later("job_finished", job_id=str(job.pk))


def on_notice_sent(*, notice: Any, **kwargs: Any) -> None:
    """A moderation notice or an appeal's outcome."""
    _later("notice_sent", notice_id=notice.pk)


def on_decision_made(*, decision: Any, **kwargs: Any) -> None:
    """Moderation removed a reported message (or suspended its sender for it)."""
    case = decision.case
    if case.message_id and decision.action in HIDES_MESSAGE:
        messaging.message_removed_set(message_id=case.message_id, removed=True)


def on_decision_reversed(*, decision: Any, **kwargs: Any) -> None:
    """An appeal overturned it: the message shows again."""
    if decision.case.message_id:
        messaging.message_removed_set(message_id=decision.case.message_id, removed=False)


def connect() -> None:
    """Listen (called once, from SocialConfig.ready)."""
    pairs: list[tuple[Any, Callable[..., None]]] = [
        (feed_events.post_liked, on_post_liked),
        (feed_events.comment_created, on_comment_created),
        (feed_events.post_published, on_post_published),
        (accounts_events.followed, on_followed),
        (generation_events.job_finished, on_job_finished),
        (moderation_events.notice_sent, on_notice_sent),
        (moderation_events.decision_made, on_decision_made),
        (moderation_events.decision_reversed, on_decision_reversed),
    ]
    for event, receiver in pairs:
        event.connect(receiver, dispatch_uid=f"social.{receiver.__name__}")
