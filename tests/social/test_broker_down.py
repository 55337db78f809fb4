"""With the queue unreachable, what people do still lands: a notification is best effort.

The broker here is really unreachable: the Celery app is pointed at a folder queue whose
folder does not exist, which kombu fails on at the first send (what a web process met before
the embedded queue's folders were made for it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from config.celery import app
from feed.models import Like
from tests.factories import PostFactory, UserFactory


@pytest.fixture
def broker_down(tmp_path: Path) -> Iterator[None]:
    """The Celery app sends to a folder that is not there; restored afterwards."""
    saved = app.conf.broker_url, app.conf.broker_transport_options
    missing = str(tmp_path / "no-such-folder")
    app.conf.broker_url = "filesystem://"
    app.conf.broker_transport_options = {"data_folder_in": missing, "data_folder_out": missing}
    app.pool.force_close_all()
    app._pool = None  # connections are pooled: the next send opens one to the new broker
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = saved
        app.pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_a_like_lands_while_the_queue_is_down(broker_down: None, caplog: Any) -> None:
    owner, fan = UserFactory(username="owner"), UserFactory(username="fan")
    clip = PostFactory(owner=owner)
    client = APIClient()
    client.force_authenticate(fan)

    answer = client.post(f"/api/v1/posts/{clip.pk}/like/")

    assert answer.status_code in (200, 201), answer.content
    assert Like.objects.filter(user=fan, post=clip).exists()
    # The failed send is logged, naming what could not be sent, not swallowed silently.
    assert any("on_commit" in record.getMessage() for record in caplog.records)
