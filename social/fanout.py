"""Who hears of what: each domain event the social app listens to, as notifications.

Run by the `social.notify` task (never in the request that made the event), with ids only:
each step re-reads what it needs, and does nothing when that is gone or no longer shown
(a like taken back before the task ran still notifies; a deleted post does not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.mentions import mentioned_users
from accounts.models import Follow
from feed.models import Comment, Post
from feed.selectors import SHOWN, visible_posts
from generation.models import GenerationJob
from moderation.models import Notice

from .models import Message, Notification
from .services import conversation_group, message_group_key, notifications_send, push

Kind = Notification.Kind
State = GenerationJob.State


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _shown_post(post_id: int) -> Post | None:
    return (
        Post.objects.select_related("owner", "remix_of")
        .filter(pk=post_id, standing__in=SHOWN)
        .first()
    )


def _mentions(
    text: str, *, post: Post, actor_id: int, key: str, skip: set[int], **ids: Any
) -> None:
    """Notify those `text` mentions who may see `post` (never the actor, nor `skip`)."""
    people = [user for user in mentioned_users(text) if user.pk not in skip | {actor_id}]
    seeing = [user.pk for user in people if visible_posts(viewer=user).filter(pk=post.pk).exists()]
    notifications_send(
        kind=Kind.MENTION,
        recipient_ids=seeing,
        group_key=key,
        actor_id=actor_id,
        post_id=post.pk,
        text=_snippet(text),
        **ids,
    )


def liked(*, user_id: int, post_id: int) -> None:
    """Someone liked a clip: its owner hears of it, all the clip's likers on one line."""
    post = _shown_post(post_id)
    if post is None:
        return
    notifications_send(
        kind=Kind.LIKE,
        recipient_ids=[post.owner_id],
        group_key=f"like:{post.pk}",
        actor_id=user_id,
        post_id=post.pk,
    )


def commented(*, comment_id: int) -> None:
    """A comment: the clip's owner hears of it, the author of the comment it replies to (all
    of a comment's repliers on one line), and anyone it mentions; each once."""
    comment = Comment.objects.select_related("parent").filter(pk=comment_id, removed=False).first()
    if comment is None:
        return
    post = _shown_post(comment.post_id)
    if post is None:
        return
    told: set[int] = set()
    parent = comment.parent
    if parent is not None and not parent.removed:
        told |= set(
            notifications_send(
                kind=Kind.REPLY,
                recipient_ids=[parent.author_id],
                group_key=f"reply:{parent.pk}",
                actor_id=comment.author_id,
                post_id=post.pk,
                comment_id=comment.pk,
                text=_snippet(comment.body),
            )
        )
    if post.owner_id not in told:
        notifications_send(
            kind=Kind.COMMENT,
            recipient_ids=[post.owner_id],
            group_key=f"comment:{post.pk}",
            actor_id=comment.author_id,
            post_id=post.pk,
            comment_id=comment.pk,
            text=_snippet(comment.body),
        )
    _mentions(
        comment.body,
        post=post,
        actor_id=comment.author_id,
        key=f"mention:c{comment.pk}",
        skip=told | {post.owner_id},
        comment_id=comment.pk,
    )


def followed(*, follower_id: int, followee_id: int) -> None:
    """A new follower: one line for all of a person's new followers."""
    if not Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).exists():
        return  # unfollowed (or blocked) before this ran
    notifications_send(
        kind=Kind.FOLLOW, recipient_ids=[followee_id], group_key="follow", actor_id=follower_id
    )


def published(*, post_id: int) -> None:
    """A new clip: the remixed clip's owner, the owner's followers (when they may see it) and
    anyone the caption mentions hear of it."""
    post = _shown_post(post_id)
    if post is None or not post.owner.is_active or post.owner.is_suspended:
        return
    owner_id = post.owner_id
    told: set[int] = set()
    source = post.remix_of
    if source is not None and source.owner_id != owner_id:
        told |= set(
            notifications_send(
                kind=Kind.REMIX,
                recipient_ids=[source.owner_id],
                group_key=f"remix:{source.pk}",
                actor_id=owner_id,
                post_id=post.pk,
            )
        )
    if post.visibility != Post.Visibility.PRIVATE:
        followers = Follow.objects.filter(followee_id=owner_id).values_list(
            "follower_id", flat=True
        )
        notifications_send(
            kind=Kind.NEW_POST,
            recipient_ids=[pk for pk in followers.iterator(chunk_size=5000) if pk not in told],
            group_key=f"new_post:{owner_id}",
            actor_id=owner_id,
            post_id=post.pk,
        )
    if post.caption:
        _mentions(post.caption, post=post, actor_id=owner_id, key=f"mention:p{post.pk}", skip=told)


def job_finished(*, job_id: str) -> None:
    """A clip finished: ready as a draft, or why it could not be made. A cancel says nothing
    (its owner asked for it)."""
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or job.state not in (State.SUCCEEDED, State.FAILED, State.TIMED_OUT):
        return
    text = "" if job.state == State.SUCCEEDED else _snippet(job.failure_message or "It failed.")
    notifications_send(
        kind=Kind.CLIP_READY,
        recipient_ids=[job.owner_id],
        group_key=f"job:{job.pk}",
        job_id=str(job.pk),
        text=text,
    )


def notice_sent(*, notice_id: int) -> None:
    """A moderation notice or an appeal's outcome: its subject, linking to the notice."""
    notice = Notice.objects.filter(pk=notice_id).first()
    if notice is None:
        return
    notifications_send(
        kind=Kind.MODERATION,
        recipient_ids=[notice.recipient_id],
        group_key=f"notice:{notice.pk}",
        notice_id=notice.pk,
        text=_snippet(notice.subject),
    )


def messaged(*, message_id: int) -> None:
    """A message: its conversation's open pages show it, and its recipient hears of it (all
    of one conversation's unread messages on one line)."""
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None:
        return
    conversation = message.conversation
    push(group=conversation_group(conversation.pk), event="conversation.changed")
    recipient = conversation.other_id(message.sender_id)
    if conversation.declined is not None:
        return
    notifications_send(
        kind=Kind.MESSAGE,
        recipient_ids=[recipient],
        group_key=message_group_key(conversation.pk),
        actor_id=message.sender_id,
        text=_snippet(message.body) if message.body else "Shared a clip",
    )


STEPS: dict[str, Callable[..., None]] = {
    "liked": liked,
    "commented": commented,
    "followed": followed,
    "published": published,
    "job_finished": job_finished,
    "notice_sent": notice_sent,
    "messaged": messaged,
}


def fan_out(event: str, ids: dict[str, Any]) -> None:
    """Carry out one event's notifications (an unknown event is a bug: it raises)."""
    STEPS[event](**ids)
