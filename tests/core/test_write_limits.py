"""Writes that cost work are limited per account (per address when signed out): a page and
its API endpoint share one allowance, a forged X-Forwarded-For moves nobody out of it, and
the refusal is a readable 429 with Retry-After in the language of what was asked for."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.clients import token_client
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    """Small allowances, so a test reaches them in a few requests."""

    def set_rates(**scopes: str) -> None:
        rest = dict(settings.REST_FRAMEWORK)
        rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **scopes}
        settings.REST_FRAMEWORK = rest

    return set_rates


def test_comments_from_the_page_and_the_api_share_one_allowance(rates, user):
    rates(comment="3/min")
    post = PostFactory()
    page = Client()
    page.force_login(user)
    api = token_client(user)
    assert page.post(f"/p/{post.pk}/comments/", {"body": "one"}).status_code == 302
    assert page.post(f"/p/{post.pk}/comments/", {"body": "two"}).status_code == 302
    assert api.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "three"}).status_code == 201

    refused = api.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "four"})
    assert refused.status_code == 429
    assert "throttled" in refused.json()["detail"] and int(refused["Retry-After"]) > 0
    page_refused = page.post(f"/p/{post.pk}/comments/", {"body": "five"})
    assert page_refused.status_code == 429 and int(page_refused["Retry-After"]) > 0
    text = page_refused.content.decode()
    assert "<html" in text and "a lot in a short time" in text
    assert post.comments.count() == 3


def test_an_htmx_refusal_is_a_bare_message_for_the_toast(rates, user):
    rates(social="1/min")
    post = PostFactory()
    page = Client()
    page.force_login(user)
    assert page.post(f"/p/{post.pk}/like/", HTTP_HX_REQUEST="true").status_code == 200
    refused = page.post(f"/p/{post.pk}/like/", HTTP_HX_REQUEST="true")
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/plain")
    assert refused.content.decode().startswith("That's a lot in a short time. Try again in")


def test_another_account_has_its_own_allowance(rates, user):
    from tests.factories import UserFactory

    rates(comment="1/min")
    post = PostFactory()
    assert (
        token_client(user).post(f"/api/v1/posts/{post.pk}/comments/", {"body": "a"}).status_code
        == 201
    )
    assert (
        token_client(user).post(f"/api/v1/posts/{post.pk}/comments/", {"body": "b"}).status_code
        == 429
    )
    other = token_client(UserFactory())
    assert other.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "c"}).status_code == 201


def test_forged_forwarding_headers_do_not_reset_an_address_allowance(rates):
    rates(verify="3/min")
    anonymous = Client()
    answers = []
    for n in range(5):
        # Counted before the (missing) upload is looked at: 400 until the allowance is used.
        response = anonymous.post("/verify/", {}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        answers.append(response.status_code)
    assert answers == [400, 400, 400, 429, 429]


def test_reads_are_never_counted_against_a_write_allowance(rates, user):
    rates(comment="1/min")
    post = PostFactory()
    api = token_client(user)
    for _ in range(5):
        assert api.get(f"/api/v1/posts/{post.pk}/comments/").status_code == 200
    assert api.post(f"/api/v1/posts/{post.pk}/comments/", {"body": "a"}).status_code == 201


def test_a_page_write_is_refused_with_a_503_while_limits_cant_be_counted(settings, user):
    post = PostFactory()
    page = Client()
    page.force_login(user)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = page.post(f"/p/{post.pk}/comments/", {"body": "hello"})
    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert post.comments.count() == 0
    # Reading the post still works.
    assert page.get(f"/p/{post.pk}/").status_code == 200


def test_allauth_limits_answer_with_the_site_page_and_retry_after(settings, client):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "2/m/ip"}
    answers = [
        client.post("/accounts/password/reset/", {"email": f"x{n}@example.org"}) for n in range(3)
    ]
    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert answers[2].status_code == 429 and answers[2]["Retry-After"] == "60"
    assert "Too many attempts from here" in answers[2].content.decode()
