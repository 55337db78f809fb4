"""#tags and @mentions in captions and comments: parsed, kept, linked, and a tag's page."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services as accounts_services
from accounts.mentions import mentioned_handles
from feed import services
from feed.models import Post, PostTag
from feed.tags import tags_in
from feed.templatetags.riff_text import linked
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("koi #Rain #night", ["rain", "night"]),
        ("#rain again #RAIN", ["rain"]),
        ("C# and &#39; and mail#x tag nothing", []),
        ("#café_au_lait, #東京!", ["café_au_lait", "東京"]),
        ("##double #" + "x" * 51, []),
    ],
)
def test_which_words_are_tags(text: str, tags: list[str]) -> None:
    assert tags_in(text) == tags


@pytest.mark.parametrize(
    ("text", "handles"),
    [
        ("hi @Aiko and @bob_2!", ["aiko", "bob_2"]),
        ("mail me at me@example.com, @@no", []),
        ("@ab is too short, @aiko @aiko", ["aiko"]),
    ],
)
def test_which_words_are_mentions(text: str, handles: list[str]) -> None:
    assert mentioned_handles(text) == handles


def test_linked_text_escapes_everything_and_links_mentions_and_tags() -> None:
    html = linked('<b>hi</b> @Aiko, see #Koi\nbye "#x"', "br")
    assert html == (
        '&lt;b&gt;hi&lt;/b&gt; <a class="mention" href="/@aiko/">@Aiko</a>, see '
        '<a class="tag" href="/tags/koi/">#Koi</a><br>bye &quot;'
        '<a class="tag" href="/tags/x/">#x</a>&quot;'
    )


@pytest.mark.django_db
def test_a_posts_tags_follow_its_caption() -> None:
    owner = UserFactory(username="aiko")
    post = PostFactory(owner=owner, caption="#koi in the #rain")
    assert set(PostTag.objects.filter(post=post).values_list("tag", flat=True)) == {"koi", "rain"}
    services.post_update(post=post, actor=owner, caption="just #Rain and #night")
    assert set(PostTag.objects.filter(post=post).values_list("tag", flat=True)) == {
        "rain",
        "night",
    }


@pytest.mark.django_db
def test_a_tag_page_shows_what_the_viewer_may_see(client: Client) -> None:
    aiko, bob = UserFactory(username="aiko"), UserFactory(username="bob")
    shown = PostFactory(owner=aiko, caption="a koi #Rain")
    hidden = PostFactory(owner=aiko, caption="#rain for friends", visibility="followers")
    PostFactory(owner=aiko, caption="no tags here, rain")
    page = client.get("/tags/rain/")
    assert page.status_code == 200
    assert list(page.context["page"].object_list) == [shown]
    assert (
        b'<a class="tag" href="/tags/rain/">#Rain</a>'
        in client.get(shown.get_absolute_url()).content
    )
    accounts_services.follow_create(follower=bob, followee=aiko)
    client.force_login(bob)
    assert list(client.get("/tags/rain/").context["page"].object_list) == [hidden, shown]
    assert client.get("/tags/Rain/").url == "/tags/rain/"
    assert client.get("/tags/no-such!/").status_code == 404
    api = token_client(bob).get("/api/v1/tags/RAIN/posts/").json()
    assert [card["id"] for card in api["results"]] == [hidden.pk, shown.pk]
    assert token_client(bob).get("/api/v1/tags/bad-tag/posts/").status_code == 404


@pytest.mark.django_db
def test_a_comment_links_its_mentions(client: Client) -> None:
    aiko = UserFactory(username="aiko")
    post = PostFactory(owner=aiko, caption="hello")
    services.comment_create(author=UserFactory(username="bob"), post=post, body="@aiko nice")
    page = client.get(post.get_absolute_url()).content.decode()
    assert '<a class="mention" href="/@aiko/">@aiko</a> nice' in page
    assert Post.objects.count() == 1
