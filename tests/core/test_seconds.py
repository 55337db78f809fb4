"""Times read as unix seconds: the same instants as the datetimes, to the microsecond."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.seconds import as_seconds, values_with_seconds
from feed.models import Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_seconds_are_the_datetimes_instants():
    start = timezone.now().replace(microsecond=123456)
    posts = [PostFactory(created=start - timedelta(days=n, seconds=n)) for n in range(3)]
    with CaptureQueriesContext(connection) as queries:
        rows = list(values_with_seconds(Post.objects.order_by("pk"), "pk"))
    assert [pk for pk, _ in rows] == [p.pk for p in posts]
    for (_, when), post in zip(rows, posts, strict=True):
        assert abs(as_seconds(when) - post.created.timestamp()) < 1e-6
    if connection.vendor == "postgresql":
        assert isinstance(rows[0][1], float) and "EXTRACT" in queries[0]["sql"].upper()
