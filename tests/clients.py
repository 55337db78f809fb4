"""API clients signed in the two ways Riff accepts: a token, or a browser session."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User

CSRF_SECRET = "riffcsrfsecretriffcsrfsecret1234"


def token_client(user: User) -> APIClient:
    """A client authenticated with the user's API token."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def session_client(user: User, *, csrf: bool) -> APIClient:
    """A browser-like client signed in with a session; sends the CSRF token if asked."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    if csrf:
        client.cookies["csrftoken"] = CSRF_SECRET
        client.credentials(HTTP_X_CSRFTOKEN=CSRF_SECRET)
    return client
