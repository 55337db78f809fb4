"""Train Riff's house text-to-video model on procedural scenes and export it for serving."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    """Train (or resume), checkpoint every N steps, export fp16 safetensors and TRAINING.md."""

    help = (
        "Train the house model (reproducible from --seed; --resume continues exactly from "
        "<out>/checkpoint.pt) and export a from_pretrained directory with a TRAINING.md."
    )

    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """Run, model, checkpoint, export and evaluation options."""
        parser.add_argument("--out", required=True, type=Path, help="run folder (checkpoint)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--steps", type=int, help="steps to run this time (default 1000; no cap with --minutes)"
        )
        parser.add_argument(
            "--minutes", type=float, help="stop after this many minutes of training"
        )
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--size", type=int, choices=(32, 64), default=32)
        parser.add_argument("--frames", type=int, help="default: 8 at 32, 16 at 64")
        parser.add_argument("--lr", type=float, default=3e-4)
        parser.add_argument("--warmup", type=int, default=200)
        parser.add_argument(
            "--object-weight", type=float, default=4.0, help="extra loss weight on objects"
        )
        parser.add_argument("--ema", type=float, default=0.0, help="EMA decay; 0 turns it off")
        parser.add_argument(
            "--prediction-type", choices=("x0", "velocity"), default="x0", help="the target"
        )
        parser.add_argument(
            "--frame-embedding",
            choices=("learned", "sinusoidal"),
            default="learned",
            help="frame-time positions",
        )
        parser.add_argument(
            "--temporal-head", action="store_true", help="the output head convolves over time"
        )
        parser.add_argument(
            "--input-skip", action="store_true", help="the output head also sees the input"
        )
        parser.add_argument(
            "--layout",
            action="store_const",
            const=2,
            default=0,
            dest="layout_channels",
            help="the model draws around where each object is (layout.py)",
        )
        parser.add_argument(
            "--sigma-sampling",
            choices=("uniform", "logit_normal"),
            default="uniform",
            help="how training draws noise levels",
        )
        parser.add_argument(
            "--frame-diff-weight",
            type=float,
            default=0.0,
            help="loss weight on consecutive-frame differences (0: off)",
        )
        start = parser.add_mutually_exclusive_group()
        start.add_argument("--resume", action="store_true", help="continue <out>/checkpoint.pt")
        start.add_argument(
            "--from-weights",
            type=Path,
            help="continue from exported weights (e.g. the shipped ones) where no checkpoint is",
        )
        parser.add_argument("--checkpoint-every", type=int, default=500, help="steps")
        parser.add_argument(
            "--checkpoint-minutes", type=float, default=1.0, help="and at least this often"
        )
        parser.add_argument(
            "--workers",
            type=int,
            help="processes drawing training batches ahead (default: 0 on a CPU, up to 8 "
            "spare cores with CUDA)",
        )
        parser.add_argument("--device", default="auto", help="auto (CUDA if any), cpu or cuda")
        parser.add_argument("--threads", type=int, help="torch CPU threads")
        parser.add_argument(
            "--weights-out", type=Path, help="export folder (default: <out>/weights)"
        )
        parser.add_argument("--max-mb", type=float, default=25.0, help="refuse bigger exports")
        parser.add_argument("--eval", type=int, default=0, metavar="N", help="clips per eval set")
        parser.add_argument("--eval-steps", type=int, default=25)
        parser.add_argument("--guidance", type=float, default=4.0)

    def handle(self, *args: Any, **options: Any) -> None:
        """Train, checkpoint, export, check the size, evaluate and write TRAINING.md."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from tqdm import tqdm

        from generation.house.model import PRESETS
        from generation.house.training import (
            TrainConfig,
            Trainer,
            evaluate_pipeline,
            pick_device,
            size_mb,
        )

        if options["threads"]:
            torch.set_num_threads(options["threads"])
        out: Path = options["out"]
        weights: Path = options["weights_out"] or out / "weights"
        device = pick_device(options["device"])
        config = TrainConfig(
            seed=options["seed"],
            batch_size=options["batch_size"],
            size=options["size"],
            frames=options["frames"] or PRESETS[options["size"]]["num_frames"],
            lr=options["lr"],
            warmup=options["warmup"],
            ema_decay=options["ema"],
            object_weight=options["object_weight"],
            sigma_sampling=options["sigma_sampling"],
            frame_diff_weight=options["frame_diff_weight"],
            model=_model_options(options),
        )
        if options["resume"]:
            try:
                trainer = Trainer.resume(out, config, device)
            except FileNotFoundError:
                raise CommandError(f"nothing to resume: no {out / 'checkpoint.pt'}") from None
            except ValueError as error:
                raise CommandError(str(error)) from None
        else:
            if (out / "checkpoint.pt").exists():
                raise CommandError(
                    f"{out} already has a checkpoint: pass --resume or another --out"
                )
            if options["from_weights"]:
                try:
                    trainer = Trainer.from_weights(options["from_weights"], config, device)
                except FileNotFoundError as missing:
                    raise CommandError(
                        f"{options['from_weights']} can't be continued: no {missing}"
                    ) from None
                except ValueError as error:
                    raise CommandError(str(error)) from None
            else:
                trainer = Trainer(config, device)
        first = trainer.step
        minutes = options["minutes"]
        steps = options["steps"] or (10**9 if minutes else 1000)
        every = max(1, options["checkpoint_every"])
        workers = options["workers"]
        if workers is None:
            workers = min(8, (os.cpu_count() or 1) - 1) if device.startswith("cuda") else 0
        self.stdout.write(
            f"house model: {trainer.parameters():,} parameters on {device}, from step {first}"
            + (f" for {steps} steps" if steps < 10**9 else "")
            + (f" for at most {minutes:g} minutes" if minutes else "")
            + (f"; {workers} processes draw the batches" if workers else "")
        )

        bar = tqdm(
            total=first + steps if steps < 10**9 else None,
            initial=first,
            file=self.stderr,
            unit="step",
        )
        started = time.monotonic()
        deadline = started + 60 * minutes if minutes else None
        saved = [started]

        def on_step(step: int, loss: float) -> None:
            bar.update(1)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{trainer.recent_loss(10):.4f}")
            now = time.monotonic()
            if step % every == 0 or now - saved[0] >= 60 * options["checkpoint_minutes"]:
                trainer.save_checkpoint(out)
                saved[0] = now

        try:
            trainer.run(steps, on_step, workers=workers, deadline=deadline)
        finally:
            bar.close()
        run_s = time.monotonic() - started
        options["steps"] = trainer.step - first  # what TRAINING.md says this run did
        trainer.save_checkpoint(out)

        kept = _kept_sections(weights / "TRAINING.md")  # the export replaces the folder
        trainer.export(weights)
        mb = size_mb(weights)
        if mb > options["max_mb"]:
            raise CommandError(f"{weights} is {mb:.1f} MB, over --max-mb {options['max_mb']}")
        evaluation = None
        if options["eval"]:
            from generation.house.pipeline import HouseVideoPipeline

            pipe = HouseVideoPipeline.from_pretrained(str(weights), dtype=torch.float32)
            pipe.to(device)
            pipe.set_progress_bar_config(disable=True)
            evaluation = evaluate_pipeline(
                pipe,
                options["eval"],
                seed=options["seed"],
                steps=options["eval_steps"],
                guidance=options["guidance"],
            )
        record = _training_record(trainer, device, run_s, mb, evaluation, options)
        (weights / "TRAINING.md").write_text(record + kept)
        self.stdout.write(
            self.style.SUCCESS(
                f"step {trainer.step}: loss {trainer.recent_loss():.4f}, "
                f"{options['steps'] / max(run_s, 1e-9):.2f} steps/s; "
                f"exported {mb:.1f} MB to {weights}"
            )
        )


