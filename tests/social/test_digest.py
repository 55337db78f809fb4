"""The email digest: who gets one, what it says, the unsubscribe link, the settings that turn
it on (only for a confirmed address), its cost in queries, and a real send over SMTP."""

from __future__ import annotations

import email
import logging
import re
import socket
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from allauth.account.models import EmailAddress
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from config.celery import app
from social import digest, services
from social.models import Notification, NotificationSettings
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
Digest = NotificationSettings.Digest
SITE = "https://riff.example"


@pytest.fixture(autouse=True)
def _site(settings: Any) -> None:
    settings.SITE_URL = SITE + "/"  # a trailing slash must not make "//" in the links


def person(
    handle: str,
    *,
    how_often: str = Digest.DAILY,
    sent: datetime | None = None,
    confirmed: bool | None = True,
    address: str | None = None,
) -> User:
    """Someone with the digest set so, and their email address confirmed (True), waiting
    for confirmation (False) or never added (None); `address` if it isn't their email."""
    user = UserFactory(username=handle)
    if confirmed is not None:
        EmailAddress.objects.create(
            user=user, email=address or user.email, verified=confirmed, primary=True
        )
    NotificationSettings.objects.update_or_create(
        user=user, defaults={"digest": how_often, "digest_sent": sent}
    )
    return user


def followed_by(user: User, *handles: str) -> None:
    """Each of `handles` started following `user`, as the fan-out writes it."""
    for handle in handles:
        services.notifications_send(
            kind=Kind.FOLLOW,
            recipient_ids=[user.pk],
            group_key="follow",
            actor_id=UserFactory(username=handle).pk,
        )


def mentioned_by(user: User, handle: str, text: str) -> None:
    """`handle` mentioned `user` in a caption."""
    services.notifications_send(
        kind=Kind.MENTION,
        recipient_ids=[user.pk],
        group_key=f"mention:{handle}",
        actor_id=UserFactory(username=handle).pk,
        text=text,
    )


def due_handles() -> set[str]:
    return {row.user.username for row in digest.digests_due(now=timezone.now())}


def settings_of(user: User) -> NotificationSettings:
    return NotificationSettings.objects.get(user=user)


def unsubscribe_url(user: User) -> str:
    token = digest.unsubscribe_token(user_id=user.pk)
    return reverse("social:digest_unsubscribe", kwargs={"token": token})


def test_only_those_due_with_a_confirmed_address_and_something_new_get_one(
    mailoutbox: list[Any],
) -> None:
    now = timezone.now()
    expected = {
        person("never_sent"),
        person("sent_yesterday", sent=now - timedelta(hours=23, minutes=1)),
        person("weekly_due", how_often=Digest.WEEKLY, sent=now - timedelta(days=7)),
    }
    not_due = {
        person("turned_off", how_often=Digest.OFF),
        person("unconfirmed", confirmed=False),
        person("no_address", confirmed=None),
        person("old_address", address="someone-else@example.com"),
        person("sent_recently", sent=now - timedelta(hours=2)),
        person("weekly_early", how_often=Digest.WEEKLY, sent=now - timedelta(days=6)),
        person("all_read"),
        person("only_old_news", sent=now - timedelta(days=2)),
        person("gone"),
    }
    for user in expected | not_due:
        followed_by(user, f"fan_of_{user.username}")
    services.notifications_mark_read(user=User.objects.get(username="all_read"))
    Notification.objects.filter(recipient__username="only_old_news").update(
        created=now - timedelta(days=3)
    )
    User.objects.filter(username="gone").update(is_active=False)
    person("nothing_at_all")  # due, but nothing happened to them

    before = dict(NotificationSettings.objects.values_list("user__username", "digest_sent"))

    assert due_handles() == {user.username for user in expected}
    assert digest.digests_send(batch=2) == 3  # two batches

    assert sorted(message.to[0] for message in mailoutbox) == sorted(u.email for u in expected)
    after = dict(NotificationSettings.objects.values_list("user__username", "digest_sent"))
    marked = {handle for handle, sent in after.items() if sent != before[handle]}
    assert marked == {user.username for user in expected}
    assert digest.digests_send() == 0, "nobody gets the same digest twice"
    assert len(mailoutbox) == 3


