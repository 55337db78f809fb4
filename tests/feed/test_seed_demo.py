"""seed_demo makes a living feed whose counters match its rows, once, of clips made here."""

import io
from pathlib import Path

import av
import pytest
import torch
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Follow, Profile, User
from feed.models import Comment, Like, Post
from generation.models import GenerationJob
from tests.verifying import page_verify

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
    # Each made by the house model as a job of its owner, and posted from that job's draft.
    assert set(Post.objects.values_list("model_name", flat=True)) == {"riff-house"}
    for post in Post.objects.all():
        job = GenerationJob.objects.get(published_post_id=post.pk)
        assert job.owner_id == post.owner_id and job.prompt == post.prompt
        assert job.state == GenerationJob.State.SUCCEEDED and post.video.name.endswith(".mp4")
    remix = Post.objects.exclude(remix_of=None).get(owner__username="aiko")
    assert remix.remix_of.owner.username == "jonas"
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

    # Verify knows a demo clip: made with AI here, and which post it is.
    with clip.video.open("rb") as handle:
        data = handle.read()
    response = page_verify(Client(), data)  # the `verify` worker's part done here
    html = response.content.decode()
    assert response.status_code == 200 and "Made with AI on this Riff" in html
    assert f'href="{clip.get_absolute_url()}"' in html

    old_files = [
        clip.video.name,
        clip.poster.name,
        Profile.objects.get(user__username="mira").avatar.name,
    ]
    call_command(
        "seed_demo",
        "--reset",
        "--password",
        "demo-pass-123",
        "--seconds",
        "0.5",
        "--steps",
        "2",
        stdout=io.StringIO(),
    )
    assert Post.objects.count() == 12 and GenerationJob.objects.count() == 12
    for name in old_files:
        assert not clip.video.storage.exists(name), "reset must not leave old files behind"
    assert User.objects.get(username="mira").check_password("demo-pass-123")


def media_files(settings) -> set[str]:
    return {str(p) for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()}


def test_seed_demo_that_cannot_finish_leaves_nothing_behind(settings):
    """What can be checked first is, before anything is deleted; a clip refused midway (here
    by the daily allowance) takes the demo people made so far with it, files and all."""
    call_command("seed_demo", "--seconds", "0.5", "--steps", "2", stdout=io.StringIO())
    seeded = media_files(settings)
    assert len(seeded) == 5 + 12 * 2  # avatars, clips and posters

    with pytest.raises(CommandError, match="at most 2 seconds"):
        call_command("seed_demo", "--reset", "--seconds", "4", stdout=io.StringIO())
    house = settings.RIFF_MODELS["riff-house"]
    settings.RIFF_MODELS = {**settings.RIFF_MODELS, "riff-house": {**house, "path": "/nowhere"}}
    with pytest.raises(CommandError, match="RIFF_HOUSE_PATH"):
        call_command("seed_demo", "--reset", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Unknown model 'nope'"):
        call_command("seed_demo", "--reset", "--model", "nope", stdout=io.StringIO())
    assert media_files(settings) == seeded and Post.objects.count() == 12

    # Mira's third clip is one more than she may make today.
    settings.RIFF_MODELS = {**settings.RIFF_MODELS, "riff-house": house}
    settings.GENERATION_DAILY_QUOTA = 2
    with pytest.raises(CommandError, match="could not be made"):
        call_command(
            "seed_demo", "--reset", "--seconds", "0.5", "--steps", "2", stdout=io.StringIO()
        )
    assert not User.objects.exists() and not GenerationJob.objects.exists()
    assert media_files(settings) == set()
