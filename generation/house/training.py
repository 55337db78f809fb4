"""Training the house model on procedural scenes: reproducible, resumable, exportable.

Everything random in step `n` (the batch of scenes, the noise, the noise levels and which
captions are dropped for guidance) is drawn from generators seeded by (seed, n), so a run is
fully determined by its seed and a resumed run continues exactly where a checkpoint stopped:
two runs of 2,000 steps give the same weights as one of 4,000 (on the CPU; CUDA kernels are
not bit-exact). The learning rate warms up and then stays constant, so a run's length never
changes its earlier steps.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .layout import layout_maps
from .loader import Batches, render_batch, step_seed
from .model import HouseDenoiser, build_denoiser
from .pipeline import MAX_TEXT_TOKENS, HouseVideoPipeline, TextEmbedding, encode_text

if TYPE_CHECKING:
    from .specs import Sample

CHECKPOINT = "checkpoint.pt"
# Written beside exported weights: what a later run needs to continue from them alone.
TRAINING_STATE = "training_state.json"


@dataclass(frozen=True)
class TrainConfig:
    """What determines a run (a resumed run must match its checkpoint's)."""

    seed: int = 0
    batch_size: int = 32
    size: int = 32
    frames: int = 8
    lr: float = 3e-4
    warmup: int = 200
    weight_decay: float = 0.01
    ema_decay: float = 0.0  # 0 turns EMA off
    text_dropout: float = 0.1
    # Extra loss weight on object pixels (0 turns it off): objects cover ~5-15% of a frame, so
    # a plain MSE is mostly background, which the model learns first and best.
    object_weight: float = 0.0
    # How noise levels are drawn: "uniform" in [0, 1], or "logit_normal" (sigmoid of a
    # standard normal, as SD3), which spends the steps on middling noise, where the layout
    # of a clip is decided, rather than on the ends.
    sigma_sampling: str = "uniform"
    # Extra loss on the differences between consecutive frames of the predicted clean clip
    # (0 turns it off): frame-to-frame consistency, which a per-pixel loss doesn't ask for.
    frame_diff_weight: float = 0.0
    # Overrides of the size's preset, e.g. prediction_type, frame_embedding, temporal_head.
    model: dict[str, Any] = field(default_factory=dict)


class CaptionCache:
    """MiniLM embeddings of captions, computed once each (up to `limit` captions kept)."""

    def __init__(self, max_tokens: int = MAX_TEXT_TOKENS, limit: int = 50_000) -> None:
        """Empty; `limit` bounds the memory (about 10 KB a caption)."""
        self.max_tokens = max_tokens
        self.limit = limit
        self._rows: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.hits = self.misses = 0

    def embed(self, captions: list[str]) -> TextEmbedding:
        """Embeddings of `captions`, float32 on the CPU (rounded to fp16 whether cached or not)."""
        rows = {c: self._rows[c] for c in captions if c in self._rows}
        missing = [c for c in dict.fromkeys(captions) if c not in rows]
        self.hits += len(captions) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = encode_text(missing, self.max_tokens)
            for i, caption in enumerate(missing):
                n = int(fresh.mask[i].sum())
                row = (fresh.tokens[i, :n].half(), fresh.pooled[i].half())
                rows[caption] = row
                if len(self._rows) < self.limit:
                    self._rows[caption] = row
        tokens = torch.zeros(len(captions), self.max_tokens, rows[captions[0]][1].shape[0])
        mask = torch.zeros(len(captions), self.max_tokens, dtype=torch.long)
        pooled = torch.stack([rows[c][1] for c in captions]).float()
        for i, caption in enumerate(captions):
            caption_tokens = rows[caption][0]
            tokens[i, : len(caption_tokens)] = caption_tokens.float()
            mask[i, : len(caption_tokens)] = 1
        return TextEmbedding(tokens, mask, pooled)


def to_clips(frames: np.ndarray, device: Any) -> torch.Tensor:
    """uint8 (B, T, H, W, 3) to float (B, 3, T, H, W) in [-1, 1] on `device`."""
    clips = torch.from_numpy(frames).to(device).permute(0, 4, 1, 2, 3).float()
    return clips / 127.5 - 1.0


def object_mask(clips: torch.Tensor, threshold: float = 0.12) -> torch.Tensor:
    """1 where a pixel of (B, C, T, H, W) clips in [-1, 1] stands off its background, else 0.

    A background is a vertical gradient with a light texture, so each row's median over
    time and width (objects cover less than half of any row) estimates it.
    """
    b, c, t, h, w = clips.shape
    rows = clips.permute(0, 1, 3, 2, 4).reshape(b, c, h, t * w)
    background = rows.median(dim=-1).values[:, :, None, :, None]  # (B, C, 1, H, 1)
    distance = (clips - background).abs().amax(dim=1, keepdim=True)
    return (distance > threshold).float()


def batch_for(config: TrainConfig, step: int) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The training batch of step `step` (its own stream of scenes, so any step can be drawn)."""
    return render_batch(config.seed, step, config.batch_size, config.size, config.frames)


def pick_device(name: str) -> str:
    """ "auto" picks CUDA when there is one."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


SIGMA_SAMPLINGS = ("uniform", "logit_normal")


def sample_sigmas(kind: str, n: int, generator: torch.Generator) -> torch.Tensor:
    """`n` noise levels in [0, 1] drawn as `kind` says (see TrainConfig.sigma_sampling)."""
    if kind == "uniform":
        return torch.rand(n, generator=generator)
    if kind == "logit_normal":
        return torch.sigmoid(torch.randn(n, generator=generator))
    raise ValueError(f"sigma_sampling {kind!r} not in {SIGMA_SAMPLINGS}")


class Trainer:
    """The denoiser, its optimiser, schedule and EMA, stepped on procedural batches."""

    def __init__(self, config: TrainConfig, device: str = "cpu") -> None:
        """A fresh model seeded from the config's seed."""
        from diffusers.optimization import get_constant_schedule_with_warmup
        from diffusers.training_utils import EMAModel

        if config.sigma_sampling not in SIGMA_SAMPLINGS:
            raise ValueError(f"sigma_sampling {config.sigma_sampling!r} not in {SIGMA_SAMPLINGS}")
        self.config = config
        self.device = device
        torch.manual_seed(config.seed)
        model = build_denoiser(config.size, num_frames=config.frames, **config.model)
        # nn.Module.to: diffusers' ModelMixin.to is typed for dtypes only.
        self.model: HouseDenoiser = torch.nn.Module.to(model, device)
        self.model.train()
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        self.lr_schedule = get_constant_schedule_with_warmup(self.optimizer, config.warmup)
        self.ema = (
            EMAModel(
                self.model.parameters(),
                decay=config.ema_decay,
                model_cls=HouseDenoiser,
                model_config=self.model.config,
            )
            if config.ema_decay > 0
            else None
        )
        self.captions = CaptionCache()
        self.empty = encode_text([""]).to("cpu")
        self.step = 0
        self.elapsed_s = 0.0  # training time over all runs of this model
        self.losses: list[float] = []
        # Half precision on a GPU is several times faster; the CPU stays in float32.
        self.autocast = device.startswith("cuda")

    def parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.model.parameters())

    def loss(
        self, frames: np.ndarray, captions: list[str], step: int, layouts: np.ndarray | None = None
    ) -> torch.Tensor:
        """The loss on one batch, with step `step`'s noise and caption dropout.

        `layouts` (B, 2, 3) are the batch's layouts, which a layout-conditioned model needs.

        The model's target is the clean clip or the velocity (its `prediction_type`); the
        frame-difference term, when on, compares the clean clip that either implies.
        """
        generator = torch.Generator().manual_seed(step_seed(self.config.seed, step, 1))
        clips = to_clips(frames, self.device)
        b = clips.shape[0]
        sigma = sample_sigmas(self.config.sigma_sampling, b, generator)
        noise = torch.randn(clips.shape, generator=generator)
        dropped = torch.rand(b, generator=generator) < self.config.text_dropout
        text = self.captions.embed(captions)
        empty = self.empty
        text = TextEmbedding(
            torch.where(dropped[:, None, None], empty.tokens, text.tokens),
            torch.where(dropped[:, None], empty.mask, text.mask),
            torch.where(dropped[:, None], empty.pooled, text.pooled),
        ).to(self.device)
        sigma, noise = sigma.to(self.device), noise.to(self.device)
        s = sigma[:, None, None, None, None]
        noisy = (1 - s) * clips + s * noise
        model_config: Any = self.model.config
        maps = None
        if getattr(model_config, "layout_channels", 0):
            if layouts is None:
                raise ValueError("a layout-conditioned model trains on layouts; none were given")
            maps = layout_maps(torch.from_numpy(layouts).to(self.device), clips.shape[-1])
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.autocast):
            predicted = self.model(
                noisy,
                sigma * 1000,
                encoder_hidden_states=text.tokens,
                pooled_text=text.pooled,
                encoder_attention_mask=text.mask,
                layout=maps,
            )
        predicted = predicted.float()
        velocity = model_config.prediction_type == "velocity"
        target = noise - clips if velocity else clips
        error = (predicted - target) ** 2
        if self.config.object_weight:
            error = error * (1 + self.config.object_weight * object_mask(clips))
        loss = error.mean()
        if self.config.frame_diff_weight:
            x0 = noisy - s * predicted if velocity else predicted
            change = x0.diff(dim=2) - clips.diff(dim=2)
            loss = loss + self.config.frame_diff_weight * (change**2).mean()
        return loss

    def train_step(
        self, frames: np.ndarray, captions: list[str], layouts: np.ndarray | None = None
    ) -> float:
        """One optimiser step on a batch; returns its loss."""
        started = time.monotonic()
        loss = self.loss(frames, captions, self.step, layouts)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.lr_schedule.step()
        if self.ema is not None:
            self.ema.step(self.model.parameters())
        self.step += 1
        value = float(loss.detach())
        self.losses.append(value)
        del self.losses[:-1000]
        self.elapsed_s += time.monotonic() - started
        return value

    def run(
        self,
        steps: int,
        on_step: Callable[[int, float], None] | None = None,
        *,
        workers: int = 0,
        deadline: float | None = None,
    ) -> None:
        """`steps` more steps on the procedural batches (fewer if time.monotonic() passes
        `deadline` first), calling on_step(step, loss) after each. `workers` processes draw
        the batches ahead (loader.py; 0: this process draws each when it is needed); the
        batches, and so the weights, are the same either way."""
        cfg = self.config
        with Batches(
            seed=cfg.seed,
            batch_size=cfg.batch_size,
            size=cfg.size,
            frames=cfg.frames,
            first=self.step,
            workers=workers,
        ) as batches:
            for _ in range(steps):
                if deadline is not None and time.monotonic() >= deadline:
                    break
                started = time.monotonic()
                frames, captions, layouts = next(batches)
                self.elapsed_s += time.monotonic() - started
                loss = self.train_step(frames, captions, layouts)
                if on_step is not None:
                    on_step(self.step, loss)

    def recent_loss(self, n: int = 50) -> float:
        """Mean loss of the last `n` steps (nan before any)."""
        return float(np.mean(self.losses[-n:])) if self.losses else float("nan")

    def save_checkpoint(self, out: Path) -> Path:
        """Write everything needed to resume into out/checkpoint.pt (replaced atomically)."""
        out.mkdir(parents=True, exist_ok=True)
        state = {
            "config": asdict(self.config),
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "losses": self.losses,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "lr_schedule": self.lr_schedule.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            # Steps draw from their own seeded generators; this covers anything that doesn't.
            "torch_rng": torch.get_rng_state(),
            "numpy_rng": np.random.get_state(),
        }
        path = out / CHECKPOINT
        partial = out / (CHECKPOINT + ".partial")
        torch.save(state, partial)
        os.replace(partial, path)
        return path

    @classmethod
    def resume(cls, out: Path, config: TrainConfig, device: str = "cpu") -> Trainer:
        """The trainer saved in out/checkpoint.pt; ValueError if `config` differs from its own."""
        state = torch.load(out / CHECKPOINT, map_location=device, weights_only=False)
        saved = TrainConfig(**state["config"])
        _check_same(saved, config, "the checkpoint was")
        trainer = cls(saved, device)
        trainer.model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.lr_schedule.load_state_dict(state["lr_schedule"])
        if trainer.ema is not None:
            trainer.ema.load_state_dict(state["ema"])
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["numpy_rng"])
        trainer.step = state["step"]
        trainer.elapsed_s = state["elapsed_s"]
        trainer.losses = list(state["losses"])
        return trainer

    @classmethod
    def from_weights(cls, path: Path, config: TrainConfig, device: str = "cpu") -> Trainer:
        """A trainer continuing from exported weights (a pipeline folder with its
        TRAINING_STATE), for a machine that no longer has the run's checkpoint.

        Its step count and training time go on from the export's; the optimiser starts
        afresh (and warms up again), and the weights are the export's fp16 ones, so this is
        close to, not exactly, an uninterrupted run. ValueError if `config` differs."""
        state_file = path / TRAINING_STATE
        if not state_file.is_file():
            raise FileNotFoundError(state_file)
        state = json.loads(state_file.read_text())
        _check_same(TrainConfig(**state["config"]), config, "the weights were")
        trainer = cls(config, device)
        exported = HouseDenoiser.from_pretrained(str(path / "denoiser"))
        trainer.model.load_state_dict({k: v.float() for k, v in exported.state_dict().items()})
        if trainer.ema is not None:
            trainer.ema.shadow_params = [p.clone().detach() for p in trainer.model.parameters()]
        trainer.step = int(state["step"])
        trainer.elapsed_s = float(state["elapsed_s"])
        return trainer

    def shipping_model(self) -> HouseDenoiser:
        """A copy of the weights to ship (the EMA ones when EMA is on), in eval mode."""
        model = copy.deepcopy(self.model)
        if self.ema is not None:
            self.ema.copy_to(model.parameters())
        return model.eval()

    def export(self, path: Path, dtype: torch.dtype = torch.float16) -> HouseVideoPipeline:
        """Save a from_pretrained pipeline directory (safetensors) at `path`, replacing it."""
        from diffusers import FlowMatchEulerDiscreteScheduler

        model = self.shipping_model()
        # nn.Module.to, not ModelMixin.to: diffusers warns about casting a model that keeps
        # modules in float32, and this one keeps none.
        torch.nn.Module.to(model, "cpu", dtype)
        pipe = HouseVideoPipeline(model, FlowMatchEulerDiscreteScheduler())
        # Written beside the target and moved into place, so a crash never leaves half a model.
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        pipe.save_pretrained(str(partial), safe_serialization=True)
        record = {"config": asdict(self.config), "step": self.step, "elapsed_s": self.elapsed_s}
        (partial / TRAINING_STATE).write_text(json.dumps(record, indent=1) + "\n")
        shutil.rmtree(path, ignore_errors=True)
        partial.rename(path)
        return pipe


