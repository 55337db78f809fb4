"""With the rate-limit cache down, reads stay open, writes that cost work are refused with a
503 that says why, and nothing answers 500."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.clients import token_client
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db

# Nothing listens on port 1: every cache call fails as it does while Redis restarts.
DOWN = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


def test_reads_stay_open_and_writes_are_refused_while_the_cache_is_down(settings, user):
    post = PostFactory()
    settings.CACHES = DOWN
    anonymous = APIClient()
    assert anonymous.get("/api/v1/posts/").status_code == 200
    assert anonymous.get(f"/api/v1/posts/{post.pk}/").status_code == 200
    client = token_client(user)
    assert client.get("/api/v1/me/").status_code == 200

    refused = client.post(
        "/api/v1/events/", {"events": [{"post": post.pk, "kind": "view"}]}, format="json"
    )
    assert refused.status_code == 503
    assert refused.json()["detail"].startswith("Riff can't check its limits right now")
    token = anonymous.post("/api/v1/auth/token/", {"login": "alice", "password": "x"})
    assert token.status_code == 503


def test_with_the_cache_up_the_same_write_goes_through(user):
    post = PostFactory()
    client = token_client(user)
    response = client.post(
        "/api/v1/events/", {"events": [{"post": post.pk, "kind": "view"}]}, format="json"
    )
    assert response.status_code in (200, 201, 202)


# --- Pages: allauth counts its limits (sign-in, sign-up, password reset) in the same cache.


def test_the_pages_read_while_the_cache_is_down_and_their_limited_forms_answer_503(
    settings, client, user
):
    settings.CACHES = DOWN
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"):
        assert client.get(path).status_code == 200, path

    for path, form in (
        ("/accounts/login/", {"login": user.username, "password": "wrong"}),
        ("/accounts/signup/", {"email": "n@example.org", "username": "newbie", "password1": "x"}),
        ("/accounts/password/reset/", {"email": user.email}),
    ):
        response = client.post(path, form)
        assert response.status_code == 503, path
        assert "try again in a minute" in response.content.decode()
        assert response["Retry-After"] == "60"
        assert "<html" in response.content.decode()  # the site's page, not a traceback


def test_the_outage_answer_is_json_on_the_api(settings, client):
    """A view that reaches Redis itself (not through a throttle) gets the same 503, as JSON."""
    from core.middleware import OUTAGE

    settings.ROOT_URLCONF = "tests.core.outage_urls"
    assert client.get("/api/cache-read/").json() == {"cached": None}
    settings.CACHES = DOWN
    response = client.get("/api/cache-read/")
    assert response.status_code == 503
    assert response.json() == {"detail": OUTAGE} and response["Retry-After"] == "60"
    page = client.get("/cache-read/")
    assert page.status_code == 503 and "try again in a minute" in page.content.decode()
