"""One-to-one messages: sending (the checks first), Requests, reading, and the lists.

A message goes only between two people who can see each other: never across a block,
never to or from a suspended or closed account. Someone the recipient doesn't follow
lands in their Requests until they accept, answer, decline or block; a declined sender
can't write again. Messages hold text (up to 1,000 characters, no control characters)
and clip links only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.urls import reverse
from django.utils import timezone

from accounts.models import Block, Follow, User
from accounts.selectors import user_by_handle
from accounts.services import block_create
from core.events import after_commit
from core.text import has_control_characters
from feed.models import Post
from feed.selectors import visible_posts

from .models import Conversation, Message
from .services import message_group_key, notifications_mark_read
from .tasks import notify

BODY_MAX = 1000
# Messages a conversation page shows at a time (the newest).
PAGE_SIZE = 50
# What a refusal says: the same whether they blocked you, you them, or they are gone.
CANNOT = "You can't message this person."


NOT_TEXT = "A message is text: it can't hold control characters."
# What shows in place of a message moderation removed.
REMOVED = "This message was removed by moderation."
# How many messages, up to the reported one, a report on a message keeps for the moderator.
REPORT_CONTEXT = 10


def clean_body(body: str) -> str:
    """The text of a message as kept; ValidationError for control characters or length."""
    body = body.strip()
    if has_control_characters(body):
        raise ValidationError({"body": NOT_TEXT})
    if len(body) > BODY_MAX:
        raise ValidationError({"body": f"A message can be at most {BODY_MAX} characters."})
    return body


def _pair(a: User, b: User) -> tuple[int, int]:
    return (a.pk, b.pk) if a.pk < b.pk else (b.pk, a.pk)


def may_message(*, sender: User, recipient: User) -> bool:
    """Whether `sender` may write to `recipient` at all (not counting a declined request)."""
    if sender.pk == recipient.pk or not recipient.is_active or recipient.is_suspended:
        return False
    return not Block.objects.filter(
        Q(blocker=sender, blocked=recipient) | Q(blocker=recipient, blocked=sender)
    ).exists()


def talk_with(*, user: User, handle: str) -> tuple[User, Conversation | None] | None:
    """The person with this handle and their conversation with `user` (None if they have
    none yet); None when there is nothing here for `user`: nobody by that handle, yourself,
    a block either way, a closed or suspended account, or a request they declined."""
    other = user_by_handle(handle=handle.lstrip("@"))
    if other is None or not may_message(sender=user, recipient=other):
        return None
    talk = conversation_between(user=user, other=other)
    if talk is not None and talk.declined and talk.started_by_id == user.pk:
        return None
    return other, talk


ANSWERS = ("accept", "decline", "block")


def request_answer(*, user: User, other: User, conversation: Conversation, answer: str) -> None:
    """Answer a request: accept it, decline it, or block its sender (`answer` in ANSWERS)."""
    if answer == "accept":
        conversation_accept(user=user, conversation=conversation)
    elif answer == "decline":
        conversation_decline(user=user, conversation=conversation)
    else:
        block_create(blocker=user, blocked=other)


def conversation_between(*, user: User, other: User) -> Conversation | None:
    """Their conversation, if they have one."""
    first, second = _pair(user, other)
    return Conversation.objects.filter(first_id=first, second_id=second).first()


def message_send(*, sender: User, recipient: User, body: str, post: Post | None = None) -> Message:
    """Send a message (text, a clip, or both); the conversation is made on the first one.

    PermissionDenied when they may not write (a block either way, a closed or suspended
    account, a declined request); ValidationError for an empty or malformed message or a
    clip the sender can't see.
    """
    body = clean_body(body)
    if not body and post is None:
        raise ValidationError({"body": "Write something, or share a clip."})
    if post is not None and not visible_posts(viewer=sender).filter(pk=post.pk).exists():
        raise ValidationError({"post": "That clip doesn't exist or isn't visible to you."})
    if not may_message(sender=sender, recipient=recipient):
        raise PermissionDenied(CANNOT)
    first, second = _pair(sender, recipient)
    now = timezone.now()
    with transaction.atomic():
        conversation, made = Conversation.objects.select_for_update().get_or_create(
            first_id=first,
            second_id=second,
            defaults={
                "started_by": sender,
                "accepted": Follow.objects.filter(follower=recipient, followee=sender).exists(),
            },
        )
        if conversation.declined is not None:
            if conversation.started_by_id == sender.pk:
                raise PermissionDenied(CANNOT)
            conversation.declined = None  # the one who declined writes after all
        if not made and conversation.is_request_for(sender.pk):
            conversation.accepted = True  # an answer accepts the request
        message = Message(conversation=conversation, sender=sender, body=body, post=post)
        message.full_clean()
        message.save()
        conversation.last_message_at = now
        _mark_read(conversation, sender.pk, now)
        conversation.save()
        after_commit(notify.delay, "messaged", {"message_id": message.pk})
    return message


def _mark_read(conversation: Conversation, user_id: int, when: object) -> None:
    if user_id == conversation.first_id:
        conversation.first_read = when  # type: ignore[assignment]
    else:
        conversation.second_read = when  # type: ignore[assignment]


def conversation_read(*, user: User, conversation: Conversation) -> None:
    """This person has read the conversation up to now (and the bell's line about it)."""
    field = "first_read" if user.pk == conversation.first_id else "second_read"
    Conversation.objects.filter(pk=conversation.pk).update(**{field: timezone.now()})
    notifications_mark_read(user=user, group_key=message_group_key(conversation.pk))


def conversation_accept(*, user: User, conversation: Conversation) -> None:
    """Take a request out of Requests into the inbox."""
    if not conversation.is_request_for(user.pk):
        return
    Conversation.objects.filter(pk=conversation.pk).update(accepted=True, declined=None)


def conversation_decline(*, user: User, conversation: Conversation) -> None:
    """Turn a request down: it leaves this person's lists, and its sender can't write again."""
    if not conversation.is_request_for(user.pk):
        return
    Conversation.objects.filter(pk=conversation.pk).update(declined=timezone.now())


# --- reads ------------------------------------------------------------------------------------


@dataclass
class Row:
    """A conversation as a list shows it, from one person's side."""

    conversation: Conversation
    other: User
    last_body: str
    last_sender_id: int | None
    unread: bool


def _mine(user: User, *, requests: bool) -> QuerySet[Conversation]:
    """A person's inbox, or their Requests; never a declined one, nor across a block."""
    mine = Conversation.objects.filter(Q(first=user) | Q(second=user), declined__isnull=True)
    waiting = Q(accepted=False) & ~Q(started_by=user)
    mine = mine.filter(waiting) if requests else mine.exclude(waiting)
    blocked = Block.objects.filter(blocker=user).values("blocked_id")
    blockers = Block.objects.filter(blocked=user).values("blocker_id")
    mine = mine.exclude(Q(first_id__in=blocked) | Q(second_id__in=blocked))
    return mine.exclude(Q(first_id__in=blockers) | Q(second_id__in=blockers))


def conversations_of(*, user: User, requests: bool = False) -> list[Row]:
    """A person's conversations, newest first: the inbox, or (`requests`) those waiting in
    their Requests (one query)."""
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-id")
    rows = (
        _mine(user, requests=requests)
        .annotate(
            last_body=Subquery(last.values("body")[:1]),
            last_removed=Subquery(last.values("removed")[:1]),
            last_sender=Subquery(last.values("sender_id")[:1]),
        )
        .select_related("first__profile", "second__profile")
        .order_by("-last_message_at")[:100]
    )
    out = []
    for conversation in rows:
        other = conversation.second if conversation.first_id == user.pk else conversation.first
        read = conversation.read_by(user.pk)
        out.append(
            Row(
                conversation=conversation,
                other=other,
                last_body=REMOVED if conversation.last_removed else conversation.last_body or "",
                last_sender_id=conversation.last_sender,
                unread=read is None or read < conversation.last_message_at,
            )
        )
    return out


def requests_count(*, user: User) -> int:
    """How many conversations wait in this person's Requests."""
    return _mine(user, requests=True).count()


def messages_of(*, conversation: Conversation, after: int | None = None) -> QuerySet[Message]:
    """The conversation's newest PAGE_SIZE messages, or those after id `after`, oldest first
    (one query, with senders and shared clips)."""
    base = Message.objects.filter(conversation=conversation).select_related(
        "sender__profile", "post__owner"
    )
    if after is not None:
        return base.filter(id__gt=after).order_by("id")[:PAGE_SIZE]
    newest = list(base.order_by("-id")[:PAGE_SIZE].values_list("id", flat=True))
    return base.filter(id__in=newest).order_by("id")


def clips_seen(*, viewer: User, messages: list[Message]) -> set[int]:
    """Which shared clips of these messages the viewer may see (one query)."""
    ids = {m.post_id for m in messages if m.post_id}
    if not ids:
        return set()
    return set(visible_posts(viewer=viewer).filter(pk__in=ids).values_list("pk", flat=True))


# --- reports on messages (moderation/targets.py) --------------------------------------------


def message_reportable(*, viewer: User | None, pk: int) -> Message | None:
    """A message in one of the viewer's conversations, not already removed; else None."""
    if viewer is None or not viewer.is_authenticated:
        return None
    theirs = Q(conversation__first=viewer) | Q(conversation__second=viewer)
    return (
        Message.objects.filter(theirs, pk=pk, removed__isnull=True)
        .select_related("sender", "conversation")
        .first()
    )


def report_context(message: Message) -> list[dict[str, object]]:
    """The conversation's last REPORT_CONTEXT messages up to the reported one, oldest first,
    as they are now (a report keeps them even if the conversation changes)."""
    rows = (
        Message.objects.filter(conversation_id=message.conversation_id, id__lte=message.pk)
        .select_related("sender")
        .order_by("-id")[:REPORT_CONTEXT]
    )
    return [
        {
            "id": row.pk,
            "sender": row.sender.username,
            "body": row.body,
            "post": row.post_id,
            "created": row.created.isoformat(),
        }
        for row in reversed(rows)
    ]


def report_back(message: Message, viewer: User) -> str:
    """The reporter's conversation page, where they reported it from."""
    other = User.objects.only("username").get(pk=message.conversation.other_id(viewer.pk))
    return reverse("social:conversation", kwargs={"handle": other.username})


def message_removed_set(*, message_id: int, removed: bool) -> None:
    """Moderation removed a message (it shows as removed), or an appeal brought it back."""
    Message.objects.filter(pk=message_id).update(removed=timezone.now() if removed else None)
