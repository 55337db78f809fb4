"""A clip's remix chain: its ancestors and the tree of its remixes, as the viewer may see them."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from feed.models import Post
from feed.selectors import Lineage, RemixNode, post_lineage
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def chain(owner: User, length: int) -> list[Post]:
    """`length` posts, each a remix of the one before."""
    posts = [PostFactory(owner=owner, caption="link 0")]
    for n in range(1, length):
        posts.append(PostFactory(owner=owner, caption=f"link {n}", remix_of=posts[-1]))
    return posts


def shape(nodes: list[RemixNode]) -> list[tuple[str, list]]:
    """The remix tree as (caption, children) pairs."""
    return [(node.post.caption, shape(node.children)) for node in nodes]


def test_ancestors_come_oldest_first_and_remixes_as_a_tree(user: User, other_user: User) -> None:
    a, b, c, d = chain(other_user, 4)
    sibling = PostFactory(owner=user, caption="other branch", remix_of=a)
    e = PostFactory(owner=user, caption="second remix of c", remix_of=c)
    PostFactory(owner=user, caption="remix of e", remix_of=e)

    lineage = post_lineage(viewer=user, post=c)

    assert lineage.ancestors == [a, b]
    assert lineage.hidden_ancestors == 0
    assert shape(lineage.remixes) == [
        ("link 3", []),
        ("second remix of c", [("remix of e", [])]),
    ]
    assert lineage.remix_count == 3
    assert sibling.pk not in {p.pk for p in lineage.ancestors}
    original = post_lineage(viewer=user, post=a)
    assert original.ancestors == [] and original.remix_count == 6
    assert [n.post for n in original.remixes] == [b, sibling]
    assert post_lineage(viewer=None, post=d).remixes == []


def test_links_the_viewer_may_not_see_are_counted_never_shown(user: User, other_user: User) -> None:
    a, b, c = chain(other_user, 3)
    Post.objects.filter(pk=b.pk).update(visibility=Post.Visibility.PRIVATE)
    hidden_remix = PostFactory(owner=other_user, visibility="private", remix_of=c)
    PostFactory(owner=user, caption="remix of a private remix", remix_of=hidden_remix)

    seen_by_stranger = post_lineage(viewer=user, post=c)
    seen_by_owner = post_lineage(viewer=other_user, post=c)

    assert seen_by_stranger.ancestors == [a] and seen_by_stranger.hidden_ancestors == 1
    # The visible remix of the hidden one hangs under the nearest clip this viewer can see.
    assert shape(seen_by_stranger.remixes) == [("remix of a private remix", [])]
    assert seen_by_owner.hidden_ancestors == 0 and len(seen_by_owner.ancestors) == 2
    assert shape(seen_by_owner.remixes) == [
        (hidden_remix.caption, [("remix of a private remix", [])])
    ]


@pytest.mark.parametrize("length", [2, 12])
def test_three_queries_however_long_the_chain(user: User, length: int) -> None:
    posts = chain(user, length)
    middle = posts[length // 2]
    for n in range(length):
        PostFactory(owner=user, caption=f"fan {n}", remix_of=posts[-1])

    with CaptureQueriesContext(connection) as queries:
        lineage: Lineage = post_lineage(viewer=user, post=middle)
        # What the page reads from each post must already be loaded.
        for post in [*lineage.ancestors, *(n.post for n in lineage.remixes)]:
            assert post.owner.username

    assert len(queries) == 3
    assert len(lineage.ancestors) == length // 2
    assert lineage.remix_count == (length - length // 2 - 1) + length


def test_lineage_page(client: Client, user: User, other_user: User) -> None:
    a, b = chain(other_user, 2)
    remix = PostFactory(owner=user, caption="my take", remix_of=b)

    html = client.get(reverse("feed:post_lineage", kwargs={"pk": b.pk})).content.decode()

    assert "Remix chain" in html
    html = html[html.index("Comes from") :]
    origin, current, below = html.index("link 0"), html.index("link 1"), html.index("my take")
    assert origin < current < below
    assert re.search(r'<li class="is-current" aria-current="page">\s*<a class="lineage-item"', html)
    assert f'href="{a.get_absolute_url()}"' in html and "Original" in html
    assert f'href="{remix.get_absolute_url()}"' in html
    assert "An original" not in html


def test_an_original_with_no_remixes(client: Client, other_user: User) -> None:
    post = PostFactory(owner=other_user)

    html = client.get(reverse("feed:post_lineage", kwargs={"pk": post.pk})).content.decode()

    assert "An original: it isn't a remix of another clip." in html
    assert "No remixes yet." in html
    assert "Remix it" not in html  # only signed-in people can remix


def test_lineage_of_a_post_you_cannot_see_is_not_found(client: Client, other_user: User) -> None:
    post = PostFactory(owner=other_user, visibility="private")

    response = client.get(reverse("feed:post_lineage", kwargs={"pk": post.pk}))

    assert response.status_code == 404


def test_post_page_links_to_the_chain(client: Client, user: User, other_user: User) -> None:
    source = PostFactory(owner=other_user)
    lonely = PostFactory(owner=other_user)
    PostFactory(owner=user, remix_of=source)
    PostFactory(owner=UserFactory(username="third"), remix_of=source)
    lineage_url = reverse("feed:post_lineage", kwargs={"pk": source.pk})

    html = client.get(source.get_absolute_url()).content.decode()
    lonely_html = client.get(lonely.get_absolute_url()).content.decode()

    assert f'href="{lineage_url}">2 remixes · Remix chain</a>' in html
    assert "Remix chain" not in lonely_html
