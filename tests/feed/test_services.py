"""Likes, comments and posts: counters stay true and only the right people may change things."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import Profile
from feed import services
from feed.models import Comment, Post
from ranking.models import EngagementEvent
from tests.factories import PostFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_post_create_stores_a_probed_video(user):
    post = PostFactory(owner=user)
    assert post.video.name.endswith(".mp4")
    assert post.video.storage.exists(post.video.name)
    assert post.poster.storage.exists(post.poster.name)
    assert (post.width, post.height) == (90, 160)
    assert post.duration_s == pytest.approx(0.5, abs=0.1)
    assert Profile.objects.get(user=user).post_count == 1


def test_like_is_counted_once_and_logged(user, other_user):
    post = PostFactory(owner=other_user)
    assert services.like_create(user=user, post=post) is True
    assert services.like_create(user=user, post=post) is False
    post.refresh_from_db()
    assert post.like_count == 1
    assert services.like_delete(user=user, post=post) is True
    assert services.like_delete(user=user, post=post) is False
    post.refresh_from_db()
    assert post.like_count == 0
    kinds = list(EngagementEvent.objects.filter(post=post).values_list("kind", flat=True))
    assert sorted(kinds) == ["like", "unlike"]


def test_comment_rules(user, other_user):
    post = PostFactory(owner=other_user)
    with pytest.raises(ValidationError):
        services.comment_create(author=user, post=post, body="   ")
    with pytest.raises(ValidationError):
        services.comment_create(author=user, post=post, body="x" * 501)
    comment = services.comment_create(author=user, post=post, body=" nice ")
    assert comment.body == "nice"
    post.refresh_from_db()
    assert post.comment_count == 1

    stranger = UserFactory(username="mallory")
    with pytest.raises(PermissionDenied):
        services.comment_delete(comment=comment, actor=stranger)
    # The post's owner may remove comments under their post.
    services.comment_delete(comment=comment, actor=other_user)
    post.refresh_from_db()
    assert post.comment_count == 0
    assert not Comment.objects.exists()


def test_only_the_owner_edits_or_deletes(user, other_user):
    post = PostFactory(owner=user)
    with pytest.raises(PermissionDenied):
        services.post_update(post=post, actor=other_user, caption="mine now")
    with pytest.raises(PermissionDenied):
        services.post_delete(post=post, actor=other_user)
    with pytest.raises(ValidationError):
        services.post_update(post=post, actor=user, visibility="everyone-ish")
    services.post_update(post=post, actor=user, caption=" new ", visibility="followers")
    post.refresh_from_db()
    assert (post.caption, post.visibility) == ("new", "followers")


@pytest.mark.django_db(transaction=True)
def test_delete_removes_files_only_after_commit(user):
    post = PostFactory(owner=user)
    storage, video_name, pk = post.video.storage, post.video.name, post.pk

    with pytest.raises(RuntimeError), transaction.atomic():
        services.post_delete(post=post, actor=user)
        raise RuntimeError("roll back")
    assert storage.exists(video_name), "a rolled-back delete must keep the file"
    assert Post.objects.filter(pk=pk).exists()

    services.post_delete(post=Post.objects.get(pk=pk), actor=user)
    assert not storage.exists(video_name)
    assert Profile.objects.get(user=user).post_count == 0
