"""The engagement intake API: batches in, nothing trusted that the server records itself."""

from __future__ import annotations

import json

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


def test_anonymous_batch_is_recorded(api_client, post):
    events = [
        {"post": post.pk, "kind": "impression"},
        {"post": post.pk, "kind": "view", "value": 4.5, "client_id": "a1"},
        {"post": post.pk, "kind": "skip", "value": 0},
    ]
    response = api_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "skipped": []}
    rows = list(EngagementEvent.objects.order_by("id").values_list("viewer", "kind", "value"))
    assert rows == [(None, "impression", 1.0), (None, "view", 4.5), (None, "skip", 0.0)]


def test_beacon_text_plain_body_is_accepted(api_client, post):
    body = json.dumps({"events": [{"post": post.pk, "kind": "complete"}]})
    response = api_client.post(URL, body, content_type="text/plain;charset=UTF-8")
    assert response.status_code == 202
    assert EngagementEvent.objects.get().kind == "complete"


def test_token_viewer_is_recorded_and_client_ids_count_once(user, post):
    client = token_client(user)
    events = [
        {"post": post.pk, "kind": "view", "value": 3, "client_id": "x"},
        {"post": post.pk, "kind": "view", "value": 3, "client_id": "x"},
        {"post": post.pk, "kind": "replay", "client_id": "y"},
    ]
    response = client.post(URL, {"events": events}, format="json")
    assert response.status_code == 202
    assert response.json() == {"accepted": 2, "skipped": []}
    # The same batch sent again (a retry) adds nothing.
    assert client.post(URL, {"events": events}, format="json").status_code == 202
    rows = EngagementEvent.objects.order_by("client_id")
    assert [(e.viewer_id, e.client_id) for e in rows] == [(user.pk, "x"), (user.pk, "y")]


@pytest.mark.parametrize("kind", ["like", "unlike", "comment", "follow", "remix", "reset", "bogus"])
def test_kinds_the_server_records_itself_are_refused(api_client, post, kind):
    events = [{"post": post.pk, "kind": "view"}, {"post": post.pk, "kind": kind}]
    response = api_client.post(URL, {"events": events}, format="json")
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
def test_values_out_of_range_are_refused(api_client, post, value, message):
    events = [{"post": post.pk, "kind": "view", "value": value}]
    response = api_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 400
    assert response.json() == {"events": {"0": {"value": [message]}}}
    assert not EngagementEvent.objects.exists()


def test_long_client_id_is_refused(api_client, post):
    events = [{"post": post.pk, "kind": "view", "client_id": "c" * 65}]
    response = api_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 400
    assert "client_id" in response.json()["events"]["0"]


def test_invisible_and_missing_posts_are_skipped_and_named(user, other_user, post):
    private = PostFactory(owner=other_user, visibility="private")
    followers = PostFactory(owner=other_user, visibility="followers")
    events = [
        {"post": post.pk, "kind": "view"},
        {"post": private.pk, "kind": "view"},
        {"post": 999_999, "kind": "view"},
        {"post": followers.pk, "kind": "view"},
    ]
    client = token_client(user)
    response = client.post(URL, {"events": events}, format="json")
    assert response.status_code == 202
    assert response.json() == {"accepted": 1, "skipped": [1, 2, 3]}
    assert list(EngagementEvent.objects.values_list("post_id", flat=True)) == [post.pk]

    # Following bob opens his followers-only post, but never his private one.
    follow_create(follower=user, followee=other_user)
    response = client.post(URL, {"events": events}, format="json")
    assert response.json() == {"accepted": 2, "skipped": [1, 2]}


def test_batch_size_is_limited(api_client, post):
    events = [{"post": post.pk, "kind": "impression"}] * 201
    response = api_client.post(URL, {"events": events}, format="json")
    assert response.status_code == 400
    assert response.json() == {"events": ["Send at most 200 events at a time."]}
    assert not EngagementEvent.objects.exists()
    ok = api_client.post(URL, {"events": events[:200]}, format="json")
    assert (ok.status_code, ok.json()) == (202, {"accepted": 200, "skipped": []})


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
def test_malformed_bodies_are_400(api_client, body, content_type):
    response = api_client.post(URL, body, content_type=content_type)
    assert response.status_code == 400
    assert not EngagementEvent.objects.exists()


def test_unsupported_media_type_is_415(api_client, post):
    response = api_client.post(URL, {"events": "x"}, format="multipart")
    assert response.status_code == 415


def test_session_requests_need_the_csrf_token(user, post):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    body = {"events": [{"post": post.pk, "kind": "view"}]}
    refused = client.post(URL, body, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not EngagementEvent.objects.exists()

    client.cookies["csrftoken"] = CSRF_SECRET
    response = client.post(URL, body, format="json", HTTP_X_CSRFTOKEN=CSRF_SECRET)
    assert response.status_code == 202
    assert EngagementEvent.objects.get().viewer_id == user.pk
