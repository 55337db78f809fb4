"""Generation figures, each against a baseline measured in the same run.

Overhead (default; CPU, tiny models): what the queue and encoding add around the pipeline.
Starts a real Celery worker (queue `gpu`) on a throwaway PostgreSQL test database with Redis
as the broker, submits jobs one after another and watches each through the database:
submit -> first denoising step (queue, claim, model already warm) and last step ->
playable MP4 stored (decode, encode, poster, storage). The baseline is the same spec run
straight through the backend in this process.

    .venv/bin/python bench/generation.py [--jobs 5] [--steps 8] [--model tiny-wan]

Full-size Wan (`--wan-full`; meant for a CUDA machine, needs no database or broker): the
Wan 2.1 T2V 1.3B transformer architecture with random weights (its text encoder cut to one
layer: it runs once per clip), saved to a temporary folder, then run alternately by plain
diffusers (`WanPipeline.from_pretrained(..., dtype=bfloat16)`) and by Riff's backend
with the settings of RIFF_MODELS["wan2.1-t2v-1.3b"]: seconds per step, per clip and peak
GPU memory. `--layers`, `--size` and `--frames` shrink it to check the script on a CPU.

    .venv/bin/python bench/generation.py --wan-full [--steps 10] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development run, as bin/run and bin/test are
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


def overhead(args: argparse.Namespace) -> None:
    """Build tiny models, measure the bare pipeline, then the full path through a worker."""

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
    print("Full-size Wan figures: bench/generation.py --wan-full (on a CUDA machine).")


# The published transformer config of Wan2.1-T2V-1.3B-Diffusers (1.4 B parameters).
WAN21_T2V_1_3B = {
    "patch_size": (1, 2, 2),
    "num_attention_heads": 12,
    "attention_head_dim": 128,
    "in_channels": 16,
    "out_channels": 16,
    "text_dim": 4096,
    "freq_dim": 256,
    "ffn_dim": 8960,
    "num_layers": 30,
    "cross_attn_norm": True,
    "qk_norm": "rms_norm_across_heads",
    "eps": 1e-6,
    "rope_max_seq_len": 1024,
}


def build_wan_full(path: Path, layers: int, device: str) -> int:
    """Save a Wan 2.1 1.3B-shaped pipeline with random weights; returns its parameter count."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        UniPCMultistepScheduler,
        WanPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    from generation.backends.tiny import build_tokenizer

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    with torch.device(device):
        transformer = WanTransformer3DModel(**{**WAN21_T2V_1_3B, "num_layers": layers}).to(dtype)
        vae = AutoencoderKLWan()  # the class defaults are Wan 2.1's VAE
        text_encoder = UMT5EncoderModel(
            UMT5Config(
                vocab_size=len(tokenizer),
                d_model=4096,
                d_kv=64,
                d_ff=10240,
                num_layers=1,
                num_heads=64,
                pad_token_id=0,
                eos_token_id=1,
            )  # fmt: skip
        ).to(dtype)
    scheduler = UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
    )
    pipe = WanPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=scheduler,
    )
    pipe.save_pretrained(path)
    count = sum(p.numel() for p in transformer.parameters())
    del pipe, transformer, vae, text_encoder
    return count


