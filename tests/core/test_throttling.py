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
