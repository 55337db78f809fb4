"""The trusted-proxy wrapper: the client's address is read from X-Forwarded-For once, by
TRUSTED_PROXY_COUNT, for HTTP and WebSockets, and every limit by address agrees with it."""

from __future__ import annotations

import asyncio
import io
import itertools
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from allauth.account.adapter import get_adapter
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.core.handlers.asgi import ASGIRequest
from rest_framework.request import Request

from core.proxy import TrustedProxyMiddleware, forwarded_client
from core.throttling import AnonRateThrottle, ScopedRateThrottle
from core.web import client_address
from tests.processes import daphne, process_env

PROXY = ("10.0.0.2", 40000)  # the connection daphne sees: our proxy's


def through(scope: dict[str, Any], *, proxy_count: int | None = None) -> dict[str, Any]:
    """The scope the app behind the wrapper gets."""
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        return None

    asyncio.run(TrustedProxyMiddleware(app, proxy_count=proxy_count)(scope, receive, send))
    return seen


def scope(kind: str = "http", *forwarded: str) -> dict[str, Any]:
    headers = [(b"host", b"riff.example.com")]
    headers += [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {
        "type": kind,
        "path": "/",
        "method": "GET",
        "query_string": b"",
        "headers": headers,
        "client": PROXY,
        "server": ("10.0.0.3", 8000),
    }


@pytest.mark.parametrize(
    ("values", "count", "expected"),
    [
        (["198.51.100.9"], 1, "198.51.100.9"),  # what one proxy of ours wrote
        (["1.1.1.1, 198.51.100.9"], 1, "198.51.100.9"),  # the client's own entry is left
        (["1.1.1.1, 198.51.100.9"], 2, "1.1.1.1"),
        (["1.1.1.1", "198.51.100.9"], 1, "198.51.100.9"),  # two header lines, in order
        (["1.1.1.1", "198.51.100.9"], 2, "1.1.1.1"),
        (["  , 198.51.100.9 ,"], 1, "198.51.100.9"),
        (["2001:DB8::1"], 1, "2001:db8::1"),
        (["[2001:db8::1]:443"], 1, "2001:db8::1"),
        (["203.0.113.5:51234"], 1, "203.0.113.5"),
        # Fewer entries than proxies: not what our proxies write, and the leftmost may be the
        # client's own; the connection's address stands.
        (["198.51.100.9"], 2, None),
        ([], 1, None),
        (["unknown"], 1, None),  # not an address
        (["198.51.100.9"], 0, None),  # no proxies trusted: the header means nothing
    ],
)
def test_forwarded_client(values: list[str], count: int, expected: str | None) -> None:
    assert forwarded_client(values, count) == expected


@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_the_wrapper_sets_the_client_behind_one_proxy(kind: str) -> None:
    seen = through(scope(kind, "6.6.6.6, 198.51.100.9"), proxy_count=1)
    assert seen["client"] == ("198.51.100.9", 0)
    # The rest of the connection is untouched.
    assert seen["headers"] == scope(kind, "6.6.6.6, 198.51.100.9")["headers"]


@pytest.mark.parametrize("kind", ["http", "websocket"])
def test_without_trusted_proxies_the_header_is_ignored(kind: str) -> None:
    assert through(scope(kind, "6.6.6.6"), proxy_count=0)["client"] == PROXY


def test_too_few_entries_leave_the_connections_address() -> None:
    assert through(scope("http", "6.6.6.6"), proxy_count=2)["client"] == PROXY
    assert through(scope("http"), proxy_count=1)["client"] == PROXY


def test_other_scopes_pass_through() -> None:
    lifespan = {"type": "lifespan"}
    assert through(lifespan, proxy_count=1) == lifespan


def test_the_count_comes_from_the_setting(settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 0
    assert through(scope("http", "198.51.100.9"))["client"] == PROXY
    settings.TRUSTED_PROXY_COUNT = 1
    assert through(scope("http", "198.51.100.9"))["client"] == ("198.51.100.9", 0)


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "10.0.0.2"), (1, "198.51.100.9"), (2, "1.1.1.1")]
)
def test_every_limit_keys_on_the_address_the_wrapper_set(settings, count, expected) -> None:
    """DRF's throttles, allauth's limits and the sign-in lockout read REMOTE_ADDR alone: none
    counts the proxies a second time, whatever the forged part of the header says."""
    settings.TRUSTED_PROXY_COUNT = count
    seen = through(scope("http", "6.6.6.6, 1.1.1.1, 198.51.100.9"))
    request = ASGIRequest(seen, io.BytesIO())
    assert request.META["REMOTE_ADDR"] == expected
    assert request.headers["X-Forwarded-For"] == "6.6.6.6, 1.1.1.1, 198.51.100.9"
    api_request = Request(request)
    assert client_address(request) == expected
    assert get_client_ip_address(request) == expected  # axes
    assert get_adapter(request).get_client_ip(request) == expected  # allauth
    assert AnonRateThrottle().get_ident(api_request) == expected  # DRF
    assert ScopedRateThrottle().get_ident(api_request) == expected


# --- Through daphne, as compose runs it: the token API's limit keys on the right address.

TOKEN_URL = "/api/v1/auth/token/"
_forged = (f"203.0.113.{n}" for n in itertools.count(1))


def wrong_password(base: str, forwarded: str | None = None) -> int:
    """Ask daphne for a token with a wrong password; the answer's status."""
    body = urllib.parse.urlencode({"login": "nobody", "password": "wrong"}).encode()
    request = urllib.request.Request(f"{base}{TOKEN_URL}", data=body, method="POST")  # noqa: S310
    if forwarded is not None:
        request.add_header("X-Forwarded-For", forwarded)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def served(tmp_path: Path, proxy_count: int) -> Any:
    """Daphne behind `proxy_count` trusted proxies: 3 token requests a minute per address, and
    the sign-in lockout out of the way (its own tests are in tests/accounts)."""
    env = process_env(
        media_root=tmp_path / "media",
        TRUSTED_PROXY_COUNT=str(proxy_count),
        RATE_LIMIT_TOKEN="3/min",
        LOGIN_LOCKOUT_FAILURES="100",
    )
    return daphne(env, tmp_path / "daphne.log")


def addresses_tried() -> set[str]:
    """The addresses the sign-in lockout counted failures from."""
    return set(AccessAttempt.objects.values_list("ip_address", flat=True))


@pytest.mark.django_db(transaction=True)
def test_without_trusted_proxies_a_forged_header_gets_no_new_allowance(tmp_path: Path) -> None:
    with served(tmp_path, 0) as base:
        statuses = [wrong_password(base, forwarded=next(_forged)) for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert addresses_tried() == {"127.0.0.1"}


@pytest.mark.django_db(transaction=True)
def test_behind_one_proxy_each_client_has_its_own_allowance(tmp_path: Path) -> None:
    with served(tmp_path, 1) as base:
        # The proxy appends the address it saw; the client's own entries stand left of it.
        first = [wrong_password(base, f"{next(_forged)}, 198.51.100.1") for _ in range(4)]
        second = wrong_password(base, f"{next(_forged)}, 198.51.100.2")
        # Something that reached daphne around the proxy counts as the proxy itself.
        around = wrong_password(base)
    assert first == [400, 400, 400, 429]
    assert second == 400
    assert around == 400
    assert addresses_tried() == {"198.51.100.1", "198.51.100.2", "127.0.0.1"}
