"""Notification reads: a person's notifications grouped into lines, and the unread count."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.urls import reverse

from accounts.models import Block, User
from feed.models import Post

from .models import Notification, NotificationSettings

Kind = Notification.Kind
# The newest this many notifications are grouped into a person's list.
LIST_LIMIT = 300
# Posts moderation took down: notifications about them are no longer shown.
GONE = (Post.Standing.HELD, Post.Standing.REMOVED)


def notifications_of(*, user: User) -> QuerySet[Notification]:
    """A person's notifications that still say something: not about a clip taken down, nor
    from someone either of them has blocked since."""
    blocked = Block.objects.filter(blocker=user).values("blocked_id")
    blockers = Block.objects.filter(blocked=user).values("blocker_id")
    return (
        Notification.objects.filter(recipient=user)
        .exclude(post__standing__in=GONE)
        .exclude(actor_id__in=blocked)
        .exclude(actor_id__in=blockers)
    )


def notifications_among(*, recipient_ids: Iterable[int]) -> QuerySet[Notification]:
    """`notifications_of` for many people in one query (the email digest)."""
    blocked = Block.objects.filter(
        Q(blocker_id=OuterRef("recipient_id"), blocked_id=OuterRef("actor_id"))
        | Q(blocked_id=OuterRef("recipient_id"), blocker_id=OuterRef("actor_id"))
    )
    return (
        Notification.objects.filter(recipient_id__in=list(recipient_ids))
        .exclude(post__standing__in=GONE)
        .exclude(Exists(blocked))
    )


def unread_count(*, user: User) -> int:
    """How many of a person's notifications are unread (one query)."""
    return notifications_of(user=user).filter(read__isnull=True).count()


@dataclass
class NotificationGroup:
    """One line of the list: the notifications that share a group key, newest first."""

    kind: str
    key: str
    latest: datetime
    recipient: User
    first: Notification  # the newest: its post, comment, job or notice and text
    ids: list[int] = field(default_factory=list)
    actors: list[User] = field(default_factory=list)  # distinct, newest first
    unread: bool = False

    @property
    def who(self) -> str:
        """ "aiko", "aiko and bo", "aiko and 3 others"."""
        names = [actor.profile.name for actor in self.actors[:2]]
        others = len(self.actors) - 1
        if others <= 0:
            return names[0] if names else ""
        if others == 1:
            return f"{names[0]} and {names[1]}"
        return f"{names[0]} and {others} others"

    @property
    def sentence(self) -> str:
        """What happened, in plain words."""
        first, count = self.first, len(self.ids)
        if self.kind == Kind.LIKE:
            return f"{self.who} liked your clip"
        if self.kind == Kind.COMMENT:
            return f"{self.who} commented on your clip"
        if self.kind == Kind.REPLY:
            return f"{self.who} replied to your comment"
        if self.kind == Kind.MENTION:
            return f"{self.who} mentioned you in a {'comment' if first.comment_id else 'caption'}"
        if self.kind == Kind.FOLLOW:
            return f"{self.who} started following you"
        if self.kind == Kind.REMIX:
            return f"{self.who} remixed your clip"
        if self.kind == Kind.NEW_POST:
            clips = "a new clip" if count == 1 else f"{count} new clips"
            return f"{self.who} posted {clips}"
        if self.kind == Kind.CLIP_READY:
            return "Your clip couldn't be made" if first.text else "Your clip is ready to post"
        if self.kind == Kind.MESSAGE:
            return f"{self.who} sent you {'a message' if count == 1 else f'{count} messages'}"
        return first.text  # moderation: the notice's subject

    @property
    def quote(self) -> str:
        """The words to show under the sentence (a comment's, a mention's, a failure's)."""
        if self.kind in (Kind.COMMENT, Kind.REPLY, Kind.MENTION, Kind.CLIP_READY, Kind.MESSAGE):
            return self.first.text
        return ""

    @property
    def url(self) -> str:
        """Where tapping the line goes."""
        first = self.first
        if self.kind == Kind.FOLLOW:
            if len(self.actors) == 1:
                return self.actors[0].get_absolute_url()
            return reverse("accounts:followers", kwargs={"handle": self.recipient.username})
        if self.kind == Kind.CLIP_READY and first.job_id:
            return reverse("generation:job_detail", kwargs={"job_id": first.job_id})
        if self.kind == Kind.MODERATION:
            return reverse("moderation:notices")
        if self.kind == Kind.MESSAGE and self.actors:
            return reverse("social:conversation", kwargs={"handle": self.actors[0].username})
        if first.post_id:
            anchor = f"#comment-{first.comment_id}" if first.comment_id else ""
            if self.kind == Kind.COMMENT and len(self.ids) > 1:
                anchor = "#comments"  # several: the whole list
            return reverse("feed:post_detail", kwargs={"pk": first.post_id}) + anchor
        return reverse("social:notifications")


def notification_groups(*, user: User, limit: int = LIST_LIMIT) -> list[NotificationGroup]:
    """A person's newest notifications as lines, newest line first (one query)."""
    rows = (
        notifications_of(user=user)
        .select_related("actor__profile", "post__owner")
        .order_by("-created", "-id")[:limit]
    )
    return group_lines(rows, recipient=user)


def group_lines(rows: Iterable[Notification], *, recipient: User) -> list[NotificationGroup]:
    """One person's notifications (newest first, with their actors' profiles) as lines."""
    groups: dict[str, NotificationGroup] = {}
    for row in rows:
        group = groups.get(row.group_key)
        if group is None:
            group = groups[row.group_key] = NotificationGroup(
                kind=row.kind, key=row.group_key, latest=row.created, recipient=recipient, first=row
            )
        group.ids.append(row.pk)
        group.unread = group.unread or row.read is None
        if row.actor is not None and all(a.pk != row.actor_id for a in group.actors):
            group.actors.append(row.actor)
    return list(groups.values())


def notification_lines(
    *, recipients: Sequence[User], group_key: str
) -> dict[int, NotificationGroup]:
    """The line `group_key` makes in each of these people's lists as it reads now (what a
    browser push says), by person; none for whom nothing of it is shown (one query)."""
    people = {person.pk: person for person in recipients}
    rows = notifications_among(recipient_ids=people).filter(group_key=group_key)
    of = newest_by_recipient(rows.select_related("actor__profile", "post__owner"))
    lines = {pk: group_lines(mine, recipient=people[pk]) for pk, mine in of.items()}
    return {pk: found[0] for pk, found in lines.items() if found}


def newest_by_recipient(rows: QuerySet[Notification]) -> dict[int, list[Notification]]:
    """Each recipient's newest LIST_LIMIT of `rows` (newest first), by recipient id, read in
    one query (a window over the recipients)."""
    newest = (
        rows.annotate(
            nth=Window(
                RowNumber(),
                partition_by=F("recipient_id"),
                order_by=[F("created").desc(), F("id").desc()],
            )
        )
        .filter(nth__lte=LIST_LIMIT)
        .order_by("recipient_id", "-created", "-id")
    )
    of: dict[int, list[Notification]] = defaultdict(list)
    for row in newest:
        of[row.recipient_id].append(row)
    return of


def kinds_off(*, user: User) -> list[str]:
    """The kinds of notification a person turned off."""
    settings = NotificationSettings.objects.filter(user=user).first()
    return list(settings.off) if settings is not None else []
