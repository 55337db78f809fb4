"""Fixtures shared by every test: media in a temporary folder, a clean cache, factories."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from rest_framework.test import APIClient

from accounts.models import User

from .clients import token_client
from .factories import PostFactory, UserFactory


def _allow_audit_truncate(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Let this process's connections empty the audit log. Django's flush (after each
    transactional or live-server test) TRUNCATEs every table in one statement, and the audit
    log's trigger refuses that unless the session allows it (moderation/migrations/0005)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET riff.audit_truncate = 'allow'")


# At import, before pytest-django opens the test database's first connection.
connection_created.connect(_allow_audit_truncate)


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    """Each test writes its media to its own folder, never to the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(scope="session")
def c2pa_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development CA and signing certificate, made once per test session."""
    from moderation.content_credentials import build_dev_ca

    folder = tmp_path_factory.mktemp("c2pa")
    build_dev_ca(folder)
    return folder


@pytest.fixture(autouse=True)
def _c2pa_settings(settings: Any, c2pa_ca: Path) -> None:
    """Every test signs clips with the session's development CA, and trusts it."""
    settings.C2PA_CERT_CHAIN = c2pa_ca / "chain.pem"
    settings.C2PA_PRIVATE_KEY = c2pa_ca / "key.pem"
    settings.C2PA_TRUST_ANCHORS = c2pa_ca / "ca.pem"


@pytest.fixture(autouse=True)
def _verify_answers_at_once(settings: Any) -> None:
    """No `verify` worker runs beside unit tests: an upload is answered "pending" at once,
    and tests check it with tests.verifying (processes tests start a real worker)."""
    settings.VERIFY_WAIT_S = 0


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Rate-limit counters live in the cache (Redis in CI): start each test from zero."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_live_learner() -> Iterator[None]:
    """The process keeps one For You learner in step with the event log: each test starts
    it empty, as a fresh web process would. No updater thread starts by itself (it could
    not see a test's uncommitted rows): a test runs its ticks with `live.sync_now()`, or
    starts it with `live.start()` under a transactional database."""
    from ranking.live import live

    live.background = False
    live.reset()
    yield
    live.reset()


@pytest.fixture
def gpu_queue(settings: Any) -> Iterator[Callable[[], list[str]]]:
    """Read what waits on the real broker's `gpu` queue: the job ids of the sent tasks."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("gpu")

    def job_ids() -> list[str]:
        ids = []
        for raw in client.lrange("gpu", 0, -1):
            message = json.loads(raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            ids.append(args[0])
        return list(reversed(ids))  # kombu pushes on the left: oldest last

    yield job_ids
    client.delete("gpu")
    client.close()


@pytest.fixture
def user(db: None) -> User:
    """A signed-up person."""
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db: None) -> User:
    """Another signed-up person."""
    return UserFactory(username="bob")


@pytest.fixture
def api_client() -> APIClient:
    """An API client that enforces CSRF like a browser session would."""
    return APIClient(enforce_csrf_checks=True)


@pytest.fixture
def auth_client(user: User) -> APIClient:
    """An API client signed in as `user` with a token."""
    return token_client(user)


__all__ = ["PostFactory", "UserFactory"]