def test_the_email_groups_lines_with_absolute_links_and_one_click_unsubscribe(
    mailoutbox: list[Any],
) -> None:
    aiko = person("aiko")
    aiko.profile.display_name = "Aiko Tanaka"
    aiko.profile.save()
    clip = PostFactory(owner=aiko)
    for handle in ("bob", "cyd", "dee"):
        services.notifications_send(
            kind=Kind.LIKE,
            recipient_ids=[aiko.pk],
            group_key=f"like:{clip.pk}",
            actor_id=UserFactory(username=handle).pk,
            post_id=clip.pk,
        )
    mentioned_by(aiko, "eve", "look what <aiko> made, it's lovely")
    followed_by(aiko, "fay")
    follows = Notification.objects.filter(kind=Kind.FOLLOW).values_list("pk", flat=True)
    services.notifications_mark_read(user=aiko, ids=list(follows))

    assert digest.digests_send() == 1

    (message,) = mailoutbox
    assert isinstance(message, EmailMultiAlternatives)
    assert message.subject == "2 things happened on Riff"
    assert message.to == [aiko.email]
    unsubscribe = SITE + unsubscribe_url(aiko)
    assert message.extra_headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.body
    assert text.startswith("Hi Aiko Tanaka,")
    assert "dee and 2 others liked your clip" in text
    assert f"{SITE}/p/{clip.pk}/" in text
    assert "eve mentioned you in a caption" in text
    assert "look what <aiko> made, it's lovely" in text, "plain text is not HTML-escaped"
    assert "fay" not in text, "read notifications stay out"
    assert f"Unsubscribe: {unsubscribe}" in text
    (html, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    assert "dee and 2 others liked your clip" in html
    assert "look what &lt;aiko&gt; made" in html
    links = re.findall(r'href="([^"]+)"', html)
    assert links and all(link.startswith(f"{SITE}/") for link in links), links
    assert "//" not in "".join(link.removeprefix("https://") for link in links)
    assert unsubscribe in links and f"{SITE}/notifications/" in links


def test_the_email_says_one_thing_and_shows_at_most_its_lines(mailoutbox: list[Any]) -> None:
    one, many = person("one"), person("many")
    followed_by(one, "gus")
    for n in range(digest.EMAIL_LINES + 3):
        mentioned_by(many, f"writer{n}", f"hello number {n}")

    assert digest.digests_send() == 2

    by_person = {message.to[0]: message for message in mailoutbox}
    assert by_person[one.email].subject == "1 thing happened on Riff"
    crowded = by_person[many.email]
    assert crowded.subject == f"{digest.EMAIL_LINES + 3} things happened on Riff"
    assert crowded.body.count("mentioned you in a caption") == digest.EMAIL_LINES
    assert "...and 3 more." in crowded.body


def test_blocked_people_stay_out_and_nothing_left_sends_nothing(mailoutbox: list[Any]) -> None:
    aiko, kim = person("aiko"), person("kim")
    followed_by(aiko, "bob", "cyd")
    followed_by(kim, "lex")
    accounts_services.block_create(blocker=aiko, blocked=User.objects.get(username="cyd"))
    accounts_services.block_create(blocker=User.objects.get(username="lex"), blocked=kim)

    assert digest.digests_send() == 1

    (message,) = mailoutbox
    assert message.to == [aiko.email]
    assert "bob started following you" in message.body and "cyd" not in message.body
    assert settings_of(kim).digest_sent is None


def test_sending_costs_the_same_queries_for_3_and_10_people(mailoutbox: list[Any]) -> None:
    def crowd(prefix: str, size: int) -> None:
        for n in range(size):
            user = person(f"{prefix}{n}")
            followed_by(user, f"{prefix}{n}fan_a", f"{prefix}{n}fan_b")
            mentioned_by(user, f"{prefix}{n}writer", "look at this")

    crowd("three", 3)
    with CaptureQueriesContext(connection) as three:
        assert digest.digests_send() == 3
    crowd("ten", 10)
    with CaptureQueriesContext(connection) as ten:
        assert digest.digests_send() == 10

    assert len(mailoutbox) == 13
    assert "fan_b and" in mailoutbox[-1].body or "fan_a and" in mailoutbox[-1].body
    assert len(ten) == len(three), [query["sql"] for query in ten]


@pytest.fixture
def aiko_weekly() -> User:
    user = person("aiko", how_often=Digest.WEEKLY)
    followed_by(user, "bob")
    return user


def test_opening_the_link_signed_out_turns_it_off_and_offers_it_back(aiko_weekly: User) -> None:
    page = Client().get(unsubscribe_url(aiko_weekly))

    assert page.status_code == 200
    html = page.content.decode()
    assert "You won't get the Riff digest any more" in html
    assert 'name="resubscribe" value="1"' in html and 'name="digest" value="weekly"' in html
    assert settings_of(aiko_weekly).digest == Digest.OFF
    assert due_handles() == set()


def test_a_mail_clients_one_click_post_turns_it_off(aiko_weekly: User) -> None:
    client = Client(enforce_csrf_checks=True)  # a mail client has no CSRF token

    answer = client.post(unsubscribe_url(aiko_weekly), {"List-Unsubscribe": "One-Click"})

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain")
    assert answer.content.decode().strip() == "You won't get the Riff digest any more."
    assert settings_of(aiko_weekly).digest == Digest.OFF


def test_turning_it_back_on_needs_the_same_token_and_a_confirmed_address(
    aiko_weekly: User,
) -> None:
    client = Client(enforce_csrf_checks=True)
    url = unsubscribe_url(aiko_weekly)
    client.get(url)

    back = client.post(url, {"resubscribe": "1", "digest": "weekly"})
    assert back.status_code == 200
    assert "You'll get the Riff digest again" in back.content.decode()
    assert settings_of(aiko_weekly).digest == Digest.WEEKLY

    client.get(url)
    token = digest.unsubscribe_token(user_id=aiko_weekly.pk)
    forged_token = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged_url = reverse("social:digest_unsubscribe", kwargs={"token": forged_token})
    forged = client.post(forged_url, {"resubscribe": "1"})
    assert forged.status_code == 400 and settings_of(aiko_weekly).digest == Digest.OFF
    EmailAddress.objects.filter(user=aiko_weekly).update(verified=False)
    refused = client.post(url, {"resubscribe": "1", "digest": "daily"})
    assert refused.status_code == 400 and "Confirm your email address" in refused.content.decode()
    assert settings_of(aiko_weekly).digest == Digest.OFF


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "bad",
    [
        "changed",  # the signed value swapped for another person's
        "cut short",
        "another salt",  # a token Riff signed for something else
        "gone",  # a person who deleted their account
        "nonsense",
    ],
)
def test_a_bad_link_is_refused_with_a_clear_400(aiko_weekly: User, bad: str, method: str) -> None:
    good = digest.unsubscribe_token(user_id=aiko_weekly.pk)
    other = UserFactory(username="zed")
    token = {
        "changed": digest.unsubscribe_token(user_id=other.pk).split(":", 1)[0]
        + good[good.index(":") :],
        "cut short": good[:-4],
        "another salt": signing.dumps(aiko_weekly.pk),
        "gone": digest.unsubscribe_token(user_id=other.pk + 1000),
        "nonsense": "nonsense",
    }[bad]
    url = reverse("social:digest_unsubscribe", kwargs={"token": token})

    answer = getattr(Client(enforce_csrf_checks=True), method)(url)

    assert answer.status_code == 400
    assert "This unsubscribe link doesn" in answer.content.decode()
    assert settings_of(aiko_weekly).digest == Digest.WEEKLY


