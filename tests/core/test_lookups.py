"""The any_of lookup: the rows IN gives, the list sent as one array on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import lookups  # noqa: F401
from feed.models import Post
from tests.factories import PostFactory

pytestmark = pytest.mark.django_db


def test_any_of_finds_what_in_finds_with_one_parameter():
    posts = PostFactory.create_batch(5)
    wanted = [posts[0].pk, posts[3].pk, posts[3].pk, None, 10**9]
    with CaptureQueriesContext(connection) as queries:
        found = set(Post.objects.filter(pk__any_of=wanted).values_list("pk", flat=True))
    assert found == set(Post.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    assert found == {posts[0].pk, posts[3].pk}
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries[0]["sql"] and " IN (" not in queries[0]["sql"]


def test_any_of_an_empty_list_finds_nothing_without_a_query():
    PostFactory()
    with CaptureQueriesContext(connection) as queries:
        assert list(Post.objects.filter(pk__any_of=[])) == []
        assert list(Post.objects.filter(pk__any_of=[None])) == []
    assert len(queries) == 0


def test_any_of_takes_a_subquery_as_in_does():
    posts = PostFactory.create_batch(3)
    inner = Post.objects.filter(pk__in=[posts[1].pk]).values("pk")
    assert list(Post.objects.filter(pk__any_of=inner)) == [posts[1]]


def test_any_of_on_a_foreign_key():
    posts = PostFactory.create_batch(3)
    owners = [posts[0].owner_id, posts[2].owner_id]
    found = Post.objects.filter(owner_id__any_of=owners).values_list("pk", flat=True)
    assert set(found) == {posts[0].pk, posts[2].pk}


def test_any_of_rows_finds_what_any_of_finds_as_a_joined_list():
    posts = PostFactory.create_batch(5)
    wanted = [posts[1].pk, posts[4].pk, posts[4].pk, None, 10**9]
    with CaptureQueriesContext(connection) as queries:
        found = set(Post.objects.filter(pk__any_of_rows=wanted).values_list("pk", flat=True))
        by_owner = Post.objects.filter(owner_id__any_of_rows=[posts[2].owner_id])
        assert list(by_owner.values_list("pk", flat=True)) == [posts[2].pk]
    assert found == {posts[1].pk, posts[4].pk}
    if connection.vendor == "postgresql":
        assert " IN (SELECT unnest(" in queries[0]["sql"] and "= ANY(" not in queries[0]["sql"]
    assert list(Post.objects.filter(pk__any_of_rows=[])) == []
