"""House model: seconds to make one 2-second clip on this machine's CPU, against a baseline.

Loads RIFF_MODELS["riff-house"] (the shipped weights, or RIFF_HOUSE_PATH) through the
backend a worker uses, warms it up, then times, median of --runs:

- the baseline: one denoiser forward pass on the guided batch (caption and empty caption),
  the unit a clip is made of (steps x 1 of them, plus the text encoder and the rest);
- prompt -> display frames (the whole `generate`: MiniLM, sampling, blending to 24 fps and
  upscaling to 512x912), split into the model's frames (`sample`) and the display step;
- display frames -> MP4 (H.264, as the worker encodes; no watermark or signature).

Torch keeps its default threads (all cores) unless --threads is given.

    .venv/bin/python bench/house_model.py [--runs 5] [--steps 20] [--guidance 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development run, as bin/run and bin/test are
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

import torch  # noqa: E402

from generation.backends import get_backend  # noqa: E402
from generation.backends.house import HouseBackend  # noqa: E402
from generation.house.display import display_frames  # noqa: E402
from generation.runner import spec_for  # noqa: E402
from generation.video import encode_mp4  # noqa: E402

TARGET_S = 10.0  # for a 2-second clip on 2 CPU cores
PROMPT = "a red ball bouncing on the beach"


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Seconds each of `runs` calls of `fn` took."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="a job's default")
    parser.add_argument("--guidance", type=float, default=5.0, help="a job's default")
    parser.add_argument("--aspect", default="9:16", choices=("9:16", "16:9", "1:1"))
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    start = time.perf_counter()
    backend = get_backend("riff-house")
    load_s = time.perf_counter() - start
    assert isinstance(backend, HouseBackend)
    spec = backend.fit(
        spec_for(
            model_key="riff-house",
            prompt=PROMPT,
            aspect=args.aspect,
            duration_s=2.0,
            steps=args.steps,
            guidance=args.guidance,
            seed=1,
        )
    )
    native = backend.native_spec(spec)

    def quiet(done: int, total: int) -> None:
        return None

    backend.generate(spec, quiet)  # warm up: first calls allocate and load MiniLM

    pipe = backend.pipe
    text = pipe.encode_prompt([PROMPT, ""])
    latents = torch.randn(2, 3, native.num_frames, native.height, native.width)
    timestep = torch.full((2,), 500.0)

    def forward() -> None:
        with torch.inference_mode():
            pipe.denoiser(latents, timestep, text.tokens, text.pooled, text.mask)

    forward_s = timed(forward, max(args.runs, 10))
    sample_s = timed(lambda: backend.sample(spec, quiet), args.runs)
    frames = backend.sample(spec, quiet)
    display_s = timed(
        lambda: display_frames(
            frames, width=spec.width, height=spec.height, num_frames=spec.num_frames
        ),
        args.runs,
    )
    generate_s = timed(lambda: backend.generate(spec, quiet), args.runs)
    video = backend.generate(spec, quiet)
    encode_s = timed(lambda: encode_mp4(video, fps=spec.fps), args.runs)
    mp4_kb = len(encode_mp4(video, fps=spec.fps)) / 1000

    print(
        f"riff-house from {backend.config.path}: {spec.num_frames / spec.fps:.1f} s clip, "
        f"{native.num_frames} model frames {native.width}x{native.height} -> "
        f"{spec.num_frames} frames {spec.width}x{spec.height} at {spec.fps} fps; "
        f"{spec.steps} steps, guidance {spec.guidance}; "
        f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads; "
        f"load {load_s:.2f} s; median of {args.runs} runs"
    )
    print(f"{'figure':<42}{'median s':>10}{'min s':>9}{'max s':>9}")
    rows = (
        ("denoiser forward, guided batch (baseline)", forward_s),
        ("prompt -> model frames (sample)", sample_s),
        ("model frames -> display frames", display_s),
        ("prompt -> display frames (generate)", generate_s),
        (f"display frames -> MP4 ({mp4_kb:.0f} kB)", encode_s),
    )
    for label, values in rows:
        print(
            f"{label:<42}{statistics.median(values):>10.3f}{min(values):>9.3f}{max(values):>9.3f}"
        )
    clip_s = statistics.median(generate_s) + statistics.median(encode_s)
    baseline = statistics.median(forward_s)
    print(
        f"generate / forward pass: {statistics.median(generate_s) / baseline:.1f}x "
        f"({spec.steps} steps would be {spec.steps}x with nothing else)"
    )
    verdict = "met" if clip_s <= TARGET_S else "MISSED"
    print(f"prompt -> MP4: {clip_s:.2f} s; target {TARGET_S:.0f} s for a 2-second clip: {verdict}")


if __name__ == "__main__":
    main()
