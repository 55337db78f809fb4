"""The engagement intake API: signed-in viewers' batches in, nothing trusted that the server
records itself, and an answer that says what became of each event."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import follow_create
from feed.models import Post
from ranking.models import EngagementEvent
from tests.clients import CSRF_SECRET, token_client
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"


@pytest.fixture
def post(other_user: User) -> Post:
    """A public post by bob."""
    return PostFactory(owner=other_user)


def test_url_is_the_named_route():
    assert reverse("api:events") == URL


def show(viewer: User, *posts: Post) -> None:
    """Riff shows the posts to the viewer (their own page, as an API client opens them)."""
    client = token_client(viewer)
    for post in posts:
        assert client.get(f"/api/v1/posts/{post.pk}/").status_code == 200


def test_signed_out_callers_are_refused_and_nothing_is_recorded(api_client, post):
    events = [
        {"post": post.pk, "kind": "impression"},
        {"post": post.pk, "kind": "share", "client_id": "a1"},
        {"post": post.pk, "kind": "not_interested"},
    ]
    response = api_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 401
    assert not EngagementEvent.objects.exists()


def test_a_viewers_batch_is_recorded(user, post):
    show(user, post)
    events = [
        {"post": post.pk, "kind": "impression"},
        {"post": post.pk, "kind": "view", "value": 0.4, "client_id": "a1"},
        {"post": post.pk, "kind": "skip", "value": 0},
    ]
    response = token_client(user).post(URL, {"events": events}, format="json")
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "duplicate": 0, "refused": []}
    rows = list(EngagementEvent.objects.order_by("id").values_list("viewer", "kind", "value"))
    assert rows == [(user.pk, "impression", 1.0), (user.pk, "view", 0.4), (user.pk, "skip", 0.0)]


def test_beacon_text_plain_body_is_accepted(user, post):
    show(user, post)
    body = json.dumps({"events": [{"post": post.pk, "kind": "complete"}]})
    response = token_client(user).post(URL, body, content_type="text/plain;charset=UTF-8")
    assert response.status_code == 202
    assert EngagementEvent.objects.get().kind == "complete"


def test_token_viewer_is_recorded_and_a_resent_client_id_is_a_duplicate(user, post):
    show(user, post)
    client = token_client(user)
    events = [
        {"post": post.pk, "kind": "view", "value": 0.3, "client_id": "x"},
        {"post": post.pk, "kind": "view", "value": 0.3, "client_id": "x"},
        {"post": post.pk, "kind": "replay", "client_id": "y"},
    ]
    response = client.post(URL, {"events": events}, format="json")
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "duplicate": 1, "refused": []}
    # The same batch sent again (a retry) adds nothing, and says so.
    again = client.post(URL, {"events": events}, format="json")
    assert (again.status_code, again.json()) == (
        202,
        {"accepted": 0, "duplicate": 3, "refused": []},
    )
    rows = EngagementEvent.objects.order_by("client_id")
    assert [(e.viewer_id, e.client_id) for e in rows] == [(user.pk, "x"), (user.pk, "y")]


@pytest.mark.parametrize(
    "kind", ["like", "unlike", "comment", "follow", "remix", "report", "reset", "bogus"]
)
def test_kinds_the_server_records_itself_are_refused(auth_client, post, kind):
    events = [{"post": post.pk, "kind": "view"}, {"post": post.pk, "kind": kind}]
    response = auth_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 400
    assert response.json() == {"events": {"1": {"kind": [f'"{kind}" is not a valid choice.']}}}
    assert not EngagementEvent.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "Ensure this value is greater than or equal to 0."),
        (3601, "Ensure this value is less than or equal to 3600.0."),
        ("NaN", "A valid number is required."),
        ("Infinity", "A valid number is required."),
        ("lots", "A valid number is required."),
    ],
)
def test_values_out_of_range_are_refused(auth_client, post, value, message):
    events = [{"post": post.pk, "kind": "view", "value": value}]
    response = auth_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 400
    assert response.json() == {"events": {"0": {"value": [message]}}}
    assert not EngagementEvent.objects.exists()


def test_long_client_id_is_refused(auth_client, post):
    events = [{"post": post.pk, "kind": "view", "client_id": "c" * 65}]
    response = auth_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 400
    assert "client_id" in response.json()["events"]["0"]


def test_invisible_and_missing_posts_are_refused_and_named(user, other_user, post):
    private = PostFactory(owner=other_user, visibility="private")
    followers = PostFactory(owner=other_user, visibility="followers")
    show(user, post)
    events = [
        {"post": post.pk, "kind": "view", "value": 0.2},
        {"post": private.pk, "kind": "view", "value": 0.2},
        {"post": 999_999, "kind": "view", "value": 0.2},
        {"post": followers.pk, "kind": "view", "value": 0.2},
    ]
    client = token_client(user)
    response = client.post(URL, {"events": events}, format="json")
    assert response.status_code == 202
    gone = "That post doesn't exist or isn't visible to you."
    assert response.json() == {
        "accepted": 1,
        "duplicate": 0,
        "refused": [
            {"index": 1, "reason": "not_visible", "detail": gone},
            {"index": 2, "reason": "not_visible", "detail": gone},
            {"index": 3, "reason": "not_visible", "detail": gone},
        ],
    }
    assert list(EngagementEvent.objects.values_list("post_id", flat=True)) == [post.pk]

    # Following bob opens his followers-only post, but never his private one.
    follow_create(follower=user, followee=other_user)
    show(user, followers)
    response = client.post(URL, {"events": events}, format="json")
    assert response.json()["accepted"] == 2
    assert [r["index"] for r in response.json()["refused"]] == [1, 2]


def test_batch_size_is_limited(auth_client, user, post):
    show(user, post)
    events = [{"post": post.pk, "kind": "impression"}] * 201
    response = auth_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 400
    assert response.json() == {"events": ["Send at most 200 events at a time."]}
    assert not EngagementEvent.objects.exists()
    ok = auth_client.post(URL, {"events": events[:200]}, format="json")
    assert ok.status_code == 202
    # 200 impressions of one clip are more than one viewer's day counts (intake.CAPS).
    answer = ok.json()
    assert (answer["accepted"], answer["duplicate"], len(answer["refused"])) == (20, 0, 180)
    assert {r["reason"] for r in answer["refused"]} == {"capped"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ("{not json", "text/plain"),
        ('{"events": "lots"}', "application/json"),
        ("[]", "application/json"),
        ("{}", "application/json"),
    ],
)
def test_malformed_bodies_are_400(auth_client, body, content_type):
    response = auth_client.post(URL, body, content_type=content_type)
    assert response.status_code == 400
    assert not EngagementEvent.objects.exists()


def test_unsupported_media_type_is_415(auth_client, post):
    response = auth_client.post(URL, {"events": "x"}, format="multipart")
    assert response.status_code == 415


def test_session_requests_need_the_csrf_token(user, post):
    show(user, post)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    body = {"events": [{"post": post.pk, "kind": "view", "value": 0.2}]}
    refused = client.post(URL, body, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not EngagementEvent.objects.exists()

    client.cookies["csrftoken"] = CSRF_SECRET
    response = client.post(URL, body, format="json", HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert response.status_code == 202
    assert EngagementEvent.objects.get().viewer_id == user.pk


def test_the_plain_batch_reader_takes_only_what_the_serializer_takes_and_alike():
    """A batch read without DRF's machinery reads as the serializer would read it, and any
    batch it is unsure of goes to the serializer (which words the error)."""
    from ranking.api import EventBatchApi, events_plainly_valid
    from ranking.intake import EventIn

    fields = {
        "post": [1, 7, 0, -3, True, "5", 5.0, 2**63, {}, None],
        "kind": ["view", "skip", "complete", "like", "reset", "nope", 3, {}, [], None],
        "value": [1, 0, 2.5, 3600, 3601, -1, True, "2", float("nan"), {}, None],
        "client_id": ["", "a-1", " padded ", "x" * 64, "x" * 65, "nul\x00", 7, [], None],
    }
    rng = np.random.default_rng(0)
    taken = 0
    for _ in range(3000):
        event = {}
        for name, choices in fields.items():
            if rng.random() < 0.9:
                choice = choices[int(rng.integers(0, len(choices)))]
                if choice is not None or rng.random() < 0.5:
                    event[name] = choice
        data = {"events": [event, {"post": 2, "kind": "view"}]}
        fast = events_plainly_valid(data)
        serializer = EventBatchApi.InputSerializer(data=data)
        if fast is None:
            continue
        taken += 1
        assert serializer.is_valid(), (event, serializer.errors)
        slow = [
            EventIn(post_id=e["post"], kind=e["kind"], value=e["value"], client_id=e["client_id"])
            for e in serializer.validated_data["events"]
        ]
        assert fast == slow, event
    assert taken > 20  # the plain path was exercised (44 of 3000 here), not only the fallback
    assert events_plainly_valid({"events": [{"post": 1, "kind": "view"}] * 201}) is None
    assert events_plainly_valid([{"post": 1, "kind": "view"}]) is None
