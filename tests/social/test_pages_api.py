"""Notification pages, API and the live count: what each person gets, in constant queries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from config.routing import websocket_urlpatterns
from feed.models import Post
from social import services
from social.models import Notification
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

Kind = Notification.Kind


def liked_by(post: Post, *names: str) -> None:
    """Each of `names` liked the post, as the fan-out writes it."""
    for name in names:
        services.notifications_send(
            kind=Kind.LIKE,
            recipient_ids=[post.owner_id],
            group_key=f"like:{post.pk}",
            actor_id=UserFactory(username=name).pk,
            post_id=post.pk,
        )


@pytest.fixture
def aiko(db: None) -> User:
    return UserFactory(username="aiko")


@pytest.mark.django_db
def test_the_page_groups_lines_and_reading_it_marks_them_read(client: Client, aiko: User):
    clip = PostFactory(owner=aiko)
    liked_by(clip, "bob", "cyd", "dee")
    client.force_login(aiko)
    page = client.get("/")
    assert b'data-testid="unread-notifications">3</span>' in page.content
    page = client.get(reverse("social:notifications"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "dee and 2 others liked your clip" in html and "notification-unread" in html
    assert Notification.objects.filter(recipient=aiko, read__isnull=True).count() == 0
    again = client.get(reverse("social:notifications")).content.decode()
    assert "notification-unread" not in again and "dee and 2 others" in again


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_for_many_lines(client: Client, aiko: User):
    client.force_login(aiko)
    liked_by(PostFactory(owner=aiko), "bob")
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("social:notifications")).status_code == 200
    for n in range(6):
        liked_by(PostFactory(owner=aiko), f"fan{n}a", f"fan{n}b")
    accounts_services_follow = [UserFactory(username=f"new{n}") for n in range(3)]
    for person in accounts_services_follow:
        services.notifications_send(
            kind=Kind.FOLLOW, recipient_ids=[aiko.pk], group_key="follow", actor_id=person.pk
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("social:notifications"))
    assert page.content.decode().count('data-testid="notification"') == 8
    assert len(many) == len(few), [q["sql"] for q in many]


@pytest.mark.django_db
def test_settings_page_turns_kinds_off(client: Client, aiko: User):
    client.force_login(aiko)
    url = reverse("social:notification_settings")
    assert re.search(r'value="like"[^>]* checked>', client.get(url).content.decode())
    kinds = [k.value for k in Kind if k != Kind.LIKE]
    assert client.post(url, {"kinds": kinds}).status_code == 302
    clip = PostFactory(owner=aiko)
    liked_by(clip, "bob")
    assert not Notification.objects.filter(recipient=aiko).exists()
    assert not re.search(r'value="like"[^>]* checked>', client.get(url).content.decode())
    bad = client.post(url, {"kinds": ["like", "gossip"]})
    assert bad.status_code == 400 and b"gossip is not one of the available choices" in bad.content


@pytest.mark.django_db
def test_the_api_lists_counts_marks_read_and_sets(aiko: User):
    clip = PostFactory(owner=aiko)
    liked_by(clip, "bob", "cyd")
    api = token_client(aiko)
    listed = api.get("/api/v1/notifications/").json()
    (line,) = listed["results"]
    assert listed["unread"] == 2 and line["sentence"] == "cyd and bob liked your clip"
    assert line["actors"] == ["cyd", "bob"] and line["count"] == 2 and line["post"] == clip.pk
    assert line["url"] == f"http://testserver/p/{clip.pk}/"
    assert api.get("/api/v1/notifications/unread/").json() == {"unread": 2}
    marked = api.post("/api/v1/notifications/read/", {"ids": line["ids"][:1]}, format="json")
    assert marked.json() == {"marked": 1, "unread": 1}
    assert api.post("/api/v1/notifications/read/", {}, format="json").json() == {
        "marked": 1,
        "unread": 0,
    }
    put = api.put("/api/v1/notifications/settings/", {"off": ["like", "new_post"]}, format="json")
    saved = {"off": ["like", "new_post"], "digest": "off"}
    assert put.status_code == 200 and put.json() == saved
    assert api.get("/api/v1/notifications/settings/").json() == saved


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "method", "body", "says"),
    [
        ("/api/v1/notifications/settings/", "put", {"off": ["gossip"]}, "not a valid choice"),
        ("/api/v1/notifications/settings/", "put", {"off": "like"}, "Expected a list"),
        ("/api/v1/notifications/settings/", "put", {}, "This field is required"),
        ("/api/v1/notifications/read/", "post", {"ids": ["one"]}, "A valid integer is required"),
        ("/api/v1/notifications/read/", "post", {"ids": [0]}, "greater than or equal to 1"),
    ],
)
def test_bad_input_gets_a_readable_400(aiko: User, path: str, method: str, body: Any, says: str):
    response = getattr(token_client(aiko), method)(path, body, format="json")
    assert response.status_code == 400 and says in response.content.decode()


@pytest.mark.django_db
def test_nobody_reads_or_marks_anyone_elses(aiko: User, api_client: Any):
    clip = PostFactory(owner=aiko)
    liked_by(clip, "bob")
    mine = Notification.objects.get(recipient=aiko).pk
    assert api_client.get("/api/v1/notifications/").status_code == 401
    other = token_client(UserFactory(username="eve"))
    assert other.get("/api/v1/notifications/").json() == {"results": [], "unread": 0}
    assert other.post("/api/v1/notifications/read/", {"ids": [mine]}, format="json").json() == {
        "marked": 0,
        "unread": 0,
    }
    assert Notification.objects.get(pk=mine).read is None


@pytest.fixture
def layers(settings: Any) -> Iterator[Any]:
    """Settings whose channel-layer changes take effect (the layers are built once, cached)."""
    channel_layers.backends = {}
    yield settings
    channel_layers.backends = {}


@pytest.mark.django_db(transaction=True)
def test_the_bell_socket_hears_a_new_notification_at_once(layers: Any, aiko: User):
    assert "Redis" in layers.CHANNEL_LAYERS["default"]["BACKEND"], "needs REDIS_URL"
    layers.NOTIFICATIONS_RECHECK_S = 600  # only the push may deliver the change
    clip = PostFactory(owner=aiko)

    async def scenario() -> list[dict[str, Any]]:
        comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/notifications/")
        comm.scope["user"] = aiko
        connected, _ = await comm.connect()
        assert connected
        seen = [await comm.receive_json_from(timeout=5)]
        await sync_to_async(liked_by)(clip, "bob")
        seen.append(await comm.receive_json_from(timeout=5))
        await sync_to_async(services.notifications_mark_read)(user=aiko)
        seen.append(await comm.receive_json_from(timeout=5))
        await comm.disconnect()
        return seen

    assert async_to_sync(scenario)() == [{"unread": 0}, {"unread": 1}, {"unread": 0}]


@pytest.mark.django_db(transaction=True)
def test_the_bell_socket_rereads_where_no_push_can_come(layers: Any, aiko: User):
    layers.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layers.NOTIFICATIONS_RECHECK_S = 0.1
    clip = PostFactory(owner=aiko)

    async def scenario() -> list[dict[str, Any]]:
        comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/notifications/")
        comm.scope["user"] = aiko
        await comm.connect()
        seen = [await comm.receive_json_from(timeout=5)]
        # What a worker in another process does: write the rows, with nobody to push them.
        await Notification.objects.acreate(
            recipient=aiko, kind=Kind.LIKE, post=clip, group_key=f"like:{clip.pk}"
        )
        seen.append(await comm.receive_json_from(timeout=5))
        await comm.disconnect()
        return seen

    assert async_to_sync(scenario)() == [{"unread": 0}, {"unread": 1}]


@pytest.mark.django_db
def test_read_notifications_are_pruned_after_their_time(aiko: User):
    from datetime import timedelta

    from django.utils import timezone

    clip = PostFactory(owner=aiko)
    liked_by(clip, "bob", "cyd")
    old = timezone.now() - timedelta(days=91)
    Notification.objects.update(created=old)
    services.notifications_mark_read(user=aiko, ids=[Notification.objects.first().pk])
    assert services.notifications_prune(before=timezone.now() - timedelta(days=90)) == 1
    assert Notification.objects.count() == 1  # the unread one waits


def test_only_people_with_a_page_open_are_pushed_to(settings: Any):
    import time

    import redis

    from social import presence

    assert settings.REDIS_URL, "needs REDIS_URL"
    redis.Redis.from_url(settings.REDIS_URL).delete(presence.KEY)
    presence.mark_present(7)
    presence.mark_present(9)
    stale = time.time() - presence.present_for_s() - 1
    redis.Redis.from_url(settings.REDIS_URL).zadd(presence.KEY, {"9": stale})
    assert presence.present_among([5, 7, 9]) == [7]
    settings.REDIS_URL = ""
    assert presence.present_among([5, 7, 9]) == [5, 7, 9]  # nobody keeps presence: push all