def test_the_settings_page_turns_it_on_only_for_a_confirmed_address(client: Client) -> None:
    user = person("aiko", how_often=Digest.OFF, confirmed=False)
    client.force_login(user)
    url = reverse("social:notification_settings")
    every = [kind.value for kind in Kind]

    page = client.get(url).content.decode()
    assert "Email digest" in page and 'data-testid="digest-unconfirmed"' in page
    assert re.search(r'value="off"[^>]* checked', page)
    refused = client.post(url, {"kinds": every, "digest": "daily"})
    assert refused.status_code == 400
    assert "Confirm your email address first" in refused.content.decode()
    assert settings_of(user).digest == Digest.OFF
    assert client.post(url, {"kinds": every, "digest": "off"}).status_code == 302

    EmailAddress.objects.filter(user=user).update(verified=True)
    assert client.post(url, {"kinds": every, "digest": "weekly"}).status_code == 302
    assert settings_of(user).digest == Digest.WEEKLY
    page = client.get(url).content.decode()
    assert re.search(r'value="weekly"[^>]* checked', page)
    assert 'data-testid="digest-unconfirmed"' not in page
    assert client.post(url, {"kinds": every}).status_code == 302
    assert settings_of(user).digest == Digest.WEEKLY, "left out: unchanged"
    bad = client.post(url, {"kinds": every, "digest": "hourly"})
    assert bad.status_code == 400 and "hourly is not one of the available choices" in (
        bad.content.decode()
    )


