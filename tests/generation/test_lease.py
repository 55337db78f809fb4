"""Leases, with tiny real models: a job is held by one runner at a time, kept by its heartbeat
thread through a slow model load, and a runner that lost it stops and writes nothing."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from generation import runner, services
from generation.backends import release_backends
from generation.backends.wan import WanBackend
from generation.models import GenerationJob
from generation.runner import job_run
from moderation.models import ClipFingerprint

pytestmark = pytest.mark.usefixtures("tiny_models")
State = GenerationJob.State


def queued(user: Any, **params: Any) -> GenerationJob:
    base = {"model_key": "tiny-wan", "aspect": "9:16", "duration_s": 1.0, "steps": 3}
    return services.generation_job_create(
        owner=user, prompt="a kite over a beach", params={**base, **params}
    )


def expire_lease(job: GenerationJob) -> None:
    """Make the job's lease run out now, as it would if its heartbeat had stopped."""
    GenerationJob.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )


def files_in(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()]


def run_as(job: GenerationJob, worker: str) -> threading.Thread:
    """A worker's runner on a thread of its own (with its own database connection)."""

    def run() -> None:
        try:
            job_run(job_id=str(job.pk), worker=worker)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=worker)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_a_model_load_longer_than_the_heartbeat_runs_once_with_two_workers(
    user, settings, monkeypatch, gpu_queue
):
    settings.GENERATION_HEARTBEAT_S = 1.0
    release_backends()  # the first worker loads the model cold
    loading, loaded = threading.Event(), threading.Event()
    real_load, real_generate = WanBackend.load, WanBackend.generate
    runs: list[str] = []

    def slow_load(self: WanBackend) -> None:
        loading.set()
        loaded.wait(timeout=60)  # held here by the test, past the length of a lease
        real_load(self)

    def counted_generate(self: WanBackend, spec: Any, on_step: Any) -> Any:
        runs.append(threading.current_thread().name)
        return real_generate(self, spec, on_step)

    monkeypatch.setattr(WanBackend, "load", slow_load)
    monkeypatch.setattr(WanBackend, "generate", counted_generate)
    job = queued(user)

    first = run_as(job, "gpu-a")
    assert loading.wait(timeout=60), "the first worker never started loading"
    # No denoising step reports during a load: only the heartbeat thread keeps the lease.
    time.sleep(2.5 * settings.GENERATION_HEARTBEAT_S)
    swept = services.jobs_sweep()
    # The task delivered again (the sweeper's re-send, or a redelivery) to a second worker.
    second = run_as(job, "gpu-b")
    loaded.set()
    first.join(timeout=120)
    second.join(timeout=120)

    job.refresh_from_db()
    assert swept["requeued"] == 0, "the sweeper took a lease its heartbeat kept alive"
    assert job.state == State.SUCCEEDED, job.failure_message
    assert (job.attempts, job.worker) == (1, "gpu-a")
    assert runs == ["gpu-a"], "the pipeline ran more than once"
    assert len([p for p in files_in(Path(settings.MEDIA_ROOT)) if p.suffix == ".mp4"]) == 1


@pytest.mark.django_db
def test_a_runner_whose_lease_is_taken_mid_run_stops_and_writes_nothing(
    user, settings, monkeypatch
):
    job = queued(user, steps=20)
    real_generate = WanBackend.generate
    steps: list[int] = []
    stolen: dict[str, Any] = {}

    def stolen_after_step_2(self: WanBackend, spec: Any, on_step: Any) -> Any:
        def step(done: int, total: int) -> None:
            steps.append(done)
            on_step(done, total)
            if done == 2:
                # Its lease runs out: the sweeper takes the job back, and another worker
                # claims it under a new attempt while this runner still runs.
                expire_lease(job)
                stolen["swept"] = services.jobs_sweep()
                stolen["claimed"] = runner._claim(str(job.pk), "gpu-b")

        return real_generate(self, spec, step)

    monkeypatch.setattr(WanBackend, "generate", stolen_after_step_2)
    job_run(job_id=str(job.pk), worker="gpu-a")

    job.refresh_from_db()
    assert stolen["swept"]["requeued"] == 1 and stolen["claimed"] is not None
    assert steps == [1, 2, 3], "it didn't stop at its next check"
    # The job is as gpu-b's claim left it: no progress, no clip, no state written by gpu-a.
    assert (job.state, job.worker, job.attempts) == (State.RUNNING, "gpu-b", 2)
    assert job.progress_step == 0 and not job.video and not job.poster
    assert files_in(Path(settings.MEDIA_ROOT)) == []


@pytest.mark.django_db
def test_a_runner_that_loses_its_lease_while_storing_deletes_its_files(user, settings, monkeypatch):
    job = queued(user)
    real_store = runner._store_files
    stored: list[str] = []
    swept: dict[str, int] = {}

    def store_then_lose_the_lease(held: GenerationJob, *, video: bytes, poster: bytes) -> Any:
        names = real_store(held, video=video, poster=poster)
        stored.extend(names)
        expire_lease(job)
        swept.update(services.jobs_sweep())
        return names

    monkeypatch.setattr(runner, "_store_files", store_then_lose_the_lease)
    job_run(job_id=str(job.pk), worker="gpu-a")

    job.refresh_from_db()
    assert swept["requeued"] == 1
    assert len(stored) == 2 and not any(default_storage.exists(name) for name in stored)
    assert files_in(Path(settings.MEDIA_ROOT)) == []
    assert (job.state, job.worker, job.attempts) == (State.QUEUED, "", 1)
    assert not job.video and not ClipFingerprint.objects.filter(job_id=job.pk).exists()


@pytest.mark.django_db
def test_the_sweeper_takes_only_expired_leases(user, settings):
    now = timezone.now()
    held = services.job_transition(job=queued(user), to=State.RUNNING, attempts=1, worker="gpu-a")
    # An old heartbeat means nothing while the lease itself runs.
    GenerationJob.objects.filter(pk=held.pk).update(heartbeat_at=now - timedelta(hours=1))
    assert services.jobs_sweep()["requeued"] == 0
    expire_lease(held)
    assert services.jobs_sweep()["requeued"] == 1
    held.refresh_from_db()
    assert (held.state, held.worker, held.lease_expires_at) == (State.QUEUED, "", None)
