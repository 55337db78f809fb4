"""Messages: who may write to whom, Requests, bad input, the pages, the API, the socket."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts_services
from accounts.models import User
from config.routing import websocket_urlpatterns
from social import messaging, selectors
from social.models import Conversation, Message
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob() -> User:
    return UserFactory(username="bob")


def test_a_stranger_lands_in_requests_until_accepted_or_answered(aiko: User, bob: User):
    messaging.message_send(sender=bob, recipient=aiko, body="hi, love your koi")
    assert [r.other for r in messaging.conversations_of(user=aiko, requests=True)] == [bob]
    assert messaging.conversations_of(user=aiko) == []
    assert [r.other for r in messaging.conversations_of(user=bob)] == [aiko]  # his inbox
    messaging.message_send(sender=aiko, recipient=bob, body="thanks!")  # an answer accepts
    assert [r.other for r in messaging.conversations_of(user=aiko)] == [bob]
    assert messaging.requests_count(user=aiko) == 0


def test_someone_you_follow_reaches_your_inbox_at_once(aiko: User, bob: User):
    accounts_services.follow_create(follower=aiko, followee=bob)
    messaging.message_send(sender=bob, recipient=aiko, body="hello")
    (row,) = messaging.conversations_of(user=aiko)
    assert row.other == bob and row.unread and row.last_body == "hello"


def test_declined_and_blocked_people_cannot_write(aiko: User, bob: User):
    messaging.message_send(sender=bob, recipient=aiko, body="hi")
    talk = Conversation.objects.get()
    messaging.conversation_decline(user=aiko, conversation=talk)
    assert messaging.conversations_of(user=aiko, requests=True) == []
    with pytest.raises(PermissionDenied):
        messaging.message_send(sender=bob, recipient=aiko, body="hello again?")
    eve = UserFactory(username="eve")
    accounts_services.block_create(blocker=aiko, blocked=eve)
    with pytest.raises(PermissionDenied, match="can't message this person"):
        messaging.message_send(sender=eve, recipient=aiko, body="hi")
    with pytest.raises(PermissionDenied, match="can't message this person"):
        messaging.message_send(sender=aiko, recipient=eve, body="hi")
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("   ", "Write something, or share a clip."),
        ("x" * 1001, "at most 1000 characters"),
        ("a\x00b", "can't hold control characters"),
        ("bell\x07", "can't hold control characters"),
    ],
)
def test_bad_messages_are_refused_and_nothing_is_kept(aiko: User, bob: User, body, says):
    with pytest.raises(ValidationError, match=says):
        messaging.message_send(sender=bob, recipient=aiko, body=body)
    assert not Conversation.objects.exists() and not Message.objects.exists()


def test_a_shared_clip_shows_only_to_who_may_see_it(aiko: User, bob: User):
    accounts_services.follow_create(follower=bob, followee=aiko)
    secret = PostFactory(owner=aiko, visibility="followers")
    cyd = UserFactory(username="cyd")
    accounts_services.follow_create(follower=cyd, followee=bob)
    shared = messaging.message_send(sender=bob, recipient=cyd, body="", post=secret)
    assert messaging.clips_seen(viewer=bob, messages=[shared]) == {secret.pk}
    assert messaging.clips_seen(viewer=cyd, messages=[shared]) == set()
    hidden = PostFactory(owner=cyd, visibility="private")
    with pytest.raises(ValidationError, match="isn't visible to you"):
        messaging.message_send(sender=bob, recipient=cyd, body="look", post=hidden)


def test_a_message_notifies_its_recipient(commits: Any, aiko: User, bob: User):
    with commits():
        messaging.message_send(sender=bob, recipient=aiko, body="one")
        messaging.message_send(sender=bob, recipient=aiko, body="two")
    (group,) = selectors.notification_groups(user=aiko)
    assert group.sentence == "bob sent you 2 messages" and group.quote == "two"
    assert group.url == "/messages/@bob/"
    messaging.conversation_read(user=aiko, conversation=Conversation.objects.get())
    assert selectors.unread_count(user=aiko) == 0  # reading them reads the bell's line


def test_the_conversation_page_sends_and_costs_the_same_queries(client: Client, aiko, bob):
    accounts_services.follow_create(follower=aiko, followee=bob)
    client.force_login(aiko)
    assert client.post("/messages/@bob/", {"body": "first"}).status_code == 302
    clip = PostFactory(owner=bob)
    messaging.message_send(sender=bob, recipient=aiko, body="a clip", post=clip)
    with CaptureQueriesContext(connection) as few:
        client.get("/messages/@bob/")
    for n in range(5):
        messaging.message_send(sender=bob, recipient=aiko, body=f"m{n}", post=clip)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/messages/@bob/")
    assert page.content.decode().count('data-testid="message"') == 7
    assert page.content.decode().count("<video") == 6
    assert len(many) == len(few), [q["sql"] for q in many]
    fragment = client.get("/messages/@bob/since/", {"after": Message.objects.first().pk})
    assert fragment.content.decode().count('data-testid="message"') == 6
    bad = client.post("/messages/@bob/", {"body": "x" * 1001})
    assert bad.status_code == 400 and b"at most 1000 characters" in bad.content


def test_pages_reveal_nothing_across_a_block(client: Client, aiko: User, bob: User):
    messaging.message_send(sender=bob, recipient=aiko, body="hi")
    accounts_services.block_create(blocker=aiko, blocked=bob)
    client.force_login(bob)
    assert client.get("/messages/@aiko/").status_code == 404
    assert client.post("/messages/@aiko/", {"body": "hey"}).status_code == 404
    assert client.get("/messages/@nobody_at_all/").status_code == 404
    assert client.get("/messages/@bob/").status_code == 404  # yourself
    assert Message.objects.count() == 1


def test_requests_are_answered_on_the_page(client: Client, aiko: User, bob: User):
    messaging.message_send(sender=bob, recipient=aiko, body="hi")
    client.force_login(aiko)
    assert b"wants to message you" in client.get("/messages/@bob/").content
    assert client.post("/messages/@bob/accept/").status_code == 302
    assert Conversation.objects.get().accepted
    assert client.post("/messages/@bob/shout/").status_code == 404


def test_the_api_lists_sends_and_answers(aiko: User, bob: User):
    api_bob, api_aiko = token_client(bob), token_client(aiko)
    sent = api_bob.post("/api/v1/conversations/aiko/messages/", {"body": "hi"}, format="json")
    assert sent.status_code == 201 and sent.json()["sender"] == "bob"
    assert api_aiko.get("/api/v1/conversations/").json() == []
    (row,) = api_aiko.get("/api/v1/conversations/", {"requests": "1"}).json()
    assert row["handle"] == "bob" and row["unread"] is True
    answer = api_aiko.post("/api/v1/conversations/bob/answer/", {"answer": "accept"}, format="json")
    assert answer.json() == {"answer": "accept"}
    assert [m["body"] for m in api_aiko.get("/api/v1/conversations/bob/messages/").json()] == ["hi"]
    empty = api_bob.post("/api/v1/conversations/aiko/messages/", {"body": " "}, format="json")
    assert empty.status_code == 400
    nobody = api_bob.post("/api/v1/conversations/ghost/messages/", {"body": "x"}, format="json")
    assert nobody.status_code == 404
    not_json = api_bob.post("/api/v1/conversations/aiko/messages/", {"body": "x"})
    assert not_json.status_code == 415


@pytest.mark.django_db(transaction=True)
def test_the_conversation_socket_hears_a_new_message(settings: Any):
    from channels.layers import channel_layers

    channel_layers.backends = {}
    settings.NOTIFICATIONS_RECHECK_S = 600  # only the push may deliver it
    aiko, bob = UserFactory(username="aiko"), UserFactory(username="bob")
    messaging.message_send(sender=bob, recipient=aiko, body="first")
    talk = Conversation.objects.get()
    outsider = UserFactory(username="eve")

    async def scenario(person: User) -> list[Any]:
        comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), f"/ws/messages/{talk.pk}/")
        comm.scope["user"] = person
        connected, _ = await comm.connect()
        if not connected:
            return ["refused"]
        seen = [await comm.receive_json_from(timeout=5)]
        from social import fanout

        sent = await sync_to_async(messaging.message_send)(sender=bob, recipient=aiko, body="2")
        await sync_to_async(fanout.messaged)(message_id=sent.pk)
        seen.append(await comm.receive_json_from(timeout=5))
        await comm.disconnect()
        return seen

    first = Message.objects.get().pk
    seen = async_to_sync(scenario)(aiko)
    assert seen[0] == {"last": first} and seen[1]["last"] > first
    assert async_to_sync(scenario)(outsider) == ["refused"]
    channel_layers.backends = {}