def _training_record(
    trainer: Any,
    device: str,
    run_s: float,
    mb: float,
    evaluation: dict[str, dict[str, float]] | None,
    options: dict[str, Any],
) -> str:
    """TRAINING.md: how these weights were made and how well they do."""
    import torch

    config = trainer.config
    model: Any = trainer.model.config
    hardware = (
        torch.cuda.get_device_name()
        if device.startswith("cuda")
        else f"{platform.machine()}, {os.cpu_count()} cores"
    )
    lines = [
        "# Riff house model: training record",
        "",
        f"- Command (last run): `python manage.py train_house_model {shlex.join(sys.argv[2:])}`"
        if len(sys.argv) > 2 and sys.argv[1] == "train_house_model"
        else f"- Options (last run): `{_options_line(options)}`",
        f"- Steps: {trainer.step} in all ({options['steps']} in the last run)",
        f"- Seed: {config.seed}; batch {config.batch_size}; "
        f"clips {config.size}x{config.size}x{config.frames}",
        f"- Learning rate {config.lr} (warm-up {config.warmup} steps, then constant); "
        f"EMA {config.ema_decay or 'off'}; text dropout {config.text_dropout}; "
        f"object loss weight {config.object_weight or 'off'}; "
        f"noise levels {config.sigma_sampling.replace('_', '-')}; "
        f"frame-difference loss weight {config.frame_diff_weight or 'off'}",
        f"- Model: {trainer.parameters():,} parameters; patch {model.patch_size}, "
        f"width {model.width}, {model.num_layers} layers, {model.num_heads} heads; "
        f"{model.frame_embedding} frame positions; "
        f"{'3-D' if model.temporal_head else 'per-frame'} output head"
        f"{' with the input' if model.input_skip else ''}; "
        f"{'draws around a layout of the objects; ' if _layout(model) else ''}"
        f"predicts {model.prediction_type} under rectified flow",
        f"- Exported: {mb:.1f} MB (fp16 safetensors)",
        f"- Device: {device} ({hardware or 'unknown'}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads",
        f"- Time: {trainer.elapsed_s / 60:.1f} min of training in all; last run {run_s:.0f} s "
        f"({options['steps'] / max(run_s, 1e-9):.2f} steps/s)",
        f"- Final loss (mean of the last 50 steps): {trainer.recent_loss():.4f}",
    ]
    if evaluation:
        from generation.house.evaluator import ATTRIBUTES

        lines += [
            "",
            f"## Evaluator accuracy ({options['eval']} held-out captions a row, "
            f"{options['eval_steps']} steps, guidance {options['guidance']})",
            "",
            "| set | " + " | ".join(ATTRIBUTES) + " |",
            "|---" * (len(ATTRIBUTES) + 1) + "|",
        ]
        for name, scores in evaluation.items():
            cells = [f"{scores[a]:.0%}" if a in scores else "-" for a in ATTRIBUTES]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# Sections of an existing TRAINING.md that a new export keeps (at the end, in this order).
