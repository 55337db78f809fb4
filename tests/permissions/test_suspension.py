"""A suspended account reads, appeals and downloads its data, nothing else, by token too."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Profile, User
from feed.models import Comment, Like
from moderation.models import Appeal, PromptRefusal
from tests.clients import token_client
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def suspended(user: User) -> User:
    User.objects.filter(pk=user.pk).update(suspended_at=timezone.now())
    return User.objects.get(pk=user.pk)


def test_writes_by_token_are_refused_with_the_reason(suspended: User, other_user: User) -> None:
    post = PostFactory(owner=other_user)
    client = token_client(suspended)

    for method, path, body in [
        ("patch", "/api/v1/me/", {"bio": "new bio"}),
        ("post", f"/api/v1/posts/{post.pk}/like/", {}),
        ("post", f"/api/v1/posts/{post.pk}/comments/", {"body": "hi"}),
        ("post", f"/api/v1/users/{other_user.username}/follow/", {}),
        ("post", "/api/v1/reports/", {"post": post.pk, "reason": "spam"}),
        ("post", "/api/v1/generations/", {"prompt": "a red fox running"}),
    ]:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 403, (path, response.status_code)
        assert "suspended" in response.json()["detail"]

    assert Profile.objects.get(user=suspended).bio == ""
    assert not Like.objects.exists() and not Comment.objects.exists()
    assert client.get(f"/api/v1/posts/{post.pk}/").status_code == 200, "reading goes on"


def test_appeals_and_the_data_download_stay_open(suspended: User) -> None:
    refusal = PromptRefusal.objects.create(user=suspended, prompt="a prompt", rule="a rule")
    client = token_client(suspended)

    appeal = client.post(
        "/api/v1/appeals/", {"refusal": refusal.pk, "text": "Fine."}, format="json"
    )
    export = client.get("/api/v1/me/export/")

    assert appeal.status_code == 201 and Appeal.objects.filter(refusal=refusal).exists()
    assert export.status_code == 200
    assert export.json()["account"]["suspended_at"] is not None


def test_a_page_write_is_refused_with_the_site_page(suspended: User) -> None:
    client = Client()
    client.force_login(suspended)
    response = client.post("/settings/profile/", {"bio": "new bio"})
    assert response.status_code == 403
    assert "suspended" in response.content.decode()
    assert Profile.objects.get(user=suspended).bio == ""


def test_the_data_download_holds_what_the_person_made(user: User) -> None:
    PostFactory(owner=user, caption="my kite")
    client = Client()
    client.force_login(user)

    response = client.get("/settings/data/")

    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["account"]["handle"] == user.username
    assert [p["caption"] for p in data["feed"]["posts"]] == ["my kite"]
    assert data["feed"]["posts"][0]["video_url"]
    assert {"generations", "moderation"} <= set(data)
    assert Client().get("/settings/data/").status_code == 302, "signed out: to the sign-in"


@pytest.mark.parametrize(
    ("header", "status"),
    [("Token a\x00b", 400), ("Token " + "x" * 500, 401), ("Token", 401), ("Bearer abc", 401)],
)
def test_a_malformed_token_header_is_no_token(suspended: User, header: str, status: int) -> None:
    response = Client().post("/api/v1/reports/", {}, HTTP_AUTHORIZATION=header)
    assert response.status_code == status
