"""Malformed requests get a readable 400, on the API and the site, and never reach a view."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from core.middleware import NUL_IN_ADDRESS

pytestmark = pytest.mark.django_db

NUL_PATHS = ["/@a%00b/", "/api/v1/users/a%00b/", "/media/a%00b.mp4", "/p/1/?next=%00"]


@pytest.mark.parametrize("path", NUL_PATHS)
def test_a_nul_byte_in_the_address_is_a_400_not_a_server_error(client: Client, path: str):
    response = client.get(path)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json() == {"detail": NUL_IN_ADDRESS}
    else:
        assert NUL_IN_ADDRESS in response.content.decode()
        assert "<html" in response.content.decode()  # the site's own 400 page


def test_the_400_page_knows_who_is_signed_in(client: Client, user) -> None:
    client.force_login(user)
    response = client.get("/@a%00b/")
    assert response.status_code == 400 and f"@{user.username}" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_async_path_refuses_the_same() -> None:
    """Under the ASGI server the middleware runs as a coroutine; the page renders off the loop."""
    client = AsyncClient()
    response = async_to_sync(client.get)("/api/v1/users/a%00b/")
    assert response.status_code == 400 and response.json() == {"detail": NUL_IN_ADDRESS}
    page = async_to_sync(client.get)("/@a%00b/")
    assert page.status_code == 400 and NUL_IN_ADDRESS in page.content.decode()


def test_an_ordinary_address_passes(client: Client) -> None:
    assert client.get("/api/v1/users/nobody/").status_code == 404


@pytest.mark.parametrize("path", ["/", "/api/v1/posts/", "/verify/", "/api/docs/"])
def test_every_response_carries_the_content_security_policy(client: Client, path: str) -> None:
    policy = client.get(path)["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_the_api_docs_load_their_script_from_a_file_not_inline(client: Client) -> None:
    page = client.get("/api/docs/").content.decode()
    assert "<script>" not in page.replace(" ", "")
    assert client.get("/api/docs/?script=").status_code == 200
