"""The worker's side, run synchronously with tiny real models: the whole real path from a
queued job to a stored, browser-ready MP4, and every way a run can end."""

import threading
import time
from pathlib import Path

import av
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from generation import services
from generation.models import GenerationJob
from generation.runner import InfrastructureError, job_run
from tests.factories import tiny_clip

pytestmark = pytest.mark.usefixtures("tiny_models")
State = GenerationJob.State


def queued(user, **params):
    base = {"model_key": "tiny-wan", "aspect": "9:16", "duration_s": 1.0, "steps": 3}
    source = params.pop("source", None)
    return services.generation_job_create(
        owner=user, prompt="a paper boat on a pond", params={**base, **params}, source=source
    )


@pytest.mark.django_db
@pytest.mark.parametrize("model_key", ["tiny-wan", "tiny-ltx"])
def test_job_runs_to_a_playable_clip(user, model_key):
    job = queued(user, model_key=model_key)
    job_run(job_id=str(job.pk), worker="test-worker")
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.failure_message
    assert (job.attempts, job.worker) == (1, "test-worker")
    assert job.progress_step == job.progress_total == 3
    assert job.started_at <= job.finished_at
    with job.video.open("rb") as handle, av.open(handle) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        frames = sum(1 for _ in container.decode(stream))
    assert frames == job.frame_count > 1
    assert job.video_bytes == job.video.size
    assert (job.width, job.height) == ((64, 112) if model_key == "tiny-wan" else (64, 96))
    assert default_storage.exists(job.poster.name)
    assert job.is_draft


@pytest.mark.django_db
def test_a_task_delivered_twice_runs_once(user):
    job = queued(user)
    job_run(job_id=str(job.pk), worker="first")
    job.refresh_from_db()
    finished, video = job.finished_at, job.video.name
    job_run(job_id=str(job.pk), worker="second")
    job.refresh_from_db()
    assert (job.attempts, job.worker, job.finished_at) == (1, "first", finished)
    assert job.video.name == video


@pytest.mark.django_db(transaction=True)
def test_cancel_mid_run_stops_at_the_next_step(user):
    job = queued(user, steps=60)

    def run() -> None:
        try:
            job_run(job_id=str(job.pk), worker="w")
        finally:
            connection.close()  # this thread's own connection

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 60
    while GenerationJob.objects.get(pk=job.pk).progress_step < 1:
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.02)
    services.job_cancel(job=GenerationJob.objects.get(pk=job.pk), actor=user)
    runner.join(timeout=60)
    job.refresh_from_db()
    assert job.state == State.CANCELLED
    assert job.failure == GenerationJob.Failure.CANCELLED
    assert job.progress_step < 60
    assert not job.video


@pytest.mark.django_db
def test_timeout_is_enforced_in_the_step_callback(user, settings):
    settings.GENERATION_TIMEOUT_S = -1
    job = queued(user)
    job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert job.state == State.TIMED_OUT
    assert job.quota_refunded
    assert "took longer than we allow" in job.failure_message


@pytest.mark.django_db
def test_a_fault_of_ours_is_given_back_then_fails_at_the_last_attempt(user, settings, monkeypatch):
    settings.GENERATION_MAX_ATTEMPTS = 2

    def broken_backend(model_key: str) -> None:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr("generation.runner.get_backend", broken_backend)
    job = queued(user)
    with pytest.raises(InfrastructureError):
        job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert (job.state, job.attempts, job.worker) == (State.QUEUED, 1, "")
    with pytest.raises(InfrastructureError):
        job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert (job.state, job.attempts) == (State.FAILED, 2)
    assert job.failure == GenerationJob.Failure.INFRASTRUCTURE and job.quota_refunded
    assert job.failure_message == (
        "Something went wrong on our side while making this clip (RuntimeError). "
        "It didn't count against your allowance."
    )


@pytest.mark.django_db
def test_a_job_over_caps_lowered_since_it_was_queued_is_not_run(user, settings):
    job = queued(user, steps=20)
    tiny = settings.RIFF_MODELS["tiny-wan"]
    settings.RIFF_MODELS = {**settings.RIFF_MODELS, "tiny-wan": {**tiny, "max_steps": 10}}
    job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert (job.state, job.progress_step) == (State.FAILED, 0)
    assert job.failure_message == f"{tiny['label']} takes at most 10 steps; ask for fewer."
    assert job.quota_refunded