KEPT_SECTIONS = ("## Side-by-side runs",)


def _kept_sections(path: Path) -> str:
    """The kept sections of the TRAINING.md at `path` (each to the next level-2 heading)."""
    if not path.is_file():
        return ""
    kept: list[str] = []
    keeping = False
    for line in path.read_text().splitlines():
        if line.startswith("## "):
            keeping = line.startswith(KEPT_SECTIONS)
        if keeping:
            kept.append(line)
    return "\n" + "\n".join(kept) + "\n" if kept else ""


# The model's switches that are command options (with the same names, dashed).
MODEL_SWITCHES = (
    "prediction_type",
    "frame_embedding",
    "temporal_head",
    "input_skip",
    "layout_channels",
)


def _layout(model: Any) -> bool:
    """Whether a denoiser config draws around a layout (configs before layouts don't)."""
    return bool(getattr(model, "layout_channels", 0))


def _model_options(options: dict[str, Any]) -> dict[str, Any]:
    """The model's config overrides for the options that differ from today's model (the
    denoiser's own defaults)."""
    import inspect

    from generation.house.model import HouseDenoiser

    defaults = inspect.signature(HouseDenoiser.__init__).parameters
    # Only the changes, so that a checkpoint made before these options still resumes.
    return {k: options[k] for k in MODEL_SWITCHES if options[k] != defaults[k].default}


def _options_line(options: dict[str, Any]) -> str:
    keys = [
        "seed",
        "steps",
        "minutes",
        "batch_size",
        "size",
        "frames",
        "lr",
        "warmup",
        "ema",
        "device",
    ]
    return " ".join(f"--{k.replace('_', '-')} {options[k]}" for k in keys if options.get(k))