def test_the_api_reads_and_sets_it_only_for_a_confirmed_address() -> None:
    user = person("aiko", how_often=Digest.OFF, confirmed=False)
    api = token_client(user)
    url = "/api/v1/notifications/settings/"

    assert api.get(url).json() == {"off": [], "digest": "off"}
    refused = api.put(url, {"off": [], "digest": "daily"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["digest"] == [digest.NOT_CONFIRMED]
    bad = api.put(url, {"off": [], "digest": "hourly"}, format="json")
    assert bad.status_code == 400 and "not a valid choice" in bad.json()["digest"][0]

    EmailAddress.objects.filter(user=user).update(verified=True)
    saved = api.put(url, {"off": ["like"], "digest": "weekly"}, format="json")
    assert saved.status_code == 200 and saved.json() == {"off": ["like"], "digest": "weekly"}
    kept = api.put(url, {"off": []}, format="json")
    assert kept.json() == {"off": [], "digest": "weekly"}
    assert api.get(url).json() == {"off": [], "digest": "weekly"}


def test_the_schema_documents_the_digest(api_client: Any) -> None:
    answer = api_client.get(reverse("schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    schema = answer.json()
    parts = schema["components"]["schemas"]
    shown = parts["NotificationSettings"]
    assert set(shown["required"]) == {"off", "digest"}
    taken = parts["NotificationSettingsSetRequest"]
    assert "digest" in taken["properties"] and taken["required"] == ["off"]
    (ref,) = shown["properties"]["digest"]["allOf"]
    assert ref == taken["properties"]["digest"]["allOf"][0]
    assert parts[ref["$ref"].rsplit("/", 1)[1]]["enum"] == ["off", "daily", "weekly"]


def test_beat_runs_the_task_hourly_and_it_sends(settings: Any, mailoutbox: list[Any]) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["send-digests"]
    assert entry == {"task": "social.digest_send", "schedule": 3600.0}
    followed_by(person("aiko"), "bob")

    assert app.tasks["social.digest_send"].apply().get() == 1
    assert len(mailoutbox) == 1


# --- a real send over SMTP -------------------------------------------------------------


class Inbox:
    """An SMTP server's handler that keeps what it is sent and refuses one mailbox."""

    REFUSED = "refused@example.com"

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.REFUSED:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free local port (another, if something took it meanwhile)."""
    inbox = Inbox()
    for attempt in range(5):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        # A fixed name: the default looks up this machine's name, which can be slow.
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, server_hostname="riff.test", ready_timeout=30
        )
        try:
            controller.start()
            break
        except OSError:
            if attempt == 4:
                raise
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_a_digest_goes_out_over_real_smtp_and_a_refused_address_stops_nobody(
    smtp_server: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = smtp_server
    refused = person("refused")  # first in line
    User.objects.filter(pk=refused.pk).update(email=Inbox.REFUSED)
    EmailAddress.objects.filter(user=refused).update(email=Inbox.REFUSED)
    aiko = person("aiko")
    for user in (refused, aiko):
        followed_by(user, "bob", "cyd")

    with (
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="",
            EMAIL_HOST_PASSWORD="",
        ),
        caplog.at_level(logging.WARNING, logger="social.digest"),
    ):
        assert digest.digests_send() == 1

    ((to, raw),) = inbox.received
    assert to == [aiko.email]
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "1 thing happened on Riff"
    assert message["To"] == aiko.email
    unsubscribe = SITE + unsubscribe_url(aiko)
    # A long header is folded onto a second line: what follows the colon is the same.
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "cyd and bob started following you" in plain.get_content()
    assert unsubscribe in plain.get_content()
    assert f'href="{SITE}/@aiko/followers/"' in html.get_content()

    assert settings_of(aiko).digest_sent is not None
    assert settings_of(refused).digest_sent is None, "not sent: tried again next run"
    assert any(
        f"Could not send the digest to user {refused.pk}" in record.getMessage()
        for record in caplog.records
    )
