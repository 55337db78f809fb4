"""Replies (one level) and likes on comments: services, the post page, the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from feed import services
from feed.models import Comment, CommentLike, Post
from tests.clients import token_client
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def clip(other_user: User) -> Post:
    return PostFactory(owner=other_user, caption="koi")


def test_a_reply_to_a_reply_joins_its_thread_and_everything_is_counted(user, other_user, clip):
    top = services.comment_create(author=user, post=clip, body="first")
    reply = services.comment_create(author=other_user, post=clip, body="thanks", parent=top)
    again = services.comment_create(author=user, post=clip, body="sure", parent=reply)
    assert reply.parent == top and again.parent == top
    top.refresh_from_db()
    clip.refresh_from_db()
    assert top.reply_count == 2 and clip.comment_count == 3
    services.comment_delete(comment=again, actor=user)
    top.refresh_from_db()
    assert top.reply_count == 1
    services.comment_delete(comment=top, actor=user)  # its replies go with it
    clip.refresh_from_db()
    assert clip.comment_count == 0 and not Comment.objects.exists()


def test_a_reply_must_be_under_a_shown_comment_of_the_same_clip(user, other_user, clip):
    elsewhere = services.comment_create(author=user, post=PostFactory(owner=user), body="x")
    with pytest.raises(ValidationError, match="That comment is gone"):
        services.comment_create(author=user, post=clip, body="hi", parent=elsewhere)
    removed = services.comment_create(author=user, post=clip, body="gone soon")
    services.comment_shown_set(comment_id=removed.pk, shown=False)
    removed.refresh_from_db()
    with pytest.raises(ValidationError, match="That comment is gone"):
        services.comment_create(author=user, post=clip, body="hi", parent=removed)


def test_a_comment_is_liked_once_and_unliked(user, clip):
    comment = services.comment_create(author=user, post=clip, body="nice")
    fan = UserFactory(username="fan")
    assert services.comment_like_create(user=fan, comment=comment)
    assert not services.comment_like_create(user=fan, comment=comment)
    comment.refresh_from_db()
    assert comment.like_count == 1
    assert services.comment_like_delete(user=fan, comment=comment)
    assert not services.comment_like_delete(user=fan, comment=comment)
    comment.refresh_from_db()
    assert comment.like_count == 0 and not CommentLike.objects.exists()


def test_the_post_page_nests_replies_and_marks_likes_in_constant_queries(
    client: Client, user, other_user, clip
):
    client.force_login(user)
    top = services.comment_create(author=user, post=clip, body="first")
    services.comment_create(author=other_user, post=clip, body="a reply", parent=top)
    with CaptureQueriesContext(connection) as few:
        client.get(clip.get_absolute_url())
    for n in range(4):
        more = services.comment_create(author=other_user, post=clip, body=f"top {n}")
        reply = services.comment_create(author=user, post=clip, body=f"re {n}", parent=more)
        services.comment_like_create(user=user, comment=reply)
    with CaptureQueriesContext(connection) as many:
        page = client.get(clip.get_absolute_url())
    assert len(many) == len(few), [q["sql"] for q in many]
    html = page.content.decode()
    replies = html.split(f'id="replies-{top.pk}"')[1].split("</ol>")[0]
    assert "a reply" in replies and "top 0" not in replies
    assert html.count('class="comment-action" aria-pressed="true"') == 4


def test_the_page_takes_a_reply_and_a_comment_like(client: Client, user, other_user, clip):
    top = services.comment_create(author=other_user, post=clip, body="first")
    client.force_login(user)
    url, htmx = f"/p/{clip.pk}/comments/", {"HX-Request": "true"}
    answer = client.post(url, {"body": "@bob hello", "parent": top.pk}, headers=htmx)
    assert answer.status_code == 200 and "comment-reply" in answer.content.decode()
    assert Comment.objects.get(body="@bob hello").parent == top
    gone = client.post(url, {"body": "hi", "parent": 999999}, headers=htmx)
    assert gone.status_code == 400 and b"That comment is gone" in gone.content
    assert gone.headers["HX-Retarget"] == "#reply-errors-999999"
    liked = client.post(f"/c/{top.pk}/like/", headers=htmx)
    assert liked.status_code == 200 and b'aria-pressed="true"' in liked.content
    unliked = client.post(f"/c/{top.pk}/like/", headers=htmx)
    assert b'aria-pressed="false"' in unliked.content
    assert client.post(f"/c/{top.pk}/like/", {"action": "love"}).status_code == 400


def test_the_api_replies_lists_threads_and_likes(user, other_user, clip):
    api = token_client(user)
    top = api.post(f"/api/v1/posts/{clip.pk}/comments/", {"body": "first"}, format="json").json()
    reply = api.post(
        f"/api/v1/posts/{clip.pk}/comments/",
        {"body": "and more", "parent": top["id"]},
        format="json",
    )
    assert reply.status_code == 201 and reply.json()["parent"] == top["id"]
    bad = api.post(
        f"/api/v1/posts/{clip.pk}/comments/", {"body": "x", "parent": 123456}, format="json"
    )
    assert bad.status_code == 404 and "reply to is gone" in bad.json()["detail"]
    assert api.post(f"/api/v1/comments/{top['id']}/like/").json() == {
        "liked": True,
        "like_count": 1,
    }
    assert api.post(f"/api/v1/comments/{top['id']}/like/").status_code == 200
    listed = api.get(f"/api/v1/posts/{clip.pk}/comments/").json()["results"]
    assert [(c["body"], c["parent"], c["liked"], c["reply_count"]) for c in listed] == [
        ("first", None, True, 1),
        ("and more", top["id"], False, 0),
    ]
    assert api.delete(f"/api/v1/comments/{top['id']}/like/").json() == {
        "liked": False,
        "like_count": 0,
    }
    private = PostFactory(owner=other_user, visibility="private")
    hidden = services.comment_create(author=other_user, post=private, body="secret")
    assert api.post(f"/api/v1/comments/{hidden.pk}/like/").status_code == 404


@pytest.mark.parametrize("body", ["bell\x07", "\x1b[31mred", "bits\x00\x01"])
def test_binary_comments_get_a_readable_400_on_the_page_and_the_api(
    client: Client, user, clip, body
):
    client.force_login(user)
    page = client.post(f"/p/{clip.pk}/comments/", {"body": body}, headers={"HX-Request": "true"})
    assert page.status_code == 400
    api = token_client(user).post(
        f"/api/v1/posts/{clip.pk}/comments/", {"body": body}, format="json"
    )
    assert api.status_code == 400 and "body" in api.json()
    assert not Comment.objects.exists()
