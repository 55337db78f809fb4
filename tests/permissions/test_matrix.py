"""Who may do what: every page, API endpoint, media URL and WebSocket, for seven people.

One table (ANSWERS, in answers.py) says what each of them gets from each address, written
from the rules in the README; the test asks for real and compares. A new address without a row fails
`test_every_address_has_a_row`, so nothing is added without deciding who may use it.

The people, each asking about the content of the owner named in brackets:
- anon: signed out [alice]
- stranger: another person, bob [alice]
- blocked: carl, whom alice blocked [alice]
- owner: alice [alice]
- suspended: sue, suspended by moderation [sue]
- mod: a moderator, maya [alice]
- mod_own: a moderator, otto, about his own content [otto]

Each owner has a public post with a comment, a followers-only and a private post, a draft,
an open case about the public post (reported by rita), a post removed by judge (another
moderator) which they have appealed, and a refused prompt. Every request runs in a
transaction rolled back afterwards, so each starts from the same world.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import User
from config.routing import websocket_urlpatterns

from .answers import ANSWERS
from .table import ROWS, Row, _p
from .world import ROLES, World, build_world

pytestmark = pytest.mark.django_db


def _fill(data: dict[str, Any] | None, world: World, role: str) -> dict[str, Any] | None:
    """Put the role's ids into placeholders in a request body."""
    if data is None:
        return None
    fill = _p("{post}|{refusal}")(world, role).split("|")
    values = {"{post}": int(fill[0]), "{refusal}": int(fill[1])}
    return {k: values.get(v, v) if isinstance(v, str) else v for k, v in data.items()}


def _client(person: User | None) -> Client:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client


def ask(world: World, row: Row, role: str) -> int:
    """The status this role gets for this row; nothing it does outlives the request."""
    cache.clear()  # write limits count per person: each request starts with a full allowance
    client = _client(world.people[role])
    path = row.path(world, role)
    data = _fill(row.data, world, role)
    kwargs: dict[str, Any] = {}
    if row.json:
        kwargs = {"data": data or {}, "content_type": "application/json"}
    elif data is not None:
        kwargs = {"data": data}
    try:
        with transaction.atomic():
            response = getattr(client, row.method.lower())(path, **kwargs)
            transaction.set_rollback(True)
    finally:
        cache.clear()
    return int(response.status_code)


def _routes(resolver: URLResolver, prefix: str = "") -> list[str]:
    names = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names += _routes(entry, namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            names.append(prefix + entry.name)
    return names


# Addresses outside the table: the admin (staff only, Django's own checks), and allauth's
# sign-in pages, which anyone may open and which act on the person signing in only.
OUTSIDE = re.compile(r"^(admin:|account_|socialaccount_|django\.)")


def test_every_address_has_a_row() -> None:
    covered = {row.view_name for row in ROWS}
    sockets = [row for row in ROWS if row.method == "WS"]
    assert len(sockets) == len(websocket_urlpatterns), "one row per WebSocket route"
    missing = sorted(
        name for name in set(_routes(get_resolver())) - covered if not OUTSIDE.match(name)
    )
    assert not missing, f"addresses with no row in the permission table: {missing}"
    assert set(ANSWERS) == {row.label for row in ROWS}


def test_each_person_gets_what_the_table_says() -> None:
    world = build_world()
    wrong = []
    for row in ROWS:
        if row.method == "WS":
            continue  # test_each_socket_answers_what_the_table_says
        for role, expected in zip(ROLES, ANSWERS[row.label], strict=True):
            got = ask(world, row, role)
            if got != expected:
                wrong.append(f"{row.method} {row.label} as {role}: {got}, table says {expected}")
    assert not wrong, "\n".join(wrong)


async def _socket(path: str, person: User | None) -> int:
    """101 when the socket is accepted, 403 when it is refused."""
    comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    comm.scope["user"] = person if person is not None else AnonymousUser()
    connected, _ = await comm.connect()
    await comm.disconnect()
    return 101 if connected else 403


@pytest.mark.django_db(transaction=True)
def test_each_socket_answers_what_the_table_says() -> None:
    # The consumer reads the database from its own thread: the world must be committed.
    world = build_world()
    wrong = []
    for row in (row for row in ROWS if row.method == "WS"):
        for role, expected in zip(ROLES, ANSWERS[row.label], strict=True):
            got = async_to_sync(_socket)(row.path(world, role), world.people[role])
            if got != expected:
                wrong.append(f"{row.label} as {role}: {got}, table says {expected}")
    assert not wrong, "\n".join(wrong)
