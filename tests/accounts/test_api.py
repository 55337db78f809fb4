"""The people API: tokens, your profile, other people, follows and their lists."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import Follow, Profile, User
from accounts.services import follow_create
from feed.models import Post
from tests.clients import session_client, token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # UserFactory's


def png(size: tuple[int, int] = (8, 8)) -> bytes:
    """A real PNG of noise (noise doesn't compress, so size in pixels sets size in bytes)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def url(name: str, handle: str | None = None) -> str:
    return reverse(f"api:{name}", kwargs={"handle": handle} if handle else None)


# --- Tokens.

TOKEN_URL = "/api/v1/auth/token/"


@pytest.mark.parametrize("login", ["alice", "ALICE", "@alice", "alice@example.com"])
def test_token_for_handle_or_email(api_client, user, login):
    response = api_client.post(TOKEN_URL, {"login": login, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}


def test_token_works_and_is_stable(api_client, user):
    first = api_client.post(TOKEN_URL, {"login": "alice", "password": PASSWORD}).json()["token"]
    second = api_client.post(TOKEN_URL, {"login": "alice", "password": PASSWORD}).json()["token"]
    assert first == second
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    response = client.get(url("me"))
    assert response.status_code == 200
    assert response.json()["handle"] == "alice"


@pytest.mark.parametrize(
    "payload",
    [
        {"login": "alice", "password": "wrong"},
        {"login": "nobody", "password": PASSWORD},
        {"login": "nobody@example.com", "password": PASSWORD},
    ],
)
def test_bad_credentials_are_400_with_a_message(api_client, user, payload):
    response = api_client.post(TOKEN_URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "That email or handle and password don't match an account."
    }
    assert not Token.objects.exists()


def test_no_token_before_the_email_is_confirmed_when_confirmation_is_mandatory(
    api_client, user, settings
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    response = api_client.post(TOKEN_URL, {"login": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert response.json()["detail"].startswith("Confirm your email address first")
    assert not Token.objects.filter(user=user).exists()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    response = api_client.post(TOKEN_URL, {"login": "alice", "password": PASSWORD})
    assert response.status_code == 200 and response.json()["token"]


def test_inactive_people_get_no_token(api_client, user):
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = api_client.post(TOKEN_URL, {"login": "alice", "password": PASSWORD})
    assert response.status_code == 400


def test_token_request_needs_both_fields(api_client):
    response = api_client.post(TOKEN_URL, {"login": "alice"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"password": ["This field is required."]}


def test_revoking_the_token(user):
    client = token_client(user)
    assert client.delete(TOKEN_URL).status_code == 204
    assert not Token.objects.filter(user=user).exists()
    # The old token no longer opens anything.
    assert client.get(url("me")).status_code == 401
    assert APIClient().delete(TOKEN_URL).status_code == 401


def test_token_requests_are_throttled(api_client, user, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    for _ in range(3):
        response = api_client.post(TOKEN_URL, {"login": "alice", "password": "wrong"})
        assert response.status_code == 400
    throttled = api_client.post(TOKEN_URL, {"login": "alice", "password": PASSWORD})
    assert throttled.status_code == 429
    assert "throttled" in throttled.json()["detail"].lower()
    # Other endpoints are not affected by the token scope.
    assert api_client.get(url("user-detail", "alice")).status_code == 200


# --- Me.


def test_me_shows_my_profile_with_email(user):
    response = token_client(user).get(url("me"))
    assert response.status_code == 200
    assert response.json() == {
        "handle": "alice",
        "email": "alice@example.com",
        "display_name": "",
        "bio": "",
        "avatar_url": None,
        "follower_count": 0,
        "following_count": 0,
        "post_count": 0,
    }


def test_me_needs_auth(api_client):
    assert api_client.get(url("me")).status_code == 401
    assert api_client.patch(url("me"), {"bio": "x"}, format="json").status_code == 401


def test_me_update_name_and_bio(user):
    response = token_client(user).patch(
        url("me"), {"display_name": " Alice A. ", "bio": "I make boats."}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Alice A."
    profile = Profile.objects.get(user=user)
    assert (profile.display_name, profile.bio) == ("Alice A.", "I make boats.")


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"display_name": "x" * 51},
            "display_name",
            "A display name can be at most 50 characters.",
        ),
        ({"bio": "x" * 301}, "bio", "A bio can be at most 300 characters."),
    ],
)
def test_me_update_refuses_long_text(user, payload, field, message):
    response = token_client(user).patch(url("me"), payload, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_avatar_upload(user):
    upload = SimpleUploadedFile("me.png", png(), content_type="image/png")
    response = token_client(user).patch(url("me"), {"avatar": upload}, format="multipart")
    assert response.status_code == 200
    avatar_url = response.json()["avatar_url"]
    assert avatar_url.startswith(f"http://testserver/media/avatars/{user.pk}/")
    profile = Profile.objects.get(user=user)
    assert profile.avatar.storage.exists(profile.avatar.name)
    # It shows up wherever the person does.
    detail = APIClient().get(url("user-detail", "alice")).json()
    assert detail["avatar_url"] == avatar_url


def test_avatar_too_big_is_400(user, settings):
    settings.AVATAR_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.png", png((40, 40)), content_type="image/png")
    assert upload.size > 1024
    response = token_client(user).patch(url("me"), {"avatar": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"avatar": ["That picture is too big: the limit is 1 KB."]}
    assert not Profile.objects.get(user=user).avatar


@pytest.mark.parametrize(
    ("name", "content"),
    [("notes.png", b"this is not a picture"), ("clip.png", b"\x00" * 64)],
)
def test_avatar_that_is_not_an_image_is_400(user, name, content):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    response = token_client(user).patch(url("me"), {"avatar": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"avatar": ["That file isn't a picture we can read."]}


def test_avatar_in_an_odd_format_is_400(user):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="TIFF")
    upload = SimpleUploadedFile("me.tiff", buffer.getvalue(), content_type="image/tiff")
    response = token_client(user).patch(url("me"), {"avatar": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json() == {"avatar": ["Use a JPEG, PNG, GIF or WebP picture."]}


def test_me_update_by_session_needs_csrf(user):
    refused = session_client(user, csrf=False).patch(url("me"), {"bio": "hi"}, format="json")
    assert refused.status_code == 403
    assert Profile.objects.get(user=user).bio == ""
    allowed = session_client(user, csrf=True).patch(url("me"), {"bio": "hi"}, format="json")
    assert allowed.status_code == 200
    assert Profile.objects.get(user=user).bio == "hi"


# --- Other people.


def test_user_detail(api_client, user, other_user):
    PostFactory(owner=other_user)
    follow_create(follower=user, followee=other_user)

    anonymous = api_client.get(url("user-detail", "bob"))
    assert anonymous.status_code == 200
    assert anonymous.json() == {
        "handle": "bob",
        "display_name": "",
        "bio": "",
        "avatar_url": None,
        "follower_count": 1,
        "following_count": 0,
        "post_count": 1,
        "is_following": False,
        "is_blocking": False,
        "blocked_by": False,
    }
    assert token_client(user).get(url("user-detail", "BOB")).json()["is_following"] is True
    assert token_client(other_user).get(url("user-detail", "alice")).json()["is_following"] is False


def test_unknown_handle_is_404(api_client, user):
    for name in ("user-detail", "user-followers", "user-following", "user-posts"):
        response = api_client.get(url(name, "nobody"))
        assert response.status_code == 404
        assert response.json() == {"detail": "No one on Riff has the handle @nobody."}
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert api_client.get(url("user-detail", "alice")).status_code == 404


def test_follow_and_unfollow(user, other_user):
    client = token_client(user)
    first = client.post(url("user-follow", "bob"))
    assert (first.status_code, first.json()) == (201, {"following": True, "follower_count": 1})
    again = client.post(url("user-follow", "bob"))
    assert (again.status_code, again.json()) == (200, {"following": True, "follower_count": 1})
    assert Follow.objects.filter(follower=user, followee=other_user).count() == 1

    gone = client.delete(url("user-follow", "bob"))
    assert (gone.status_code, gone.json()) == (200, {"following": False, "follower_count": 0})
    assert client.delete(url("user-follow", "bob")).json()["following"] is False
    assert not Follow.objects.exists()


def test_follow_rules(api_client, user):
    response = token_client(user).post(url("user-follow", "alice"))
    assert response.status_code == 400
    assert response.json() == {"detail": "You can't follow yourself."}
    assert api_client.post(url("user-follow", "alice")).status_code == 401
    assert token_client(user).post(url("user-follow", "nobody")).status_code == 404
    assert not Follow.objects.exists()


def test_follow_by_session_needs_csrf(user, other_user):
    assert session_client(user, csrf=False).post(url("user-follow", "bob")).status_code == 403
    assert not Follow.objects.exists()
    assert session_client(user, csrf=True).post(url("user-follow", "bob")).status_code == 201


def test_follower_and_following_lists(api_client, user, other_user):
    carol = UserFactory(username="carol")
    dave = UserFactory(username="dave")
    for n, follower in enumerate([user, carol, dave]):
        follow_create(follower=follower, followee=other_user)
        # Spread the follow times so the order is known.
        Follow.objects.filter(follower=follower).update(
            created=timezone.now() - timedelta(minutes=10 - n)
        )
    follow_create(follower=user, followee=carol)

    first = token_client(user).get(url("user-followers", "bob") + "?limit=2").json()
    assert [p["handle"] for p in first["results"]] == ["dave", "carol"]
    assert [p["is_following"] for p in first["results"]] == [False, True]
    assert set(first["results"][0]) == {"handle", "display_name", "avatar_url", "is_following"}
    second = api_client.get(first["next"]).json()
    assert [p["handle"] for p in second["results"]] == ["alice"]
    assert second["next"] is None

    following = api_client.get(url("user-following", "alice")).json()["results"]
    assert [p["handle"] for p in following] == ["carol", "bob"]
    assert api_client.get(url("user-following", "bob")).json()["results"] == []


def test_follow_list_bad_page_params_are_400(api_client, user):
    assert api_client.get(url("user-followers", "alice") + "?limit=0").status_code == 400
    assert api_client.get(url("user-followers", "alice") + "?cursor=zzz").status_code == 400


def test_user_posts_respect_visibility(api_client, user, other_user):
    posts = {vis: PostFactory(owner=other_user, visibility=vis) for vis in Post.Visibility.values}

    def listed(client: APIClient) -> set[int]:
        response = client.get(url("user-posts", "bob"))
        assert response.status_code == 200
        return {p["id"] for p in response.json()["results"]}

    assert listed(api_client) == {posts["public"].pk}
    assert listed(token_client(user)) == {posts["public"].pk}
    follow_create(follower=user, followee=other_user)
    assert listed(token_client(user)) == {posts["public"].pk, posts["followers"].pk}
    assert listed(token_client(other_user)) == {p.pk for p in posts.values()}


def test_user_posts_paginate(api_client, other_user):
    now = timezone.now()
    made = [PostFactory(owner=other_user, created=now - timedelta(minutes=n)) for n in range(3)]
    first = api_client.get(url("user-posts", "bob") + "?limit=2").json()
    second = api_client.get(first["next"]).json()
    assert [p["id"] for p in first["results"] + second["results"]] == [p.pk for p in made]
