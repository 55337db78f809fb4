"""House-model scenes: render speed, the evaluator's accuracy per attribute, and how fast
worker processes draw training batches.

Renders held-out specs (half seen combinations, half unseen) at 32x32x8 and 64x64x16,
then scores each clip against its own spec (ground truth), with Gaussian noise added
(sigma 20/255), and against the next clip's spec (mismatched pairs: what a model that
ignores its caption would get). Then draws --batches training batches of 32 at 64x64x16
in this process (the baseline) and with --workers processes (generation/house/loader.py),
and prints batches/s and the ratio. Needs neither Django nor torch.

    .venv/bin/python bench/house_scenes.py [--n 300] [--seed 0] [--sigma 20] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.house.evaluator import ATTRIBUTES, accuracy, evaluate  # noqa: E402
from generation.house.loader import Batches  # noqa: E402
from generation.house.render import render  # noqa: E402
from generation.house.specs import held_out_specs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sigma", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batches", type=int, default=24)
    args = parser.parse_args()
    half = args.n // 2
    specs = held_out_specs("seen", half, args.seed) + held_out_specs(
        "unseen", args.n - half, args.seed
    )
    rng = np.random.default_rng(args.seed)
    print(f"{args.n} specs ({half} seen, {args.n - half} unseen combinations)")
    header = f"{'':>24}" + "".join(f"{a:>11}" for a in ATTRIBUTES)
    for size, frames in ((32, 8), (64, 16)):
        start = time.perf_counter()
        clips = [render(spec, size, frames) for spec in specs]
        render_s = time.perf_counter() - start
        noisy = [
            np.clip(c + rng.normal(0.0, args.sigma, c.shape), 0, 255).astype(np.uint8)
            for c in clips
        ]
        start = time.perf_counter()
        truth = [evaluate(c, s) for c, s in zip(clips, specs, strict=True)]
        eval_s = time.perf_counter() - start
        rows = {
            "ground truth": truth,
            f"noisy (sigma {args.sigma:g})": [
                evaluate(c, s) for c, s in zip(noisy, specs, strict=True)
            ],
            "mismatched": [evaluate(c, specs[(i + 1) % len(specs)]) for i, c in enumerate(clips)],
        }
        print(
            f"\n{size}x{size}x{frames}: render {len(clips) / render_s:.0f} clips/s, "
            f"evaluate {len(clips) / eval_s:.0f} clips/s (1 process)"
        )
        print(header)
        for name, results in rows.items():
            acc = accuracy(results)
            print(f"{name:>24}" + "".join(f"{acc.get(a, float('nan')):>11.3f}" for a in ATTRIBUTES))

    bench_batches(args.workers, args.batches, args.seed)


def bench_batches(workers: int, count: int, seed: int) -> None:
    """Training batches (32 clips of 64x64x16) a second, drawn in-process and by workers."""
    rates = {}
    for n in (0, workers):
        with Batches(seed=seed, batch_size=32, size=64, frames=16, workers=n) as batches:
            next(batches)  # workers started, the first batches queued
            start = time.perf_counter()
            for _ in range(count):
                next(batches)
            rates[n] = count / (time.perf_counter() - start)
    print(
        f"\ntraining batches (32 x 64x64x16): {rates[0]:.2f}/s in-process, "
        f"{rates[workers]:.2f}/s with {workers} workers ({rates[workers] / rates[0]:.2f}x)"
    )


if __name__ == "__main__":
    main()
