"""Verify a clip: anyone uploads a video and learns whether it was made here, and which it is."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from feed.models import Post
from feed.services import post_publish
from generation.models import GenerationJob
from generation.video import encode_mp4
from moderation.content_credentials import sign_clip
from moderation.watermark import mark_frames
from tests.generation.factories import job_in_state
from tests.moderation.clips import reencoded, scene

pytestmark = pytest.mark.django_db
VERIFY = "/verify/"


def made_here(owner: User, *, visibility: str = "public") -> tuple[Post, bytes]:
    """A clip as Riff's worker makes it (marked, encoded, signed), posted by `owner`."""
    job = job_in_state(owner, GenerationJob.State.SUCCEEDED)
    frames = scene(seed=3)
    marked = mark_frames(frames, payload=job.watermark_id, label=f"AI · @{owner.username}")
    data = sign_clip(
        encode_mp4(marked, fps=12),
        title=f"Riff clip by @{owner.username}",
        clip_id=str(job.pk),
        model_key=job.model_key,
    )
    job.video.save("clip.mp4", ContentFile(data))
    post = post_publish(job=job, actor=owner, caption="Lantern night", visibility=visibility)
    return post, data


def upload(client: Client, data: bytes, name: str = "clip.mp4"):  # type: ignore[no-untyped-def]
    video = SimpleUploadedFile(name, data, content_type="video/mp4")
    return client.post(VERIFY, {"video": video})


def test_a_clip_from_here_is_trusted_and_leads_to_its_post(client: Client, other_user: User):
    post, data = made_here(other_user)

    response = upload(client, data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Made with AI on this Riff" in html
    assert 'data-state="Trusted"' in html and "Signed by this Riff, unchanged since" in html
    assert "AI: tiny-wan" in html
    assert f'href="{post.get_absolute_url()}"' in html
    assert reverse("feed:post_lineage", kwargs={"pk": post.pk}) in html


def test_a_reencoded_copy_loses_its_credentials_but_the_watermark_finds_it(
    client: Client, other_user: User
) -> None:
    post, data = made_here(other_user)

    html = upload(client, reencoded(data, crf=28, scale=0.5)).content.decode()

    assert 'data-state="none"' in html  # any re-encode drops the manifest
    job = GenerationJob.objects.get(published_post_id=post.pk)
    assert f"Riff watermark, id {job.watermark_id}" in html
    assert f'href="{post.get_absolute_url()}"' in html


def test_a_clip_changed_after_signing_reads_invalid(client: Client, other_user: User) -> None:
    _post, data = made_here(other_user)
    mdat = data.index(b"mdat") + 4
    tampered = bytearray(data)
    tampered[mdat + len(data[mdat:]) // 2] ^= 0xFF

    html = upload(client, bytes(tampered)).content.decode()

    assert 'data-state="Invalid"' in html and "changed after signing" in html
    assert "bmffHash" in html


def test_a_video_from_elsewhere_finds_nothing(client: Client) -> None:
    html = upload(client, encode_mp4(scene(seed=5, seconds=0.5), fps=12)).content.decode()

    assert "Nothing found" in html and "None found" in html


def test_a_match_with_a_post_you_cannot_see_is_not_shown(client: Client, other_user: User):
    post, data = made_here(other_user, visibility=Post.Visibility.PRIVATE)

    html = upload(client, data).content.decode()

    assert "Made with AI on this Riff" in html and "isn't public" in html
    assert post.get_absolute_url() not in html


def test_bad_uploads_are_refused_and_nothing_is_kept(client: Client, settings) -> None:
    assert client.post(VERIFY, {}).status_code == 400
    response = upload(client, b"this is not a video at all", name="notes.mp4")
    assert response.status_code == 400
    assert "a video we can read" in response.content.decode()
    settings.VERIFY_MAX_UPLOAD_MB = 0
    response = upload(client, b"x" * 2048)
    assert response.status_code == 413
    assert "the most Riff checks is 0 MB" in response.content.decode()
    assert list(Path(settings.MEDIA_ROOT).rglob("*.*")) == []


def test_the_ai_label_on_a_post_opens_its_credentials(client: Client, other_user: User) -> None:
    post, _data = made_here(other_user)
    credentials = reverse("feed:post_credentials", kwargs={"pk": post.pk})

    assert f'href="{credentials}"' in client.get(post.get_absolute_url()).content.decode()
    html = client.get(credentials).content.decode()

    assert "About this clip" in html and 'data-state="Trusted"' in html
    hidden, _ = made_here(other_user, visibility=Post.Visibility.PRIVATE)
    url = reverse("feed:post_credentials", kwargs={"pk": hidden.pk})
    assert client.get(url).status_code == 404


def test_verify_api(other_user: User, settings) -> None:
    post, data = made_here(other_user)
    api = APIClient()

    response = api.post(
        "/api/v1/verify/", {"video": SimpleUploadedFile("c.mp4", data)}, format="multipart"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["made_here"] is True
    assert body["credentials"]["state"] == "Trusted" and body["credentials"]["ai_generated"]
    assert (
        body["watermark"]["payload"]
        == GenerationJob.objects.get(pk=body["credentials"]["clip_id"]).watermark_id
    )
    assert body["post"]["id"] == post.pk
    assert body["lineage_url"].endswith(reverse("feed:post_lineage", kwargs={"pk": post.pk}))

    bad = api.post(
        "/api/v1/verify/", {"video": SimpleUploadedFile("c.mp4", b"nope")}, format="multipart"
    )
    assert bad.status_code == 400 and "video" in bad.json()
    settings.VERIFY_MAX_UPLOAD_MB = 0
    big = api.post(
        "/api/v1/verify/", {"video": SimpleUploadedFile("c.mp4", data)}, format="multipart"
    )
    assert big.status_code == 413
