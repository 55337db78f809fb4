"""Notification tests run each event's fan-out as the worker would, once the sender's
transaction commits: Celery runs the task in this process (eager), on the same database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest

from accounts.models import User
from config.celery import app
from tests.factories import UserFactory


@pytest.fixture
def commits(
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> Iterator[Callable[[], AbstractContextManager[Any]]]:
    """`with commits(): ...`: what was sent inside runs its on-commit work, tasks included."""
    app.conf.task_always_eager = True
    try:
        yield lambda: django_capture_on_commit_callbacks(execute=True)
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def aiko(db: None) -> User:
    """A person with a display name ("Aiko Tanaka") as well as a handle (aiko)."""
    person = UserFactory(username="aiko")
    person.profile.display_name = "Aiko Tanaka"
    person.profile.save()
    return person
