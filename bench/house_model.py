"""House model: seconds to make one 2-second clip on this machine's CPU, against a baseline.

Loads RIFF_MODELS["riff-house"] (the shipped weights, or RIFF_HOUSE_PATH) through the
backend a worker uses, warms it up, then times, median of --runs:

- the baseline: one denoiser forward pass on the guided batch (caption and empty caption),
  the unit a clip is made of (steps x 1 of them, plus the text encoder and the rest);
- prompt -> display frames (the whole `generate`: MiniLM, sampling, blending to 24 fps and
  upscaling to 512x912), split into the model's frames (`sample`) and the display step;
- display frames -> MP4 (H.264, as the worker encodes; no watermark or signature).

With --against, the same figures for other weights (a folder, or the shipped weights at a
git revision) beside them; with --eval N, each one's evaluator accuracy on N held-out captions
a row at the same steps and guidance. Torch keeps its default threads (all cores) unless
--threads is given.

    .venv/bin/python bench/house_model.py [--runs 5] [--steps 20] [--guidance 5] \
        [--against REV] [--eval 32]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development run, as bin/run and bin/test are
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from django.conf import settings  # noqa: E402

from generation.backends import get_backend, release_backends  # noqa: E402
from generation.backends.house import HouseBackend  # noqa: E402
from generation.house.display import display_frames  # noqa: E402
from generation.house.layout import layout_maps, plan_layout  # noqa: E402
from generation.house.training import evaluate_pipeline  # noqa: E402
from generation.runner import spec_for  # noqa: E402
from generation.video import encode_mp4  # noqa: E402

TARGET_S = 5.0  # for a 2-second clip on 2 CPU cores
PROMPT = "a red ball bouncing on the beach"


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Seconds each of `runs` calls of `fn` took."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def weights_at(source: str, scratch: Path) -> Path:
    """A weights folder: `source` itself, or the shipped folder as of git revision `source`."""
    path = Path(source)
    if path.is_dir():
        return path
    folder = "generation/house/weights"
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", source, folder], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(scratch, filter="data")
    return scratch / folder


def measure(path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Timings (and evaluator accuracy with --eval) of the weights at `path`."""
    settings.RIFF_MODELS["riff-house"]["path"] = str(path)
    release_backends()
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
    config: Any = pipe.denoiser.config
    layout = None
    if getattr(config, "layout_channels", 0):
        rows = plan_layout(PROMPT, native.height, native.num_frames, np.random.default_rng(1))
        layout = layout_maps(torch.from_numpy(np.stack([rows, rows])), native.height)

    def forward() -> None:
        with torch.inference_mode():
            pipe.denoiser(latents, timestep, text.tokens, text.pooled, text.mask, layout=layout)

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
    result: dict[str, Any] = {
        "path": path,
        "load_s": load_s,
        "spec": spec,
        "native": native,
        "rows": (
            ("denoiser forward, guided batch (baseline)", forward_s),
            ("prompt -> model frames (sample)", sample_s),
            ("model frames -> display frames", display_s),
            ("prompt -> display frames (generate)", generate_s),
            (f"display frames -> MP4 ({mp4_kb:.0f} kB)", encode_s),
        ),
        "clip_s": statistics.median(generate_s) + statistics.median(encode_s),
        "accuracy": None,
    }
    if args.eval:
        pipe.set_progress_bar_config(disable=True)
        result["accuracy"] = evaluate_pipeline(
            pipe, args.eval, seed=1, steps=args.steps, guidance=args.guidance
        )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="a job's default")
    parser.add_argument("--guidance", type=float, default=5.0, help="a job's default")
    parser.add_argument("--aspect", default="9:16", choices=("9:16", "16:9", "1:1"))
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    parser.add_argument(
        "--against",
        metavar="DIR_OR_REV",
        help="also measure other weights: a folder, or the shipped ones at a git revision",
    )
    parser.add_argument(
        "--eval", type=int, default=0, metavar="N", help="evaluator accuracy on N captions a row"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as scratch:
        models = [Path(settings.RIFF_MODELS["riff-house"]["path"])]
        if args.against:
            models.append(weights_at(args.against, Path(scratch)))
        results = [measure(path, args) for path in models]

    first = results[0]
    spec, native = first["spec"], first["native"]
    print(
        f"riff-house: {spec.num_frames / spec.fps:.1f} s clip, "
        f"{native.num_frames} model frames {native.width}x{native.height} -> "
        f"{spec.num_frames} frames {spec.width}x{spec.height} at {spec.fps} fps; "
        f"{spec.steps} steps, guidance {spec.guidance}; "
        f"{os.cpu_count()} cores, {torch.get_num_threads()} torch threads; "
        f"median of {args.runs} runs"
    )
    for name, result in zip(("new", "old"), results, strict=False):
        print(f"{name}: {result['path']} (load {result['load_s']:.2f} s)")
    names = ["new", "old"][: len(results)]
    print(f"{'figure (median s, min-max)':<42}" + "".join(f"{n:>20}" for n in names))
    for i, (label, _) in enumerate(first["rows"]):
        cells = []
        for result in results:
            values = result["rows"][i][1]
            cells.append(f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})")
        print(f"{label:<42}" + "".join(f"{c:>20}" for c in cells))
    for name, result in zip(names, results, strict=True):
        baseline = statistics.median(result["rows"][0][1])
        generate = statistics.median(result["rows"][3][1])
        verdict = "met" if result["clip_s"] <= TARGET_S else "MISSED"
        print(
            f"{name}: generate / forward pass {generate / baseline:.1f}x; prompt -> MP4 "
            f"{result['clip_s']:.2f} s; target {TARGET_S:.0f} s for a 2-second clip: {verdict}"
        )
    if args.eval:
        from generation.house.evaluator import ATTRIBUTES

        print(
            f"\nevaluator accuracy, {args.eval} held-out captions a row, "
            f"{args.steps} steps, guidance {args.guidance}:"
        )
        print("| model | set | " + " | ".join(ATTRIBUTES) + " |")
        print("|---" * (len(ATTRIBUTES) + 2) + "|")
        for name, result in zip(names, results, strict=True):
            for row, scores in result["accuracy"].items():
                cells = [f"{scores[a]:.0%}" if a in scores else "-" for a in ATTRIBUTES]
                print(f"| {name} | {row} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
