"""A copy whose watermark is gone is still found, by its look: the PDQ hashes of its frames
against those of every posted clip (moderation/perceptual.py), through the verify page and
API; the answer says it is a resemblance and shows the manifest the clip was posted with."""

from __future__ import annotations

import io

import c2pa
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from feed.models import Post
from feed.services import post_publish
from feed.tasks import published_hashes_backfill_task
from generation.models import GenerationJob
from generation.video import encode_mp4
from moderation.content_credentials import sign_clip
from moderation.hashbank import fingerprint_record, video_hashes
from moderation.models import ClipFingerprint
from moderation.perceptual import published_index, published_match
from moderation.provenance import clip_read
from moderation.watermark import label_frames, mark_frames
from tests.clients import token_client
from tests.generation.factories import job_in_state
from tests.moderation.clips import reencoded, scene
from tests.verifying import api_verify, page_verify

pytestmark = pytest.mark.django_db


def posted_clip(owner: User, seed: int = 3) -> tuple[Post, bytes]:
    """A clip as the worker makes it (fingerprinted, marked, signed) and posted."""
    job = job_in_state(owner, GenerationJob.State.SUCCEEDED)
    frames = scene(seed=seed)
    marked = mark_frames(frames, payload=job.watermark_id, label=f"AI · @{owner.username}", fps=12)
    fingerprint_record(job_id=job.pk, frames=frames, published=marked)
    data = sign_clip(
        encode_mp4(marked, fps=12),
        title=f"Riff clip by @{owner.username}",
        clip_id=str(job.pk),
        model_key=job.model_key,
        watermark_id=job.watermark_id,
    )
    job.video.save("clip.mp4", ContentFile(data))
    return post_publish(job=job, actor=owner, caption="Lantern night"), data


def stripped(owner: User, post: Post, seed: int = 3) -> bytes:
    """The clip as posted with its invisible watermark taken out: the same frames and the same
    moving label, re-encoded (what a copy whose mark was scrubbed looks like)."""
    job = GenerationJob.objects.get(published_post_id=post.pk)
    frames = label_frames(
        scene(seed=seed), payload=job.watermark_id, label=f"AI · @{owner.username}", fps=12
    )
    return encode_mp4(frames, fps=12)


def test_a_copy_without_its_watermark_is_found_by_its_look(client: Client, other_user: User):
    post, data = posted_clip(other_user)
    unrelated, _ = posted_clip(other_user, seed=5)
    copy = stripped(other_user, post)
    assert clip_read(io.BytesIO(copy)).watermark.payload is None  # what this test is about

    html = page_verify(client, copy).content.decode()
    assert "Looks like a clip made with AI on this Riff" in html
    assert f"Looks like post #{post.pk} (perceptual match, " in html
    assert f'href="{post.get_absolute_url()}"' in html
    assert f'href="{unrelated.get_absolute_url()}"' not in html
    assert 'data-testid="stored-credentials"' in html and "found by a perceptual match" in html
    assert "The stored manifest" in html and "org.riff.watermark.1" in html

    body = api_verify(copy).json()
    assert body["found_by"] == "perceptual" and body["made_here"]
    assert body["perceptual"]["post_id"] == post.pk
    assert body["perceptual"]["matched"] >= 0.8 * body["perceptual"]["frames"] > 0
    assert body["post"]["id"] == post.pk
    assert body["credentials"]["state"] is None
    assert body["stored_credentials"]["state"] == "Trusted"
    assert body["stored_credentials"]["ai_generated"]


def test_a_resized_reencoded_copy_matches_its_post_and_nothing_else_does(other_user: User):
    post, data = posted_clip(other_user)
    index = published_index()
    copy = video_hashes(io.BytesIO(reencoded(data, crf=30, scale=0.5)))
    found = published_match(copy, index, distance=31, share=0.8)
    assert found is not None and found.post_id == post.pk and found.frames == len(copy)
    other = video_hashes(io.BytesIO(encode_mp4(scene(seed=9), fps=12)))
    assert published_match(other, index, distance=31, share=0.8) is None
    # A new post changes what the index holds; the process's copy follows.
    second, _ = posted_clip(other_user, seed=9)
    found = published_match(other, published_index(), distance=31, share=0.8)
    assert found is not None and found.post_id == second.pk


def test_a_page_for_a_clip_with_its_watermark_says_how_it_was_found(
    client: Client, other_user: User
):
    post, data = posted_clip(other_user)
    html = page_verify(client, reencoded(data, crf=28, scale=0.5)).content.decode()
    assert "Made with AI on this Riff" in html and "Found by its invisible watermark." in html
    assert "found by its watermark" in html and 'data-testid="stored-credentials"' in html
    assert "perceptual match" not in html


def test_a_c2pa_reader_resolves_the_soft_binding_to_the_stored_manifest(other_user: User):
    post, data = posted_clip(other_user)
    with c2pa.Reader("video/mp4", io.BytesIO(data)) as reader:
        manifest = reader.get_active_manifest()
    [binding] = [a["data"] for a in manifest["assertions"] if a["label"] == "c2pa.soft-binding"]
    query = {"alg": binding["alg"], "value": binding["blocks"][0]["value"]}
    url = "/api/v1/manifests/by-binding/"

    found = APIClient().get(url, query)
    assert found.status_code == 200
    body = found.json()
    assert body["post"] == post.pk and body["url"].endswith(post.get_absolute_url())
    assert body["state"] == "Trusted"
    assert body["manifest"]["title"] == manifest["title"]

    # Only clips the caller may see; other algorithms and values are refused plainly.
    Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.PRIVATE)
    assert APIClient().get(url, query).status_code == 404
    assert token_client(other_user).get(url, query).status_code == 200
    other = APIClient().get(url, {**query, "alg": "com.example.other"})
    assert other.status_code == 400 and "org.riff.watermark.1" in str(other.json())
    assert APIClient().get(url, {**query, "value": "not base64!"}).status_code == 400
    assert APIClient().get(url, {**query, "value": "AAAA"}).status_code == 400
    assert APIClient().get(url, {**query, "value": "AAAAAAAB"}).status_code == 404


def test_clips_posted_before_their_files_were_hashed_are_hashed_by_beat(other_user: User):
    post, data = posted_clip(other_user)
    ClipFingerprint.objects.filter(job__published_post_id=post.pk).update(
        published_hashes=[], published_hashed=False
    )  # as a clip made before this kept its posted file's hashes
    copy = video_hashes(io.BytesIO(reencoded(data, crf=30, scale=0.5)))
    assert published_match(copy, published_index(), distance=31, share=0.8) is None

    assert published_hashes_backfill_task() == 1
    assert published_hashes_backfill_task() == 0  # each file once
    found = published_match(copy, published_index(), distance=31, share=0.8)
    assert found is not None and found.post_id == post.pk
    assert settings.CELERY_BEAT_SCHEDULE["hash-posted-files"]["task"] == (
        "feed.published_hashes_backfill"
    )
