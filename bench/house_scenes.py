"""House-model scenes: render speed, and the evaluator's accuracy per attribute.

Renders held-out specs (half seen combinations, half unseen) at 32x32x8 and 64x64x16,
then scores each clip against its own spec (ground truth), with Gaussian noise added
(sigma 20/255), and against the next clip's spec (mismatched pairs: what a model that
ignores its caption would get). Needs neither Django nor torch.

    .venv/bin/python bench/house_scenes.py [--n 300] [--seed 0] [--sigma 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.house.evaluator import ATTRIBUTES, accuracy, evaluate  # noqa: E402
from generation.house.render import render  # noqa: E402
from generation.house.specs import held_out_specs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sigma", type=float, default=20.0)
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


if __name__ == "__main__":
    main()
