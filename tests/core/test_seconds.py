"""Times read as unix seconds: the same instants as the datetimes, to the microsecond."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.seconds import as_seconds, read_with_seconds, stream_with_seconds, values_with_seconds
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


def test_the_fast_reads_give_what_values_list_gives():
    """`read_with_seconds` and `stream_with_seconds` take PostgreSQL's rows as psycopg reads
    them: the same rows, times and order as Django's values_list, a limit kept, and nothing
    (rather than an error) for a query that can match nothing."""
    start = timezone.now().replace(microsecond=654321)
    posts = [PostFactory(created=start - timedelta(hours=n, microseconds=n)) for n in range(5)]
    query = Post.objects.order_by("-created")
    fields = ("pk", "owner_id", "remix_of_id", "duration_s")
    expected = [(*row[:-1], as_seconds(row[-1])) for row in values_with_seconds(query, *fields)]
    assert [row[0] for row in expected] == [p.pk for p in posts]

    def plain(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
        return [(*row[:-1], as_seconds(row[-1])) for row in rows]

    assert plain(read_with_seconds(query, *fields)) == expected
    assert plain(read_with_seconds(query, *fields, limit=2)) == expected[:2]
    assert plain(list(stream_with_seconds(query, *fields, chunk_size=2))) == expected
    nothing = Post.objects.filter(pk__any_of=[])
    assert read_with_seconds(nothing, "pk") == []
    assert list(stream_with_seconds(nothing, "pk", chunk_size=2)) == []
