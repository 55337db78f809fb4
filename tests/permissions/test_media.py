"""Media follows the visibility rule: URLs stop working when a post is hidden, signed URLs
expire and bind their file and viewer, replaced files leave storage."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from core.media import media_url
from feed.models import Post
from tests.factories import PostFactory, UserFactory, tiny_clip

pytestmark = pytest.mark.django_db


def fetch(url: str, person: User | None = None) -> int:
    client = Client()
    if person is not None:
        client.force_login(person)
    return int(client.get(url).status_code)


def test_a_public_post_media_url_stops_working_when_it_is_made_private(user: User) -> None:
    post = PostFactory(owner=user)
    plain = media_url(post.video, viewer=None) or ""
    assert "?" not in plain, "a public file has a plain, cacheable URL"
    response = Client().get(plain)
    assert response.status_code == 200 and response["Cache-Control"].startswith("public")

    Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.PRIVATE)

    assert fetch(plain) == 404
    assert fetch(plain, UserFactory()) == 404
    post.refresh_from_db()
    own = media_url(post.video, viewer=user) or ""
    assert "s=" in own and fetch(own) == 200, "the owner's signed URL works, signed out too"


@pytest.mark.parametrize(
    "change",
    [
        {"standing": Post.Standing.REMOVED},
        {"standing": Post.Standing.HELD},
        {"visibility": Post.Visibility.FOLLOWERS},
    ],
)
def test_removed_held_or_narrowed_posts_stop_serving_their_old_url(user: User, change) -> None:
    post = PostFactory(owner=user)
    plain = media_url(post.poster, viewer=None) or ""
    assert fetch(plain) == 200
    Post.objects.filter(pk=post.pk).update(**change)
    assert fetch(plain) == 404


def test_a_suspended_owner_hides_their_files(user: User) -> None:
    post = PostFactory(owner=user)
    plain = media_url(post.video, viewer=None) or ""
    User.objects.filter(pk=user.pk).update(suspended_at=timezone.now())
    assert fetch(plain) == 404


def test_signed_urls_expire_and_bind_their_file_and_viewer(user: User, settings) -> None:
    settings.MEDIA_SIGNED_URL_S = 60
    post = PostFactory(owner=user, visibility=Post.Visibility.PRIVATE)
    other = PostFactory(owner=user, visibility=Post.Visibility.PRIVATE)
    url = media_url(post.video, viewer=user) or ""
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert fetch(url) == 200
    left = int(query["e"]) - time.time()
    assert 60 <= left <= 120, "valid for between one and two MEDIA_SIGNED_URL_S"

    other_path = urlsplit(media_url(other.video, viewer=None) or "").path
    assert fetch(f"{other_path}?{urlsplit(url).query}") == 404, "a signature is for one file"
    stranger = UserFactory()
    forged = url.replace(f"u={user.pk}", f"u={stranger.pk}")
    assert fetch(forged) == 404, "nor can its viewer be changed"
    tampered = url.replace(f"e={query['e']}", f"e={int(query['e']) + 3600}")
    assert fetch(tampered) == 404
    expired = url.replace(f"e={query['e']}", "e=1000")
    assert fetch(expired) == 404
    stranger_url = media_url(post.video, viewer=stranger) or ""
    assert fetch(stranger_url) == 404, "signed for someone who may not see the post"


def test_a_signed_url_stops_working_when_its_viewer_may_no_longer_see_the_post(
    user: User, other_user: User
) -> None:
    post = PostFactory(owner=user, visibility=Post.Visibility.FOLLOWERS)
    accounts_services.follow_create(follower=other_user, followee=user)
    url = media_url(post.video, viewer=other_user) or ""
    assert fetch(url) == 200
    accounts_services.block_create(blocker=user, blocked=other_user)
    assert fetch(url) == 404


def test_a_replaced_avatar_leaves_storage(user: User, django_capture_on_commit_callbacks) -> None:
    picture = tiny_clip()[1]
    first = accounts_services.profile_update(user=user, avatar=ContentFile(picture, name="a.jpg"))
    old_name, storage = first.avatar.name, first.avatar.storage
    old_url = media_url(first.avatar, viewer=None) or ""
    assert fetch(old_url) == 200

    with pytest.raises(Exception):  # noqa: B017, PT011 - any refusal must keep the old one
        accounts_services.profile_update(
            user=user, bio="x" * 400, avatar=ContentFile(picture, name="b.jpg")
        )
    assert storage.exists(old_name)
    assert len(storage.listdir(f"avatars/{user.pk}")[1]) == 1, "the refused new file is gone"

    with django_capture_on_commit_callbacks(execute=True):
        accounts_services.profile_update(user=user, avatar=ContentFile(picture, name="c.jpg"))

    assert not storage.exists(old_name)
    assert fetch(old_url) == 404


def test_a_deleted_post_leaves_storage(user: User, django_capture_on_commit_callbacks) -> None:
    post = PostFactory(owner=user)
    names = [post.video.name, post.poster.name]
    storage = post.video.storage
    client = Client()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/p/{post.pk}/delete/").status_code == 302
    assert not any(storage.exists(name) for name in names)
