"""Generation overhead on CPU with the tiny models: what the queue and encoding add around
the pipeline, measured against the bare pipeline in the same run.

Starts a real Celery worker (queue `gpu`) on a throwaway PostgreSQL test database with Redis
as the broker, submits jobs one after another and watches each through the database:
submit -> first denoising step (queue, claim, model already warm) and last step ->
playable MP4 stored (decode, encode, poster, storage). The baseline is the same spec run
straight through the backend in this process.

    .venv/bin/python bench/generation.py [--jobs 5] [--steps 8] [--model tiny-wan]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/riff")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

models_dir = Path(tempfile.mkdtemp(prefix="riff-bench-models-"))
media_dir = Path(tempfile.mkdtemp(prefix="riff-bench-media-"))
os.environ["RIFF_TINY_WAN_PATH"] = str(models_dir / "tiny-wan")
os.environ["RIFF_TINY_LTX_PATH"] = str(models_dir / "tiny-ltx")
os.environ["MEDIA_ROOT"] = str(media_dir)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402


def wait(predicate, seconds: float = 300):  # type: ignore[no-untyped-def]
    """Poll every 10 ms; return the moment the predicate first held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return time.perf_counter()
        time.sleep(0.01)
    raise TimeoutError("the worker did not finish in time")


def main() -> None:
    """Build tiny models, measure the bare pipeline, then the full path through a worker."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--model", default="tiny-wan")
    args = parser.parse_args()

    from accounts.models import User
    from generation.backends import get_backend
    from generation.models import GenerationJob
    from generation.runner import _spec
    from generation.services import generation_job_create

    call_command("build_tiny_models", verbosity=0)
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    worker = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-Q", "gpu",
         "--pool", "solo", "--concurrency", "1", "--loglevel", "WARNING",
         "--hostname", f"bench-{os.getpid()}@local"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        owner = User.objects.create_user(username="bench", email="bench@example.com")
        params = {"model_key": args.model, "aspect": "9:16", "duration_s": 2.0}
        params["steps"] = args.steps
        probe = GenerationJob(owner=owner, prompt="a kite", seed=1, **params)
        backend = get_backend(args.model)
        spec = backend.fit(_spec(probe))
        backend.generate(spec, lambda step, total: None)  # warm up, as the worker will be
        bare = []
        for _ in range(args.jobs):
            start = time.perf_counter()
            backend.generate(spec, lambda step, total: None)
            bare.append(time.perf_counter() - start)

        queue_s, finish_s, total_s = [], [], []
        for n in range(args.jobs + 1):
            start = time.perf_counter()
            job = generation_job_create(owner=owner, prompt=f"a kite, take {n}", params=params)
            rows = GenerationJob.objects.filter(pk=job.pk)
            first = wait(lambda rows=rows: rows.filter(progress_step__gte=1).exists())
            last = wait(lambda rows=rows: rows.filter(progress_step__gte=args.steps).exists())
            done = wait(lambda rows=rows: rows.filter(state__in=["succeeded", "failed"]).exists())
            job.refresh_from_db()
            if job.state != "succeeded":
                raise RuntimeError(job.failure_message)
            if n == 0:
                continue  # the first job loads the model into the worker
            queue_s.append(first - start)
            finish_s.append(done - last)
            total_s.append(done - start)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        connection.creation.destroy_test_db(test_db, verbosity=0)

    pipeline = statistics.median(bare)
    print(
        f"model {args.model}, {spec.width}x{spec.height}, {spec.num_frames} frames, "
        f"{args.steps} steps, {args.jobs} jobs, {os.cpu_count()} cores"
    )
    print(f"{'figure':<34}{'median s':>10}{'min s':>9}{'max s':>9}")
    for label, values in (
        ("bare pipeline (baseline)", bare),
        ("submit -> first step", queue_s),
        ("last step -> playable MP4 stored", finish_s),
        ("submit -> playable (whole path)", total_s),
    ):
        print(
            f"{label:<34}{statistics.median(values):>10.3f}{min(values):>9.3f}{max(values):>9.3f}"
        )
    print(f"whole path / bare pipeline: {statistics.median(total_s) / pipeline:.2f}x")
    print("GPU figures (Wan 2.1 1.3B at 480x832, 81 frames) need a CUDA machine: not run here.")


if __name__ == "__main__":
    main()
