"""Search and Discover: what is found, what is never shown, and in how many queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts_services
from accounts.models import User
from feed.models import Post
from ranking.live import live
from social import search
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_word_of_the_prompt_or_caption_finds_the_clip(aiko: User):
    koi = PostFactory(owner=aiko, prompt="a neon koi fish in the rain", caption="rainy #koi")
    PostFactory(owner=aiko, prompt="a paper boat on a pond", caption="calm")
    assert search.search_clips(viewer=None, query="koi") == [koi]
    assert search.search_clips(viewer=None, query="NEON rain") == [koi]
    assert search.search_clips(viewer=None, query="#koi") == [koi]
    assert search.search_clips(viewer=None, query="koi boat") == []  # every word must match
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = 'post_search_simple'")
            assert cursor.fetchone(), "the full-text index exists"


def test_search_never_shows_what_the_viewer_may_not_see(aiko: User):
    bob, eve = UserFactory(username="bob"), UserFactory(username="eve")
    secret = PostFactory(owner=aiko, prompt="a secret garden", visibility="followers")
    taken = PostFactory(owner=aiko, prompt="a garden taken down")
    Post.objects.filter(pk=taken.pk).update(standing=Post.Standing.REMOVED)
    accounts_services.follow_create(follower=bob, followee=aiko)
    accounts_services.block_create(blocker=aiko, blocked=eve)
    assert search.search_clips(viewer=None, query="garden") == []
    assert search.search_clips(viewer=bob, query="garden") == [secret]
    assert search.search_clips(viewer=eve, query="garden") == []
    assert search.search_people(viewer=eve, query="aik") == []
    assert search.search_people(viewer=bob, query="aik") == [aiko]


def test_people_by_handle_then_by_name_and_tags_by_prefix(aiko: User):
    UserFactory(username="tanaka_fan")
    PostFactory(owner=aiko, caption="#koi and #koifish")
    PostFactory(owner=aiko, caption="more #koi")
    found = search.search(viewer=None, query="tanaka")
    assert [p.username for p in found.people] == ["tanaka_fan", "aiko"]
    assert search.search(viewer=None, query="#KOI").tags == [("koi", 2), ("koifish", 1)]
    assert search.search(viewer=None, query="   ").empty


def test_the_search_page_costs_the_same_queries_for_many_results(client: Client, aiko: User):
    client.force_login(UserFactory(username="viewer"))
    PostFactory(owner=aiko, prompt="a koi", caption="#koi")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/search/?q=koi").status_code == 200
    for n in range(6):
        PostFactory(owner=UserFactory(username=f"koi_maker{n}"), prompt=f"koi {n}", caption="#koi")
    with CaptureQueriesContext(connection) as many:
        page = client.get("/search/?q=koi")
    html = page.content.decode()
    assert html.count('class="grid-item"') == 7 and html.count('class="person"') == 6
    assert len(many) == len(few), [q["sql"] for q in many]


def test_the_search_api_says_what_was_wrong(aiko: User):
    api = token_client(aiko)
    assert api.get("/api/v1/search/").json() == {"q": ["Say what to look for (q)."]}
    too_long = api.get("/api/v1/search/", {"q": "x" * 101})
    assert too_long.status_code == 400
    koi = PostFactory(owner=UserFactory(username="bob"), prompt="koi in the rain")
    found = api.get("/api/v1/search/", {"q": "rain"}).json()
    assert [clip["id"] for clip in found["clips"]] == [koi.pk] and found["query"] == "rain"


def test_discover_shows_this_weeks_tags_and_lively_clips(client: Client, aiko: User):
    clips = [PostFactory(owner=aiko, caption=f"#sea #day{n}") for n in range(3)]
    page = client.get("/discover/")
    assert page.status_code == 200
    assert page.context["discover"].tags[0] == ("sea", 3)
    assert {p.pk for p in page.context["discover"].clips} == {c.pk for c in clips}
    body: dict[str, Any] = client.get("/api/v1/discover/").json()
    assert body["tags"][0] == {"tag": "sea", "clips": 3}


def test_clips_like_this_are_the_nearest_prompts(client: Client, aiko: User):
    ball = PostFactory(owner=aiko, prompt="a red ball bouncing on a beach")
    near = PostFactory(owner=aiko, prompt="a red ball rolling across the sand")
    far = PostFactory(owner=aiko, prompt="a spreadsheet of quarterly tax figures")
    live.items_tell([str(ball.pk), str(near.pk), str(far.pk)])
    live.sync_now()
    found = search.clips_like(viewer=None, post=ball)
    assert found[0] == near and ball not in found
    page = client.get(f"/p/{ball.pk}/like-this/")
    assert page.status_code == 200 and page.context["clips"][0] == near
    assert client.get("/p/999999/like-this/").status_code == 404
    api = client.get(f"/api/v1/posts/{ball.pk}/like-this/").json()
    assert api["clips"][0]["id"] == near.pk