@pytest.mark.django_db
def test_missing_weights_tell_the_person_it_is_unavailable_and_the_log_why(
    user, settings, tmp_path, caplog
):
    from generation.backends import release_backends

    release_backends()
    models = {key: dict(value) for key, value in settings.RIFF_MODELS.items()}
    models["tiny-wan"]["path"] = str(tmp_path / "nowhere")
    settings.RIFF_MODELS = models
    job = queued(user)
    job_run(job_id=str(job.pk), worker="w")
    release_backends()
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert job.failure == GenerationJob.Failure.INFRASTRUCTURE
    assert job.failure_message == (
        "Tiny Wan (test model, random weights) isn't available on this Riff right now, so this "
        "clip couldn't be made; its administrator has been told. It didn't count against your "
        "allowance."
    )
    # No server path, setting or command reaches the person; the log has all of them.
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "RIFF_TINY_WAN_PATH" in logged and str(tmp_path / "nowhere") in logged


@pytest.mark.django_db
@pytest.mark.parametrize("model_key", ["tiny-wan", "tiny-ltx"])
def test_remix_conditions_on_the_source_clip(user, model_key):
    video, _ = tiny_clip()
    name = default_storage.save("posts/source.mp4", ContentFile(video))
    source = services.RemixSource(post_id=1, video=name, seed=5)
    job = queued(user, model_key=model_key, source=source, strength=0.5)
    job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.failure_message
    assert (job.seed, job.source_post_id) == (5, 1)


@pytest.mark.django_db
def test_remix_of_a_deleted_clip_fails_plainly(user):
    source = services.RemixSource(post_id=1, video="posts/gone.mp4")
    job = queued(user, source=source)
    job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert job.state == State.FAILED
    assert "has been deleted" in job.failure_message


@pytest.mark.django_db
def test_a_clip_is_signed_and_a_remix_names_its_parent(user, settings):
    from moderation.content_credentials import read_clip

    settings.RIFF_MODELS = {
        **settings.RIFF_MODELS,
        "tiny-wan": {**settings.RIFF_MODELS["tiny-wan"], "sizes": {"9:16": (272, 480)}},
    }
    job = queued(user)
    job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.failure_message
    with job.video.open("rb") as handle:
        data = handle.read()
    reading = read_clip(data)
    assert reading.state == "Trusted", reading.errors
    assert reading.ai_generated and (reading.clip_id, reading.model_key) == (
        str(job.pk),
        "tiny-wan",
    )

    remix = queued(user, source=services.RemixSource(post_id=7, video=job.video.name, seed=3))
    job_run(job_id=str(remix.pk), worker="w")
    remix.refresh_from_db()
    assert remix.state == State.SUCCEEDED, remix.failure_message
    with remix.video.open("rb") as handle:
        remix_reading = read_clip(handle.read())
    assert remix_reading.state == "Trusted", remix_reading.errors
    assert [i["relationship"] for i in remix_reading.ingredients] == ["parentOf"]
    assert remix_reading.ingredients[0]["title"] == "Riff post 7"


@pytest.mark.django_db
def test_the_watermark_carries_the_clip_id_and_the_label_the_handle(user, settings):
    from moderation.watermark import read_video_payload

    settings.RIFF_MODELS = {
        **settings.RIFF_MODELS,
        "tiny-wan": {**settings.RIFF_MODELS["tiny-wan"], "sizes": {"9:16": (272, 480)}},
    }
    job = queued(user, duration_s=2.0)
    job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.failure_message
    with job.video.open("rb") as handle:
        assert read_video_payload(handle).payload == job.watermark_id
    # Read back when it was signed, and kept: its post's credentials page shows this.
    assert job.clip_reading["watermark"]["payload"] == job.watermark_id
    assert job.clip_reading["credentials"]["state"] == "Trusted"
    assert job.clip_reading["credentials"]["clip_id"] == str(job.pk)


@pytest.mark.django_db
def test_without_a_signing_key_the_job_fails_plainly_and_keeps_nothing(user, settings, tmp_path):
    settings.C2PA_PRIVATE_KEY = tmp_path / "missing.pem"
    job = queued(user)
    job_run(job_id=str(job.pk), worker="w")
    job.refresh_from_db()
    assert job.state == State.FAILED and job.failure == GenerationJob.Failure.INFRASTRUCTURE
    assert "can't sign clips" in job.failure_message
    assert not job.video and not job.poster
    assert list(Path(settings.MEDIA_ROOT).rglob("*.*")) == []
