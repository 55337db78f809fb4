"""Reporting a message: only someone in the conversation may, the conversation's last
messages go to the moderator with it, and a removal takes the message down (an appeal
brings it back)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from moderation import services
from moderation.models import Case, Decision, Notice, PolicyCategory, Report, Strike
from social import messaging
from social.models import Message
from tests.clients import token_client
from tests.factories import UserFactory
from tests.moderation.conftest import make_moderator

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob() -> User:
    return UserFactory(username="bob")


@pytest.fixture
def harassment() -> PolicyCategory:
    return PolicyCategory.objects.update_or_create(
        slug="test-harassment",
        defaults={"name": "Harassment", "description": "No bullying.", "severity": 2},
    )[0]


def _talk(aiko: User, bob: User, count: int) -> list[Message]:
    """bob and aiko take turns, bob first: `count` messages."""
    sent = []
    for n in range(count):
        sender, recipient = (bob, aiko) if n % 2 == 0 else (aiko, bob)
        sent.append(messaging.message_send(sender=sender, recipient=recipient, body=f"line {n}"))
    return sent


def test_a_report_keeps_the_last_messages_up_to_the_reported_one(
    client: Client, aiko: User, bob: User
):
    sent = _talk(aiko, bob, 14)
    reported = sent[12]  # bob's; two more messages follow it
    client.force_login(aiko)
    page = client.get(f"/report/message/{reported.pk}/")
    assert page.status_code == 200
    assert b"last messages of this conversation" in page.content
    answer = client.post(f"/report/message/{reported.pk}/", {"reason": "harassment"})
    assert answer.status_code == 302 and answer["Location"] == "/messages/@bob/"
    report = Report.objects.get()
    assert report.case.kind == "message" and report.case.message_id == reported.pk
    assert [line["body"] for line in report.context] == [f"line {n}" for n in range(3, 13)]
    assert report.context[-1]["id"] == reported.pk and report.context[-1]["sender"] == "bob"
    assert {line["sender"] for line in report.context} == {"aiko", "bob"}


def test_the_moderator_reads_the_conversation_beside_the_case(
    client: Client, aiko: User, bob: User
):
    sent = _talk(aiko, bob, 3)
    services.report_create(reporter=aiko, reason=Report.Reason.HARASSMENT, message=sent[2])
    case = Case.objects.get()
    client.force_login(make_moderator("mod_maya"))
    queue = client.get("/moderation/").content.decode()
    assert "Message by @bob: line 2" in queue
    page = client.get(f"/moderation/cases/{case.pk}/").content.decode()
    assert 'data-testid="report-context"' in page
    assert page.count("<strong>@") >= 3  # every line of the conversation, with its sender
    assert '<li class="is-reported" aria-current="true">' in page
    # Only the actions that fit a message are offered.
    assert 'value="remove"' in page and 'value="label"' not in page


def test_only_someone_in_the_conversation_may_report_and_never_their_own(
    client: Client, aiko: User, bob: User
):
    (message,) = _talk(aiko, bob, 1)
    eve = UserFactory(username="eve")
    client.force_login(eve)
    assert client.get(f"/report/message/{message.pk}/").status_code == 404
    assert client.post(f"/report/message/{message.pk}/", {"reason": "spam"}).status_code == 404
    unseen = token_client(eve).post("/api/v1/reports/", {"message": message.pk, "reason": "spam"})
    assert unseen.status_code == 404
    mine = token_client(bob).post("/api/v1/reports/", {"message": message.pk, "reason": "spam"})
    assert mine.status_code == 409 and "your own" in mine.json()["detail"]
    both = token_client(aiko).post(
        "/api/v1/reports/", {"message": message.pk, "post": 1, "reason": "spam"}
    )
    assert both.status_code == 400 and "exactly one" in str(both.json())
    assert Report.objects.count() == 0
    answer = token_client(aiko).post("/api/v1/reports/", {"message": message.pk, "reason": "spam"})
    assert answer.status_code == 201
    assert Report.objects.get().context[0]["body"] == "line 0"


def test_removing_a_message_takes_it_down_and_an_appeal_brings_it_back(
    client: Client, aiko: User, bob: User, harassment: PolicyCategory
):
    sent = _talk(aiko, bob, 2)
    message = messaging.message_send(sender=bob, recipient=aiko, body="you are worthless")
    services.report_create(reporter=aiko, reason=Report.Reason.HARASSMENT, message=message)
    decision = services.decision_make(
        case=Case.objects.get(message=message),
        moderator=make_moderator("mod_maya"),
        action=Decision.Action.REMOVE,
        category=harassment,
        facts="An insult in a private message.",
    )
    assert Message.objects.get(pk=message.pk).removed is not None
    assert Strike.objects.filter(user=bob).count() == 1
    notice = Notice.objects.get(recipient=bob)
    assert notice.subject == "Your message was removed"
    assert "The message: “you are worthless”" in notice.body
    # Removed for both of them: the page, the API and the inbox line.
    client.force_login(aiko)
    page = client.get("/messages/@bob/").content.decode()
    assert "you are worthless" not in page and "removed by moderation" in page
    assert "line 1" in page and sent[0].body in page
    rows = token_client(aiko).get("/api/v1/conversations/bob/messages/").json()
    assert rows[-1] == {**rows[-1], "body": "", "removed": True}
    assert messaging.conversations_of(user=bob)[0].last_body == messaging.REMOVED
    # Nothing removed can be reported again.
    assert client.get(f"/report/message/{message.pk}/").status_code == 404

    appeal = services.appeal_create(appellant=bob, decision=decision, text="it was a joke")
    services.appeal_decide(
        appeal=appeal, moderator=make_moderator("mod_omar"), overturn=True, reply=""
    )
    assert Message.objects.get(pk=message.pk).removed is None
    assert "you are worthless" in client.get("/messages/@bob/").content.decode()


def test_a_moderator_never_sees_a_case_about_their_own_message(aiko: User, harassment):
    maya = make_moderator("mod_maya")
    message = messaging.message_send(sender=maya, recipient=aiko, body="hello")
    services.report_create(reporter=aiko, reason=Report.Reason.SPAM, message=message)
    case = Case.objects.get()
    with pytest.raises(services.ModerationConflict):
        services.decision_make(
            case=case,
            moderator=maya,
            action=Decision.Action.REMOVE,
            category=harassment,
            facts="x",
        )
    assert Message.objects.get(pk=message.pk).removed is None
