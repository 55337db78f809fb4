"""seed_demo makes a living feed whose counters match its rows, once."""

import io

import av
import pytest
import torch
from django.core.management import call_command

from accounts.models import Follow, Profile, User
from feed.models import Comment, Like, Post

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread for the house model: two processes on two cores fight over threads."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_seed_demo_makes_a_consistent_feed_once():
    # Few steps: the clips go through the house model's whole path, only rougher.
    call_command("seed_demo", "--seconds", "0.5", "--steps", "4", stdout=io.StringIO())
    assert User.objects.count() == 5
    assert Post.objects.count() == 12
    assert Post.objects.exclude(remix_of=None).count() == 2
    assert Post.objects.filter(visibility=Post.Visibility.FOLLOWERS).count() == 2
    # Made by the house model through a job's path (spec, backend, encoding).
    assert set(Post.objects.values_list("model_name", flat=True)) == {"riff-house"}
    assert not User.objects.get(username="mira").has_usable_password()
    for post in Post.objects.all():
        assert post.like_count == Like.objects.filter(post=post).count()
        assert post.comment_count == Comment.objects.filter(post=post).count()
    for profile in Profile.objects.select_related("user"):
        user = profile.user
        assert profile.follower_count == Follow.objects.filter(followee=user).count()
        assert profile.following_count == Follow.objects.filter(follower=user).count()
        assert profile.post_count == Post.objects.filter(owner=user).count()
        assert profile.avatar
    assert Like.objects.count() > 20

    clip = Post.objects.first()
    with clip.video.open("rb") as handle, av.open(handle) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.frames == 12  # 0.5 s at the house model's 24 display fps
        assert (stream.codec_context.width, stream.codec_context.height) == (512, 912)

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "already exist" in out.getvalue()
    assert Post.objects.count() == 12

    old_video = clip.video.name
    call_command(
        "seed_demo",
        "--reset",
        "--password",
        "demo-pass-123",
        "--seconds",
        "0.5",
        "--model",
        "riff-demo",
        stdout=io.StringIO(),
    )
    assert Post.objects.count() == 12
    assert set(Post.objects.values_list("model_name", flat=True)) == {"riff-demo"}
    assert not clip.video.storage.exists(old_video), "reset must not leave old clips behind"
    assert User.objects.get(username="mira").check_password("demo-pass-123")