def wan_full(args: argparse.Namespace) -> None:
    """Plain diffusers against Riff's backend on the full-size Wan architecture, alternately."""
    import torch
    from diffusers import WanPipeline

    from generation.backends import GenerationSpec, get_backend, release_backends

    device = "cuda" if torch.cuda.is_available() else "cpu"
    width, height = (int(v) for v in args.size.split("x"))
    folder = Path(tempfile.mkdtemp(prefix="riff-bench-wan-full-"))
    started = time.perf_counter()
    params = build_wan_full(folder, args.layers, device)
    built_s = time.perf_counter() - started
    prompt = "a paper boat sailing across a moonlit lake, cinematic"
    negative = "blurry, low quality"

    def sync() -> None:
        if device == "cuda":
            torch.cuda.synchronize()

    # Riff's backend with the settings this instance gives the real Wan 2.1 1.3B.
    key = "bench-wan-full"
    settings.RIFF_MODELS[key] = {
        **settings.RIFF_MODELS["wan2.1-t2v-1.3b"],
        "path": str(folder),
        "label": "Wan 2.1 1.3B architecture, random weights",
    }
    riff = get_backend(key)
    plain = WanPipeline.from_pretrained(str(folder), dtype=riff.pipe.transformer.dtype)
    plain.to(device)
    plain.set_progress_bar_config(disable=True)

    def run_plain(steps: int, stamp: Callable[[], None]) -> None:
        def callback(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            stamp()
            return {}

        plain(
            prompt=prompt, negative_prompt=negative, height=height, width=width,
            num_frames=args.frames, num_inference_steps=steps, guidance_scale=5.0,
            generator=torch.Generator("cpu").manual_seed(1), output_type="np",
            callback_on_step_end=callback,
        )  # fmt: skip

    def run_riff(steps: int, stamp: Callable[[], None]) -> None:
        spec = GenerationSpec(
            prompt=prompt, negative_prompt=negative, width=width, height=height,
            num_frames=args.frames, fps=16, steps=steps, guidance=5.0, seed=1,
        )  # fmt: skip
        riff.generate(spec, lambda done, total: stamp())

    def measure(run: Callable[[int, Callable[[], None]], None], steps: int) -> dict[str, float]:
        stamps: list[float] = []

        def stamp() -> None:
            sync()
            stamps.append(time.perf_counter())

        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        sync()
        start = time.perf_counter()
        run(steps, stamp)
        sync()
        clip = time.perf_counter() - start
        intervals = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else float("nan")
        return {
            "step": statistics.median(intervals) if intervals else float("nan"),
            "clip": clip,
            "peak": peak,
        }

    runners = {"plain diffusers": run_plain, "Riff worker": run_riff}
    for run in runners.values():  # warm up: kernels, allocator, first-call work
        measure(run, 2)
    results: dict[str, list[dict[str, float]]] = {name: [] for name in runners}
    for _ in range(args.runs):
        for name, run in runners.items():
            results[name].append(measure(run, args.steps))

    options = {k: v for k, v in settings.RIFF_MODELS[key].items() if k not in ("path", "label")}
    print(
        f"Wan 2.1 1.3B architecture ({args.layers} layers, {params / 1e9:.2f} B transformer "
        f"parameters, random weights, built in {built_s:.0f} s) on {device}"
        + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else "")
    )
    print(
        f"{width}x{height}, {args.frames} frames, {args.steps} steps, guidance 5.0, "
        f"{args.runs} runs each, alternating; Riff options {options}"
    )
    print(f"{'':<18}{'s/step':>9}{'s/clip':>9}{'peak GiB':>10}")
    for name, rows in results.items():
        step = statistics.median(r["step"] for r in rows)
        clip = statistics.median(r["clip"] for r in rows)
        peak = max(r["peak"] for r in rows)
        print(f"{name:<18}{step:>9.3f}{clip:>9.2f}{peak:>10.1f}")
    base = statistics.median(r["clip"] for r in results["plain diffusers"])
    ours = statistics.median(r["clip"] for r in results["Riff worker"])
    print(f"Riff worker / plain diffusers, per clip: {ours / base:.2f}x")
    release_backends()
    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    """Run the overhead figures, or the full-size Wan comparison with --wan-full."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--model", default="tiny-wan")
    parser.add_argument("--wan-full", action="store_true")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--layers", type=int, default=WAN21_T2V_1_3B["num_layers"])
    parser.add_argument("--size", default="832x480", help="WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=81)
    args = parser.parse_args()
    if args.wan_full:
        wan_full(args)
    else:
        overhead(args)


if __name__ == "__main__":
    main()
