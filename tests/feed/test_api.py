"""The feed API: feed pages, posts, likes and comments, and who may do what."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import follow_create
from feed import services
from feed.models import Comment, Like, Post
from tests.clients import session_client, token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


POST_FIELDS = {
    "id",
    "url",
    "owner",
    "video_url",
    "poster_url",
    "caption",
    "prompt",
    "model_name",
    "visibility",
    "remix_of",
    "allow_remix",
    "allow_download",
    "duration_s",
    "width",
    "height",
    "like_count",
    "comment_count",
    "liked",
    "created",
}


def feed_url(feed: str, **params: str | int) -> str:
    url = reverse("api:feed", kwargs={"feed": feed})
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def post_url(post: Post | int, name: str = "api:post-detail") -> str:
    return reverse(name, kwargs={"pk": post if isinstance(post, int) else post.pk})


@pytest.fixture
def posts_by_visibility(other_user: User) -> dict[str, Post]:
    """One post of each visibility by bob."""
    return {vis: PostFactory(owner=other_user, visibility=vis) for vis in Post.Visibility.values}


# --- Feeds.


def test_for_you_shows_public_posts_with_the_full_representation(api_client, other_user):
    post = PostFactory(owner=other_user, caption="a boat")
    PostFactory(owner=other_user, visibility="followers")
    PostFactory(owner=other_user, visibility="private")

    response = api_client.get(feed_url("for-you"))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "next_cursor"}
    assert [p["id"] for p in body["results"]] == [post.pk]
    item = body["results"][0]
    assert set(item) == POST_FIELDS
    assert item["url"] == f"http://testserver/p/{post.pk}/"
    assert item["video_url"].startswith("http://testserver/media/posts/")
    assert item["video_url"].endswith(".mp4")
    assert item["poster_url"].endswith(".jpg")
    assert item["owner"] == {"handle": "bob", "display_name": "", "avatar_url": None}
    assert item["caption"] == "a boat"
    assert item["liked"] is False
    assert item["remix_of"] is None
    assert (item["width"], item["height"]) == (90, 160)
    assert body["next"] is None
    assert body["next_cursor"] is None


def test_feed_pages_follow_next_links_without_repeats(api_client, other_user):
    now = timezone.now()
    made = [PostFactory(owner=other_user, created=now - timedelta(minutes=n)) for n in range(5)]

    seen: list[int] = []
    url: str | None = feed_url("for-you", limit=2)
    pages = 0
    while url:
        response = api_client.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
        pages += 1
        if url:
            assert url.startswith("http://testserver/api/v1/feed/for-you/")
            query = parse_qs(urlparse(url).query)
            assert query["cursor"] == [body["next_cursor"]]
            assert query["limit"] == ["2"]
    assert pages == 3
    # For You is ranked, not newest first: every post once, none twice.
    assert sorted(seen) == sorted(p.pk for p in made) and len(seen) == len(set(seen))


def test_feed_default_page_size_comes_from_settings(api_client, other_user, settings):
    settings.FEED_PAGE_SIZE = 2
    for _ in range(3):
        PostFactory(owner=other_user)
    body = api_client.get(feed_url("for-you")).json()
    assert len(body["results"]) == 2
    assert body["next_cursor"]


def test_unknown_feed_is_404(api_client):
    response = api_client.get(feed_url("trending"))
    assert response.status_code == 404
    assert "for-you" in response.json()["detail"]


def test_following_feed_needs_a_signed_in_viewer(api_client):
    response = api_client.get(feed_url("following"))
    assert response.status_code == 401
    assert response.json()["detail"] == "Sign in to see posts from people you follow."


def test_following_feed_shows_followed_peoples_posts(user, other_user):
    stranger = UserFactory(username="stranger")
    followers_only = PostFactory(owner=other_user, visibility="followers")
    PostFactory(owner=other_user, visibility="private")
    PostFactory(owner=stranger)
    client = token_client(user)

    assert client.get(feed_url("following")).json()["results"] == []
    follow_create(follower=user, followee=other_user)
    results = client.get(feed_url("following")).json()["results"]
    assert [p["id"] for p in results] == [followers_only.pk]
    # Followers-only posts stay out of For You, even for followers.
    for_you = client.get(feed_url("for-you")).json()["results"]
    assert followers_only.pk not in [p["id"] for p in for_you]


@pytest.mark.parametrize("limit", ["0", "51", "ten", "-1", "2.5"])
def test_bad_limit_is_400(api_client, limit):
    response = api_client.get(feed_url("for-you", limit=limit))
    assert response.status_code == 400
    assert response.json() == {"limit": ["limit must be a whole number from 1 to 50."]}


def test_bad_cursor_is_400(api_client):
    response = api_client.get(feed_url("for-you", cursor="bm9wZQ"))
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_feed_page_costs_the_same_queries_whatever_its_length(user):
    """Token lookup, the page (blocks as its subqueries), the viewer's likes, the viewer's
    follows, and the note of which clips were shown (what the viewer's engagement events may
    be about): 5 queries."""
    client = token_client(user)

    def make(count: int) -> None:
        for n in range(count):
            owner = UserFactory(username=f"maker{Post.objects.count()}_{n}")
            post = PostFactory(owner=owner, visibility="followers" if n % 2 else "public")
            follow_create(follower=user, followee=owner)
            if n % 3 == 0:
                services.like_create(user=user, post=post)

    def count_queries() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(feed_url("following", limit=20))
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["results"])

    make(2)
    small_queries, small_len = count_queries()
    make(18)
    big_queries, big_len = count_queries()

    assert (small_len, big_len) == (2, 20)
    assert small_queries == big_queries == 5
    results = client.get(feed_url("following", limit=20)).json()["results"]
    assert sum(p["liked"] for p in results) == Like.objects.filter(user=user).count() == 7


# --- Posts.


def test_post_list_respects_visibility(user, other_user, posts_by_visibility):
    def listed(client: APIClient) -> set[int]:
        response = client.get(reverse("api:post-list"))
        assert response.status_code == 200
        return {p["id"] for p in response.json()["results"]}

    public, followers, private = (posts_by_visibility[v].pk for v in Post.Visibility.values)
    assert listed(APIClient()) == {public}
    assert listed(token_client(user)) == {public}
    follow_create(follower=user, followee=other_user)
    assert listed(token_client(user)) == {public, followers}
    assert listed(token_client(other_user)) == {public, followers, private}


def test_post_list_paginates(api_client, other_user):
    for _ in range(3):
        PostFactory(owner=other_user)
    first = api_client.get(reverse("api:post-list") + "?limit=2").json()
    assert len(first["results"]) == 2
    second = api_client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None


def test_post_list_has_no_create(auth_client):
    response = auth_client.post(reverse("api:post-list"), {"caption": "x"}, format="json")
    assert response.status_code == 405


def test_post_detail_hides_invisible_posts(user, other_user, posts_by_visibility):
    client = token_client(user)
    missing = client.get(post_url(999_999))
    assert missing.status_code == 404
    for vis in ("followers", "private"):
        response = client.get(post_url(posts_by_visibility[vis]))
        assert response.status_code == 404
        # Same answer as for a post that doesn't exist: existence never leaks.
        assert response.json() == missing.json()
    follow_create(follower=user, followee=other_user)
    assert client.get(post_url(posts_by_visibility["followers"])).status_code == 200
    assert client.get(post_url(posts_by_visibility["private"])).status_code == 404
    assert token_client(other_user).get(post_url(posts_by_visibility["private"])).status_code == 200
    assert APIClient().get(post_url(posts_by_visibility["public"])).status_code == 200


def test_owner_edits_a_post(user):
    post = PostFactory(owner=user, caption="old")
    response = token_client(user).patch(
        post_url(post),
        {"caption": " new ", "visibility": "private", "allow_download": True},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["caption"], body["visibility"], body["allow_download"]) == ("new", "private", True)
    post.refresh_from_db()
    assert (post.caption, post.visibility, post.allow_download) == ("new", "private", True)
    assert post.allow_remix is True  # untouched


def test_only_the_owner_edits_a_post(user, other_user):
    post = PostFactory(owner=other_user, caption="mine")
    response = token_client(user).patch(post_url(post), {"caption": "yours"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the owner can edit this post."
    anonymous = APIClient().patch(post_url(post), {"caption": "yours"}, format="json")
    assert anonymous.status_code == 401
    post.refresh_from_db()
    assert post.caption == "mine"


def test_a_stranger_editing_a_private_post_gets_404(user, other_user):
    post = PostFactory(owner=other_user, visibility="private")
    response = token_client(user).patch(post_url(post), {"caption": "x"}, format="json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"visibility": "everyone"}, "visibility", '"everyone" is not a valid choice.'),
        ({"caption": "x" * 501}, "caption", "A caption can be at most 500 characters."),
        ({"allow_remix": "maybe"}, "allow_remix", "Must be a valid boolean."),
    ],
)
def test_bad_post_edit_is_400(user, payload, field, message):
    post = PostFactory(owner=user)
    response = token_client(user).patch(post_url(post), payload, format="json")
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_owner_deletes_a_post(user, other_user):
    post = PostFactory(owner=user)
    assert APIClient().delete(post_url(post)).status_code == 401
    other = token_client(other_user).delete(post_url(post))
    assert other.status_code == 403
    assert other.json()["detail"] == "Only the owner can delete this post."
    assert token_client(user).delete(post_url(post)).status_code == 204
    assert not Post.objects.filter(pk=post.pk).exists()
    assert token_client(user).delete(post_url(post)).status_code == 404


# --- Likes.


def test_like_and_unlike(user, other_user):
    post = PostFactory(owner=other_user)
    client = token_client(user)
    url = post_url(post, "api:post-like")

    first = client.post(url)
    assert (first.status_code, first.json()) == (201, {"liked": True, "like_count": 1})
    again = client.post(url)
    assert (again.status_code, again.json()) == (200, {"liked": True, "like_count": 1})
    assert client.get(post_url(post)).json()["liked"] is True
    assert APIClient().get(post_url(post)).json()["liked"] is False

    gone = client.delete(url)
    assert (gone.status_code, gone.json()) == (200, {"liked": False, "like_count": 0})
    assert client.delete(url).json() == {"liked": False, "like_count": 0}


def test_like_needs_auth_and_a_visible_post(user, other_user):
    public = PostFactory(owner=other_user)
    private = PostFactory(owner=other_user, visibility="private")
    assert APIClient().post(post_url(public, "api:post-like")).status_code == 401
    assert token_client(user).post(post_url(private, "api:post-like")).status_code == 404
    assert token_client(user).post(post_url(999_999, "api:post-like")).status_code == 404
    assert not Like.objects.exists()


def test_session_writes_need_the_csrf_token(user, other_user):
    post = PostFactory(owner=other_user)
    url = post_url(post, "api:post-like")

    refused = session_client(user, csrf=False).post(url)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert not Like.objects.exists()

    assert session_client(user, csrf=True).post(url).status_code == 201
    assert Like.objects.filter(user=user, post=post).exists()


# --- Comments.


def test_comments_list_oldest_first_and_paginate(api_client, user, other_user):
    post = PostFactory(owner=other_user)
    made = [services.comment_create(author=user, post=post, body=f"c{n}") for n in range(3)]
    url = post_url(post, "api:post-comments")

    first = api_client.get(url + "?limit=2").json()
    assert [c["body"] for c in first["results"]] == ["c0", "c1"]
    assert first["results"][0]["author"]["handle"] == "alice"
    assert set(first["results"][0]) == {
        "id",
        "post",
        "parent",
        "author",
        "body",
        "like_count",
        "reply_count",
        "liked",
        "created",
    }
    second = api_client.get(first["next"]).json()
    assert [c["id"] for c in second["results"]] == [made[2].pk]
    assert second["next"] is None


def test_comment_on_a_post(user, other_user):
    post = PostFactory(owner=other_user)
    response = token_client(user).post(
        post_url(post, "api:post-comments"), {"body": "  lovely  "}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["body"] == "lovely"
    assert response.json()["author"]["handle"] == "alice"
    post.refresh_from_db()
    assert post.comment_count == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "Write something to comment."),
        ({"body": ""}, "A comment can't be empty."),
        ({"body": "   "}, "A comment can't be empty."),
        ({"body": None}, "A comment can't be empty."),
        ({"body": "x" * 501}, "A comment can be at most 500 characters."),
    ],
)
def test_bad_comment_is_400(user, other_user, payload, message):
    post = PostFactory(owner=other_user)
    response = token_client(user).post(post_url(post, "api:post-comments"), payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"body": [message]}
    assert not Comment.objects.exists()


def test_comments_need_auth_to_write_and_a_visible_post(user, other_user):
    public = PostFactory(owner=other_user)
    private = PostFactory(owner=other_user, visibility="private")
    services.comment_create(author=other_user, post=private, body="secret")
    anonymous = APIClient().post(post_url(public, "api:post-comments"), {"body": "hi"})
    assert anonymous.status_code == 401
    client = token_client(user)
    assert client.get(post_url(private, "api:post-comments")).status_code == 404
    assert client.post(post_url(private, "api:post-comments"), {"body": "hi"}).status_code == 404
    assert Comment.objects.count() == 1


def test_comment_delete_rules(user, other_user):
    post = PostFactory(owner=other_user)
    stranger = UserFactory(username="mallory")
    by_alice = services.comment_create(author=user, post=post, body="one")
    also_by_alice = services.comment_create(author=user, post=post, body="two")

    def url(comment: Comment | int) -> str:
        pk = comment if isinstance(comment, int) else comment.pk
        return reverse("api:comment-detail", kwargs={"pk": pk})

    assert APIClient().delete(url(by_alice)).status_code == 401
    refused = token_client(stranger).delete(url(by_alice))
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "Only the comment's author or the post's owner can delete it."
    )
    assert token_client(user).delete(url(by_alice)).status_code == 204  # the author
    assert token_client(other_user).delete(url(also_by_alice)).status_code == 204  # post owner
    assert not Comment.objects.exists()
    assert token_client(user).delete(url(by_alice)).status_code == 404
    post.refresh_from_db()
    assert post.comment_count == 0


def test_comment_under_an_invisible_post_is_404(user, other_user):
    post = PostFactory(owner=other_user, visibility="private")
    comment = services.comment_create(author=other_user, post=post, body="mine")
    url = reverse("api:comment-detail", kwargs={"pk": comment.pk})
    assert token_client(user).delete(url).status_code == 404
    assert Comment.objects.filter(pk=comment.pk).exists()
