"""House model: short side-by-side training runs at equal CPU time, evaluated and tracked.

Each variant is a `TrainConfig` (today's model, or one suspect of why it learns no shape
or motion switched on), trained from scratch with the same seed, batch and data for the
same process CPU time on one torch thread, checkpointed and exported; then every exported
model is evaluated with
the evaluator (32 held-out captions a row, 25 steps, guidance 4, as `evaluate_pipeline`
does) and with the frame-to-frame tracking measure against the real rendered clips, and
one table is printed.

    # everything, one run at a time, in the background (about 17 minutes a variant):
    nohup .venv/bin/python bench/house_side_by_side.py all --minutes 15 \
        > /tmp/house_sbs/all.log 2>&1 &
    .venv/bin/python bench/house_side_by_side.py table    # the table of what has finished

`train NAME` and `eval NAME...` run one step each (`all` runs them in fresh processes, so
that each variant starts with the code as it is at that moment).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RUNS = Path("/tmp/house_sbs")  # noqa: S108  # scratch runs, one user, as the brief asks
# Shared by every variant: the shipped model's recipe (seed 1, batch 32, lr 3e-4 with 200
# warm-up steps, object loss weight 4), without EMA: at ~1,000 steps an EMA of 0.999 would
# still carry the first minutes' weights.
COMMON: dict[str, Any] = {"seed": 1, "batch_size": 32, "object_weight": 4.0, "ema_decay": 0.0}
VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "time": {"model": {"frame_embedding": "sinusoidal", "temporal_head": True}},
    # The head sees the noisy input: a velocity carries its noise, which the tokens can't.
    "velocity": {"model": {"prediction_type": "velocity", "input_skip": True}},
    "logit-normal": {"sigma_sampling": "logit_normal"},
    "frame-diff": {"frame_diff_weight": 1.0},
    # The first round's choice, and the same with the objects' places given (layout.py).
    "chosen": {
        "sigma_sampling": "logit_normal",
        "model": {"frame_embedding": "sinusoidal", "temporal_head": True},
    },
    "layout": {
        "sigma_sampling": "logit_normal",
        "model": {"frame_embedding": "sinusoidal", "temporal_head": True, "layout_channels": 2},
    },
    # The long round (TRAINING.md): "layout" continued, and the same model with 4x the steps
    # for the same work (batch 8) and a lighter object weight, each trained by the command.
    "layout-long": {
        "sigma_sampling": "logit_normal",
        "model": {"frame_embedding": "sinusoidal", "temporal_head": True, "layout_channels": 2},
    },
    "layout-batch8": {
        "batch_size": 8,
        "object_weight": 1.0,
        "sigma_sampling": "logit_normal",
        "model": {"frame_embedding": "sinusoidal", "temporal_head": True, "layout_channels": 2},
    },
}


def setup() -> None:
    """Django (MiniLM lives in core) and one torch thread: the other core is someone else's."""
    import django
    import torch

    django.setup()
    torch.set_num_threads(1)


def config_for(name: str) -> Any:
    """The TrainConfig of variant `name`."""
    from generation.house.training import TrainConfig

    return TrainConfig(**{**COMMON, **VARIANTS[name]})


def train(name: str, minutes: float, root: Path) -> None:
    """Train variant `name` from scratch for `minutes` of process CPU time, then export it."""
    setup()
    import torch

    from generation.house.training import Trainer

    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    config = config_for(name)
    trainer = Trainer(config)
    budget = minutes * 60.0
    print(f"{name}: {trainer.parameters():,} parameters; {config}", flush=True)
    cpu0, wall0 = time.process_time(), time.monotonic()
    next_checkpoint = 300.0
    while (cpu := time.process_time() - cpu0) < budget:
        trainer.run(1)
        if trainer.step % 50 == 0:
            print(
                f"step {trainer.step} loss {trainer.recent_loss(50):.4f} "
                f"cpu {cpu:.0f}s wall {time.monotonic() - wall0:.0f}s",
                flush=True,
            )
        if cpu > next_checkpoint:
            trainer.save_checkpoint(out)
            next_checkpoint += 300.0
    cpu_s, wall_s = time.process_time() - cpu0, time.monotonic() - wall0
    trainer.save_checkpoint(out)
    trainer.export(out / "weights")
    record = {
        "name": name,
        "config": VARIANTS[name],
        "parameters": trainer.parameters(),
        "steps": trainer.step,
        "cpu_s": cpu_s,
        "wall_s": wall_s,
        "steps_per_s": trainer.step / cpu_s,
        "loss": trainer.recent_loss(50),
        "threads": torch.get_num_threads(),
    }
    (out / "train.json").write_text(json.dumps(record, indent=1))
    print(json.dumps(record), flush=True)


