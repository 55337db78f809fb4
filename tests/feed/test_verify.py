"""Verify a clip: anyone uploads a video and learns whether it was made here, and which it is.

The `verify` worker's part runs here between requests (tests.verifying); tests/test_verify_worker.py
runs it in a real worker.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from feed.models import Post
from feed.services import post_publish
from generation.models import GenerationJob
from generation.video import encode_mp4
from moderation.content_credentials import sign_clip
from moderation.models import VerifyCheck
from moderation.provenance import clip_read
from moderation.verify import BUSY, GAVE_UP, verify_checks_sweep
from moderation.watermark import mark_frames
from tests.generation.factories import job_in_state
from tests.moderation.clips import reencoded, scene
from tests.verifying import api_verify, page_verify, run_pending_checks

pytestmark = pytest.mark.django_db
VERIFY = "/verify/"


def made_here(owner: User, *, visibility: str = "public") -> tuple[Post, bytes]:
    """A clip as Riff's worker makes it (marked, encoded, signed), posted by `owner`."""
    job = job_in_state(owner, GenerationJob.State.SUCCEEDED)
    frames = scene(seed=3)
    marked = mark_frames(frames, payload=job.watermark_id, label=f"AI · @{owner.username}", fps=12)
    data = sign_clip(
        encode_mp4(marked, fps=12),
        title=f"Riff clip by @{owner.username}",
        clip_id=str(job.pk),
        model_key=job.model_key,
    )
    job.video.save("clip.mp4", ContentFile(data))
    post = post_publish(job=job, actor=owner, caption="Lantern night", visibility=visibility)
    return post, data


upload = page_verify


