"""One lockout for the log-in page and the token API (django-axes), which forged
X-Forwarded-For headers can't dodge; the client's address is REMOTE_ADDR, which the ASGI
wrapper sets from the header only behind trusted proxies (core/proxy.py)."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from accounts.models import User
from core.web import client_address

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/accounts/login/"
PASSWORD = "pass-word-123"  # UserFactory's
_forged = (f"203.0.113.{n}" for n in itertools.count(1))


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = 5
    # allauth's own failed-log-in limit stays out of the way: the lockout is under test.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "100/m/ip"}
    return settings


def _wrong_token_requests(count: int) -> list[int]:
    """`count` wrong passwords, each from a client claiming a new address."""
    return [
        APIClient()
        .post(
            TOKEN_URL,
            {"login": "alice", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=next(_forged),
        )
        .status_code
        for _ in range(count)
    ]


def test_wrong_passwords_to_the_token_api_lock_the_account_whatever_the_forwarded_header(
    lockout, user: User
) -> None:
    statuses = _wrong_token_requests(8)
    assert statuses[:4] == [400] * 4 and statuses[-1] == 429, statuses
    right = APIClient().post(TOKEN_URL, {"login": "alice", "password": PASSWORD})
    assert right.status_code == 429
    assert right.json()["detail"].startswith("Too many failed sign-ins")
    assert int(right["Retry-After"]) == 15 * 60
    # The same lockout holds on the log-in page, for the email address too.
    page = Client().post(LOGIN_URL, {"login": "alice@example.com", "password": PASSWORD})
    assert page.status_code == 429 and "Too many failed sign-ins" in page.content.decode()
    assert int(page["Retry-After"]) == 15 * 60


def test_failed_log_ins_on_the_page_lock_the_token_api(lockout, user: User) -> None:
    client = Client()
    for _ in range(5):
        client.post(LOGIN_URL, {"login": "alice", "password": "wrong"})
    assert APIClient().post(TOKEN_URL, {"login": "alice", "password": PASSWORD}).status_code == 429


def test_one_address_trying_many_accounts_is_locked_too(lockout, user: User) -> None:
    client = APIClient()
    for n in range(5):
        client.post(TOKEN_URL, {"login": f"nobody{n}", "password": "wrong"})
    assert client.post(TOKEN_URL, {"login": "alice", "password": PASSWORD}).status_code == 429
    # The account itself was never tried wrongly: from another address it still gets in.
    other = APIClient(REMOTE_ADDR="198.51.100.7")
    assert other.post(TOKEN_URL, {"login": "alice", "password": PASSWORD}).status_code == 200


def test_the_lockout_reads_the_address_the_asgi_wrapper_set(settings) -> None:
    """X-Forwarded-For is read once, by the ASGI wrapper (core/proxy.py, tested with daphne in
    tests/core/test_proxy.py), which puts the client's address in REMOTE_ADDR; the lockout
    reads REMOTE_ADDR alone, so the header can't count twice or be forged past it."""
    request = RequestFactory().get(
        "/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="1.1.1.1, 198.51.100.9"
    )
    for count in (0, 1, 2):
        settings.TRUSTED_PROXY_COUNT = count
        assert client_address(request) == "198.51.100.9"


def test_signing_in_to_ones_own_account_does_not_reset_guesses_at_another(
    lockout, user: User, other_user: User
) -> None:
    guesser = APIClient()
    for _ in range(4):
        guesser.post(TOKEN_URL, {"login": "alice", "password": "wrong"})
    own = guesser.post(TOKEN_URL, {"login": "bob", "password": PASSWORD})
    assert own.status_code == 200  # bob's own sign-in, from the same address
    guesser.post(TOKEN_URL, {"login": "alice", "password": "wrong"})
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.8")
    assert elsewhere.post(TOKEN_URL, {"login": "alice", "password": PASSWORD}).status_code == 429