def evaluate(names: list[str], n: int, root: Path) -> None:
    """Evaluator accuracy and tracking figures of each exported variant, saved as JSON."""
    setup()
    import torch

    from generation.house.pipeline import HouseVideoPipeline
    from generation.house.tracking import TrackingTally
    from generation.house.training import evaluate_pipeline

    for name in names:
        started = time.monotonic()
        pipe = HouseVideoPipeline.from_pretrained(str(root / name / "weights"), dtype=torch.float32)
        pipe.set_progress_bar_config(disable=True)
        tally = TrackingTally()
        accuracy = evaluate_pipeline(pipe, n, seed=1, observe=tally.add)
        record = {"accuracy": accuracy, "tracking": tally.summary(), "n": n}
        (root / name / "eval.json").write_text(json.dumps(record, indent=1))
        print(f"{name}: evaluated in {time.monotonic() - started:.0f} s", flush=True)
        print(json.dumps(record), flush=True)


def table(root: Path) -> str:
    """One table of every variant that has a train.json (and eval.json when evaluated)."""
    from generation.house.evaluator import ATTRIBUTES

    lines = [
        "| variant | steps | steps/s | CPU min | loss | set | " + " | ".join(ATTRIBUTES) + " |",
        "|---" * (len(ATTRIBUTES) + 6) + "|",
    ]
    tracking_lines = [
        "| variant | travel along caption, px (real) | moved >= 2 px the right way "
        "| consecutive-frame change, 0-255 (real) | area / real (median) "
        "| growth last/first (real) | object found | clips (directional) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in VARIANTS:
        train_json = root / name / "train.json"
        if not train_json.exists():
            continue
        t = json.loads(train_json.read_text())
        head = (
            f"| {name} | {t['steps']:,} | {t['steps_per_s']:.2f} | {t['cpu_s'] / 60:.1f} "
            f"| {t['loss']:.4f} "
        )
        eval_json = root / name / "eval.json"
        if not eval_json.exists():
            lines.append(head + "| (not evaluated) |" + " |" * len(ATTRIBUTES))
            continue
        e = json.loads(eval_json.read_text())
        for i, (row, scores) in enumerate(e["accuracy"].items()):
            cells = [f"{scores[a]:.0%}" if a in scores else "-" for a in ATTRIBUTES]
            prefix = head if i == 0 else "| | | | | "
            lines.append(prefix + f"| {row} | " + " | ".join(cells) + " |")
        tr = e["tracking"]
        tracking_lines.append(
            f"| {name} | {tr['travel']:.1f} ({tr['real_travel']:.1f}) | {tr['right_way']:.0%} "
            f"| {tr['change']:.1f} ({tr['real_change']:.1f}) | {tr['area_ratio']:.2f} "
            f"| {tr['growth']:.2f} ({tr['real_growth']:.2f}) | {tr['found']:.0%} "
            f"| {tr['clips']} ({tr['directional_clips']}) |"
        )
    return "\n".join(lines) + "\n\n" + "\n".join(tracking_lines)


def run_all(names: list[str], minutes: float, n: int, root: Path, deadline: str) -> None:
    """Train every variant, one at a time, then evaluate them; skip what would overrun."""
    hour, minute = map(int, deadline.split(":"))
    now = dt.datetime.now(dt.UTC)
    end = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    me = [sys.executable, __file__]
    for name in names:
        if (root / name / "train.json").exists():
            continue
        left = (end - dt.datetime.now(dt.UTC)).total_seconds()
        if left < minutes * 60 * 1.1 + 240:
            print(f"skipping {name}: {left / 60:.0f} min left before {deadline}", flush=True)
            continue
        log = root / f"{name}.train.log"
        with log.open("w") as f:
            subprocess.run([*me, "train", name, "--minutes", str(minutes)], stdout=f, stderr=f)
    for name in names:
        if not (root / name / "train.json").exists() or (root / name / "eval.json").exists():
            continue
        left = (end - dt.datetime.now(dt.UTC)).total_seconds()
        if left < 240:
            print(f"not evaluating {name}: {left / 60:.0f} min left", flush=True)
            continue
        with (root / f"{name}.eval.log").open("w") as f:
            subprocess.run([*me, "eval", name, "--n", str(n)], stdout=f, stderr=f)
    print(table(root), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=RUNS)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train")
    p.add_argument("name", choices=list(VARIANTS))
    p.add_argument("--minutes", type=float, default=15.0)
    p = sub.add_parser("eval")
    p.add_argument("names", nargs="+", choices=list(VARIANTS))
    p.add_argument("--n", type=int, default=32)
    p = sub.add_parser("all")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--minutes", type=float, default=15.0)
    p.add_argument("--n", type=int, default=32)
    p.add_argument("--deadline", default="22:13", help="UTC; nothing starts that would pass it")
    sub.add_parser("table")
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    if args.command == "train":
        train(args.name, args.minutes, args.root)
    elif args.command == "eval":
        evaluate(args.names, args.n, args.root)
    elif args.command == "all":
        run_all(args.variants, args.minutes, args.n, args.root, args.deadline)
    else:
        print(table(args.root))


if __name__ == "__main__":
    main()