def test_a_clip_from_here_is_trusted_and_leads_to_its_post(client: Client, other_user: User):
    post, data = made_here(other_user)

    response = upload(client, data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Made with AI on this Riff" in html
    assert 'data-state="Trusted"' in html and "and unchanged since it was signed" in html
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
    assert list(Path(settings.MEDIA_ROOT).rglob("*")) in (
        [],
        [Path(settings.MEDIA_ROOT) / "verify"],
    )


def test_an_upload_waits_in_storage_for_the_worker_then_is_deleted(
    client: Client, settings
) -> None:
    video = encode_mp4(scene(seed=5, seconds=0.5), fps=12)

    response = client.post(VERIFY, {"video": SimpleUploadedFile("mine.mp4", video)})

    assert response.status_code == 202
    check = VerifyCheck.objects.get()
    assert check.state == VerifyCheck.State.PENDING and check.filename == "mine.mp4"
    assert check.upload.startswith("verify/") and default_storage.exists(check.upload)
    with default_storage.open(check.upload, "rb") as handle:
        assert handle.read() == video
    run_pending_checks()
    check.refresh_from_db()
    assert check.state == VerifyCheck.State.DONE and check.upload == ""
    assert list((Path(settings.MEDIA_ROOT) / "verify").iterdir()) == []


def test_checking_polls_with_htmx_until_the_result_is_there(client: Client) -> None:
    response = client.post(
        VERIFY, {"video": SimpleUploadedFile("a.mp4", encode_mp4(scene(seconds=0.5), fps=12))}
    )
    check = VerifyCheck.objects.get()
    url = reverse("feed:verify_check", kwargs={"check_id": check.pk})
    html = response.content.decode()
    assert f'hx-get="{url}"' in html and 'hx-trigger="every 1s"' in html
    assert "<script" not in html.split("<main", 1)[-1]  # no inline script (CSP)

    waiting = client.get(url, headers={"HX-Request": "true"})
    assert waiting.status_code == 200 and f'hx-get="{url}"' in waiting.content.decode()
    assert "<html" not in waiting.content.decode()
    run_pending_checks()
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Nothing found" in done and "hx-get" not in done


def test_a_refusal_found_later_is_shown_where_the_result_would_be(client: Client) -> None:
    client.post(VERIFY, {"video": SimpleUploadedFile("a.zip", b"PK\x03\x04" + b"0" * 500)})
    check = VerifyCheck.objects.get()
    run_pending_checks()
    url = reverse("feed:verify_check", kwargs={"check_id": check.pk})

    fragment = client.get(url, headers={"HX-Request": "true"})
    page = client.get(url)

    assert fragment.status_code == 200 and "a video we can read" in fragment.content.decode()
    assert page.status_code == 400 and "couldn't be checked" in page.content.decode()


def test_a_body_declared_too_large_is_refused_before_it_is_parsed(client: Client, settings):
    settings.VERIFY_MAX_UPLOAD_MB = 0
    body = b"not even multipart " * 10_000  # 190 kB: parsed, it would be "choose a video"

    page = client.generic("POST", VERIFY, body, "multipart/form-data; boundary=xyz")
    api = APIClient().generic("POST", "/api/v1/verify/", body, "multipart/form-data; boundary=x")

    assert page.status_code == 413 and "the most Riff checks is 0 MB" in page.content.decode()
    assert api.status_code == 413 and "the most Riff checks is 0 MB" in api.json()["video"][0]
    assert not VerifyCheck.objects.exists()


def test_too_many_checks_waiting_are_refused_with_503(client: Client, settings) -> None:
    settings.VERIFY_MAX_PENDING = 1
    VerifyCheck.objects.create(upload="verify/someone-elses")
    video = SimpleUploadedFile("a.mp4", b"anything")

    page = client.post(VERIFY, {"video": video})
    api = APIClient().post("/api/v1/verify/", {"video": video}, format="multipart")

    assert page.status_code == 503 and page["Retry-After"] == "30"
    assert "checking a lot of videos" in page.content.decode()
    assert api.status_code == 503 and api.json() == {"detail": BUSY}
    assert api["Retry-After"] == "30"
    assert VerifyCheck.objects.count() == 1
    # A check no worker ever finished stops counting once it is given up on.
    VerifyCheck.objects.update(created=timezone.now() - timedelta(hours=1))
    assert client.post(VERIFY, {"video": SimpleUploadedFile("b.mp4", b"x")}).status_code == 202


def test_results_are_kept_a_short_while_for_whoever_has_the_id(client: Client, settings):
    settings.VERIFY_GIVE_UP_S, settings.VERIFY_KEEP_S = 300, 600
    api_verify(encode_mp4(scene(seconds=0.5), fps=12))
    done = VerifyCheck.objects.get()
    stuck = VerifyCheck.objects.create(
        upload=default_storage.save("verify/stuck", ContentFile(b"x"))
    )
    old = timezone.now() - timedelta(seconds=settings.VERIFY_GIVE_UP_S + 1)
    VerifyCheck.objects.filter(pk=stuck.pk).update(created=old)

    page = client.get(reverse("feed:verify_check", kwargs={"check_id": stuck.pk}))
    assert page.status_code == 400 and "get to that video in time" in page.content.decode()
    assert APIClient().get(f"/api/v1/verify/{stuck.pk}/").json() == {"video": [GAVE_UP]}
    assert verify_checks_sweep() == {"given_up": 1, "deleted": 0}
    assert not default_storage.exists("verify/stuck")

    VerifyCheck.objects.update(created=timezone.now() - timedelta(seconds=601))
    assert verify_checks_sweep() == {"given_up": 0, "deleted": 2}
    for pk in (done.pk, stuck.pk, "9b2c1f0e-0000-4000-8000-000000000000"):
        assert client.get(reverse("feed:verify_check", kwargs={"check_id": pk})).status_code == 404
        assert APIClient().get(f"/api/v1/verify/{pk}/").status_code == 404


def test_the_ai_label_on_a_post_opens_its_credentials(client: Client, other_user: User) -> None:
    post, _data = made_here(other_user)
    credentials = reverse("feed:post_credentials", kwargs={"pk": post.pk})

    assert f'href="{credentials}"' in client.get(post.get_absolute_url()).content.decode()
    html = client.get(credentials).content.decode()

    assert "About this clip" in html and 'data-state="Trusted"' in html
    hidden, _ = made_here(other_user, visibility=Post.Visibility.PRIVATE)
    url = reverse("feed:post_credentials", kwargs={"pk": hidden.pk})
    assert client.get(url).status_code == 404


def test_the_credentials_page_shows_the_reading_stored_at_signing(
    client: Client, other_user: User
) -> None:
    job = job_in_state(other_user, GenerationJob.State.SUCCEEDED)
    marked = mark_frames(scene(seed=3), payload=job.watermark_id, label="AI", fps=12)
    data = sign_clip(
        encode_mp4(marked, fps=12), title="t", clip_id=str(job.pk), model_key=job.model_key
    )
    job.video.save("clip.mp4", ContentFile(data))
    # As the runner stores it when it signs the clip; the post takes it over.
    GenerationJob.objects.filter(pk=job.pk).update(clip_reading=clip_read(job.video.path).as_json())
    job.refresh_from_db()
    post = post_publish(job=job, actor=other_user, caption="Stored")
    assert post.clip_reading == job.clip_reading
    default_storage.delete(post.video.name)  # the page never opens the clip

    html = client.get(reverse("feed:post_credentials", kwargs={"pk": post.pk})).content.decode()

    assert 'data-state="Trusted"' in html and f"Riff watermark, id {job.watermark_id}" in html


def test_an_older_post_has_its_clip_read_once_then_never_again(
    client: Client, other_user: User
) -> None:
    post, _data = made_here(other_user)
    Post.objects.filter(pk=post.pk).update(clip_reading=None)
    url = reverse("feed:post_credentials", kwargs={"pk": post.pk})

    assert 'data-state="Trusted"' in client.get(url).content.decode()
    post.refresh_from_db()
    assert post.clip_reading["credentials"]["state"] == "Trusted"
    default_storage.delete(post.video.name)
    assert 'data-state="Trusted"' in client.get(url).content.decode()


def test_verify_api(other_user: User, settings) -> None:
    post, data = made_here(other_user)

    response = api_verify(data, "c.mp4")

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

    bad = api_verify(b"nope", "c.mp4")
    assert bad.status_code == 400 and bad.json() == {
        "video": ["That file isn't a video we can read (MP4, WebM or MOV)."]
    }
    settings.VERIFY_MAX_UPLOAD_MB = 0
    big = APIClient().post(
        "/api/v1/verify/", {"video": SimpleUploadedFile("c.mp4", data)}, format="multipart"
    )
    assert big.status_code == 413
