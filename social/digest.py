"""The email digest of unread notifications (opt-in): who is due one, the email of their
lines, sending it in batches, and the signed link that turns it off without signing in.

It goes only to an active account's primary address, and only once that address is
confirmed (django-allauth's EmailAddress): an unconfirmed address never gets mail.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from allauth.account.models import EmailAddress
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core.web import site_url

from .models import Notification, NotificationSettings
from .selectors import NotificationGroup, group_lines, newest_by_recipient, notifications_among

logger = logging.getLogger(__name__)

Digest = NotificationSettings.Digest
# When the next digest is due after the last: an hour early, so that an hourly run that
# starts a few minutes earlier than yesterday's still sends today's.
DUE_AFTER = {Digest.DAILY: timedelta(hours=23), Digest.WEEKLY: timedelta(days=7, hours=-1)}
# People per batch: one connection to the mail server, and the same few queries, however many.
BATCH = 100
# Lines one email shows; the notifications page has the rest.
EMAIL_LINES = 20
UNSUBSCRIBE_SALT = "riff.social.digest.unsubscribe"
NOT_CONFIRMED = "Confirm your email address first: the digest only goes to a confirmed address."
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def email_confirmed(*, user: User) -> bool:
    """Whether the person's email is their confirmed primary address (the digest needs it)."""
    return bool(user.email) and (
        EmailAddress.objects.filter(
            user=user, verified=True, primary=True, email__iexact=user.email
        ).exists()
    )


def digest_of(*, user: User) -> str:
    """How often the person gets the digest (off, until they turn it on)."""
    row = NotificationSettings.objects.filter(user=user).only("digest").first()
    return row.digest if row is not None else Digest.OFF.value


def digest_set(*, user_id: int, digest: str) -> str:
    """Set how often a person gets the digest; what it was before. The caller checks that
    their address is confirmed before turning it on."""
    with transaction.atomic():
        row, _ = NotificationSettings.objects.select_for_update().get_or_create(user_id=user_id)
        before = row.digest
        row.digest = Digest(digest).value
        row.save(update_fields=["digest"])
    return before


def digests_due(*, now: datetime) -> QuerySet[NotificationSettings]:
    """The settings, with their person, of everyone due a digest: turned on, the last one
    long enough ago (or none yet), a confirmed primary address, an active account, and
    something unread that came since the last digest."""
    since = Coalesce(OuterRef("digest_sent"), Value(_EPOCH), output_field=DateTimeField())
    unread = Notification.objects.filter(
        recipient_id=OuterRef("user_id"), read__isnull=True, created__gt=since
    )
    confirmed = EmailAddress.objects.filter(
        user_id=OuterRef("user_id"),
        verified=True,
        primary=True,
        email__iexact=OuterRef("user__email"),
    )
    on_time = (
        Q(digest_sent__isnull=True)
        | Q(digest=Digest.DAILY, digest_sent__lte=now - DUE_AFTER[Digest.DAILY])
        | Q(digest=Digest.WEEKLY, digest_sent__lte=now - DUE_AFTER[Digest.WEEKLY])
    )
    return (
        NotificationSettings.objects.filter(
            on_time, digest__in=[Digest.DAILY, Digest.WEEKLY], user__is_active=True
        )
        .exclude(user__email="")
        .filter(Exists(confirmed), Exists(unread))
        .select_related("user__profile")
    )


def _lines_of(
    due: Sequence[NotificationSettings], *, now: datetime
) -> dict[int, list[NotificationGroup]]:
    """Each person's unread notifications since their last digest and up to `now` (what the
    next digest starts after), as the notifications page groups them (its newest 300 each),
    by person: one query for the whole batch."""
    last = F("recipient__notification_settings__digest_sent")
    rows = (
        notifications_among(recipient_ids=[row.user_id for row in due])
        .filter(read__isnull=True, created__lte=now)
        .filter(Q(recipient__notification_settings__digest_sent__isnull=True) | Q(created__gt=last))
        .select_related("actor__profile")
    )
    of = newest_by_recipient(rows)
    people = {row.user_id: row.user for row in due}
    return {pk: group_lines(mine, recipient=people[pk]) for pk, mine in of.items()}


def unsubscribe_token(*, user_id: int) -> str:
    """The signed token of a person's unsubscribe link (it never expires)."""
    return signing.dumps(user_id, salt=UNSUBSCRIBE_SALT)


def unsubscribe_user(*, token: str) -> User | None:
    """Whose unsubscribe link this is; None for a token that isn't one of ours, changed or
    cut short, or whose account is gone."""
    try:
        user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id).first()


def digest_email(
    *, user: User, groups: Sequence[NotificationGroup], how_often: str
) -> EmailMultiAlternatives:
    """The digest email of these lines, with its one-click unsubscribe (RFC 8058)."""
    token = unsubscribe_token(user_id=user.pk)
    unsubscribe = site_url(reverse("social:digest_unsubscribe", kwargs={"token": token}))
    count = len(groups)
    context = {
        "name": user.profile.name,
        "count": count,
        "lines": [
            {"sentence": group.sentence, "quote": group.quote, "url": site_url(group.url)}
            for group in groups[:EMAIL_LINES]
        ],
        "more": max(0, count - EMAIL_LINES),
        "how_often": how_often,
        "notifications_url": site_url(reverse("social:notifications")),
        "settings_url": site_url(reverse("social:notification_settings")),
        "unsubscribe_url": unsubscribe,
    }
    message = EmailMultiAlternatives(
        subject=f"{count} thing{'' if count == 1 else 's'} happened on Riff",
        body=render_to_string("social/email/digest.txt", context),
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(render_to_string("social/email/digest.html", context), "text/html")
    return message


def _send_batch(due: Sequence[NotificationSettings], *, now: datetime) -> list[int]:
    """Send these people their digests over one connection; the settings ids of those
    sent. An address the mail server refuses is logged and skipped (it stays due)."""
    lines = _lines_of(due, now=now)
    emails = []
    for row in due:
        groups = lines.get(row.user_id)
        if not groups:  # all they had was about clips taken down or people blocked since
            continue
        email = digest_email(user=row.user, groups=groups, how_often=row.get_digest_display())
        emails.append((row, email))
    sent: list[int] = []
    if not emails:
        return sent
    with get_connection() as connection:
        for row, email in emails:
            try:
                if connection.send_messages([email]):
                    sent.append(row.pk)
            except (smtplib.SMTPException, OSError):
                logger.warning("Could not send the digest to user %s", row.user_id, exc_info=True)
    return sent


def digests_send(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Email everyone due a digest, `batch` people at a time; how many were sent. Only
    those sent are marked sent: the others are tried again on the next run."""
    now = now or timezone.now()
    total, after = 0, 0
    while True:
        with transaction.atomic():
            # Locked while their emails go out: a run that overlaps skips them, and finds
            # them sent once this one commits, so nobody gets the same digest twice.
            due = list(
                digests_due(now=now)
                .filter(pk__gt=after)
                .order_by("pk")
                .select_for_update(of=("self",), skip_locked=True)[:batch]
            )
            if not due:
                return total
            after = due[-1].pk
            sent = _send_batch(due, now=now)
            NotificationSettings.objects.filter(pk__in=sent).update(digest_sent=now)
        total += len(sent)
