"""Through a real Celery worker process, against Redis and PostgreSQL: a prompt becomes a
posted clip; a worker killed mid-job leaves a job that the sweeper recovers; a job whose
message the broker lost is sent again by the sweeper."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import av
import pytest
import redis
from django.conf import settings
from django.utils import timezone

from feed.services import post_publish
from generation import services
from generation.models import GenerationJob
from tests.processes import process_env, started, stop, worker_args

logs: dict[int, Path] = {}  # worker pid -> its log, to show when it dies
State = GenerationJob.State

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("tiny_models")]


@pytest.fixture
def start_worker(
    tiny_models: dict[str, Path], tmp_path: Path, gpu_queue: Callable[[], list[str]]
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `celery worker -Q gpu` processes on the test database; all stopped at the end."""
    env = process_env(
        media_root=settings.MEDIA_ROOT,
        RIFF_TINY_WAN_PATH=str(tiny_models["tiny-wan"]),
        RIFF_TINY_LTX_PATH=str(tiny_models["tiny-ltx"]),
        OMP_NUM_THREADS="1",
    )
    workers: list[subprocess.Popen[bytes]] = []

    def start(**extra_env: str) -> subprocess.Popen[bytes]:
        log_path = tmp_path / f"worker{len(workers)}.log"
        hostname = f"gpu{len(workers)}-{os.getpid()}@test"
        worker = started(
            worker_args(queues="gpu", hostname=hostname), {**env, **extra_env}, log_path
        )
        logs[worker.pid] = log_path
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        stop(worker)


def wait_for(
    predicate: Callable[[GenerationJob], bool],
    job: GenerationJob,
    worker: subprocess.Popen[bytes],
    seconds: float = 180,
) -> GenerationJob:
    """Poll the job until `predicate` holds; fail early, with its log, if the worker died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if predicate(job):
            return job
        if worker.poll() is not None:
            pytest.fail("the worker exited:\n" + logs[worker.pid].read_text()[-3000:])
        time.sleep(0.1)
    pytest.fail(f"job stuck in {job.state} at step {job.progress_step}: {job.failure_message}")


def queue(user, steps: int) -> GenerationJob:
    params = {"model_key": "tiny-wan", "aspect": "9:16", "duration_s": 1.0, "steps": steps}
    # A transactional test commits at once, so the task goes to Redis right away.
    return services.generation_job_create(owner=user, prompt="a lighthouse", params=params)


def test_prompt_to_posted_clip_through_a_real_worker(user, start_worker):
    worker = start_worker()
    job = queue(user, steps=4)
    seen = {job.state}
    job = wait_for(lambda j: seen.add(j.state) or j.state in (State.SUCCEEDED, State.FAILED),
                   job, worker)  # fmt: skip
    assert job.state == State.SUCCEEDED, job.failure_message
    assert {State.QUEUED, State.SUCCEEDED} <= seen
    assert job.worker.startswith("gpu0-")
    post = post_publish(job=job, actor=user, caption="first light")
    with post.video.open("rb") as handle, av.open(handle) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert sum(1 for _ in container.decode(stream)) == job.frame_count
    assert post.prompt == "a lighthouse" and post.model_name == "tiny-wan"


def test_a_worker_killed_mid_job_is_recovered_by_the_sweeper(user, start_worker):
    # Leases of 2 s: the dead worker's runs out soon after it stops renewing it.
    first = start_worker(GENERATION_HEARTBEAT_S="2")
    job = queue(user, steps=100)
    job = wait_for(lambda j: j.state == State.RUNNING and j.progress_step >= 2, job, first)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    stalled_at = job.progress_step
    job.refresh_from_db()
    assert job.state == State.RUNNING, "nothing moves a job whose worker died"

    deadline = time.monotonic() + 60
    while not services.jobs_sweep()["requeued"]:
        assert time.monotonic() < deadline, "the dead worker's lease never ran out"
        time.sleep(0.2)
    job.refresh_from_db()
    assert job.state == State.QUEUED and job.attempts == 1

    GenerationJob.objects.filter(pk=job.pk).update(steps=4)  # finish quickly this time
    second = start_worker()
    job = wait_for(lambda j: j.state in (State.SUCCEEDED, State.FAILED), job, second)
    assert job.state == State.SUCCEEDED, job.failure_message
    assert job.attempts == 2 and stalled_at >= 2


def test_a_job_whose_message_was_lost_is_sent_again_by_the_sweeper(
    user, start_worker, gpu_queue, settings
):
    settings.GENERATION_RESEND_QUEUED_S = 60
    job = queue(user, steps=3)
    # The broker loses the message (a Redis restart without persistence): the job waits on.
    assert gpu_queue() == [str(job.pk)]
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("gpu")
    assert services.jobs_sweep()["resent"] == 0, "not yet: it has only just been sent"

    GenerationJob.objects.filter(pk=job.pk).update(sent_at=timezone.now() - timedelta(seconds=61))
    assert services.jobs_sweep()["resent"] == 1
    assert gpu_queue() == [str(job.pk)]
    worker = start_worker()
    job = wait_for(lambda j: j.state in (State.SUCCEEDED, State.FAILED), job, worker)
    assert job.state == State.SUCCEEDED, job.failure_message
    assert job.attempts == 1 and gpu_queue() == []