def _check_same(saved: TrainConfig, config: TrainConfig, what: str) -> None:
    """ValueError naming the settings in which `config` differs from the `saved` run's."""
    if saved != config:
        changed = {
            k: (v, getattr(config, k)) for k, v in asdict(saved).items() if asdict(config)[k] != v
        }
        raise ValueError(f"{what} trained with other settings: {changed}")


def size_mb(path: Path) -> float:
    """Megabytes taken by the files under `path`."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


EVAL_SETS = (
    ("seen", "train"),
    ("seen", "held_out"),
    ("unseen", "train"),
    ("unseen", "held_out"),
)


def evaluate_pipeline(
    pipe: HouseVideoPipeline,
    n: int,
    *,
    seed: int = 0,
    steps: int = 25,
    guidance: float = 4.0,
    batch: int = 16,
    observe: Callable[[np.ndarray, Sample], None] | None = None,
) -> dict[str, dict[str, float]]:
    """Evaluator accuracy on `n` held-out captions per (combinations, templates) set.

    "seen"/"unseen": colour-shape and shape-motion combinations that do or don't occur in
    training; "train"/"held_out": caption templates used in training or never seen.
    `observe(clip, sample)` sees each generated clip beside its sample (e.g. to track it).
    """
    from .evaluator import accuracy, evaluate
    from .scenes import held_out_samples

    config: Any = pipe.denoiser.config
    results: dict[str, dict[str, float]] = {}
    generator = torch.Generator().manual_seed(seed)
    for kind, templates in EVAL_SETS:
        samples = held_out_samples(
            kind,  # type: ignore[arg-type]
            n,
            seed,
            size=config.sample_size,
            frames=config.num_frames,
            templates=templates,  # type: ignore[arg-type]
        )
        checks = []
        for start in range(0, len(samples), batch):
            chunk = samples[start : start + batch]
            clips = pipe(
                [s.caption for s in chunk],
                num_inference_steps=steps,
                guidance_scale=guidance,
                generator=generator,
            )
            checks += [evaluate(clip, s.spec) for clip, s in zip(clips, chunk, strict=True)]
            if observe is not None:
                for clip, sample in zip(clips, chunk, strict=True):
                    observe(clip, sample)
        results[f"{kind} combinations, {templates.replace('_', '-')} templates"] = accuracy(checks)
    return results
