"""Riff's house model backend: the small text-to-video model trained by train_house_model.

Duration and frame rate: the model samples square clips at its native size (32x32, 8 frames;
read from the saved denoiser's config) whose frames are `MODEL_FPS` (4) apart, so its
longest clip lasts native frames / 4 = 2 seconds. A job's spec is in display terms: `fps` is
the display frame rate (24 for RIFF_MODELS["riff-house"]), `num_frames` is duration x fps
(at most 2 s worth: 48 frames at 24 fps; a longer job is refused when queued, by
RIFF_MODELS' `max_seconds`, and cut here only as a safeguard), `width` x `height` is the
display frame (512x912 for 9:16). `generate` samples the model frames that cover
that duration (num_frames x 4 / fps, at most the native count), then
`generation.house.display` blends them to `num_frames` frames and upscales each to the
display frame (Lanczos, the square clip centred on a blurred fill). `sample` gives the
model-resolution frames, for checks that need them (the evaluator).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from generation.house.display import display_frames, max_display_frames, model_frames
from generation.house.vocabulary import GUIDE

from .base import Backend, GenerationSpec, StepCallback, round_to_multiple

logger = logging.getLogger(__name__)


def display_fit(spec: GenerationSpec, frames: int) -> GenerationSpec:
    """`spec` with an even frame size (yuv420p) and no longer than the model's longest clip."""
    longest = max_display_frames(frames, spec.fps)
    fitted = replace(
        spec,
        width=round_to_multiple(spec.width, 2),
        height=round_to_multiple(spec.height, 2),
        num_frames=max(1, min(spec.num_frames, longest)),
    )
    before = (spec.width, spec.height, spec.num_frames)
    after = (fitted.width, fitted.height, fitted.num_frames)
    if before != after:
        logger.info("fitted %dx%dx%d to %dx%dx%d for the house model", *before, *after)
    return fitted


class HouseBackend(Backend):
    """The house model: text to a short clip, upscaled for display; no remix yet."""

    family: ClassVar[str] = "house"
    pipeline: ClassVar[str] = "generation.house.pipeline.HouseVideoPipeline"
    prompt_guide = GUIDE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """See Backend; also reads the native clip size from the denoiser's config."""
        super().__init__(*args, **kwargs)
        self.native = self.native_size(self.config.path)

    @staticmethod
    def native_size(path: Path) -> tuple[int, int]:
        """(frame size, frames) the saved denoiser was trained at."""
        denoiser = json.loads((path / "denoiser" / "config.json").read_text())
        return int(denoiser["sample_size"]), int(denoiser["num_frames"])

    @classmethod
    def constraints(cls, path: Path) -> tuple[int, int]:
        """Display sizes are any even size (see `fit`); any frame count up to the longest."""
        return 2, 1

    def fit(self, spec: GenerationSpec) -> GenerationSpec:
        """`spec` at an even display size and at most the model's longest clip.

        The house model cannot start from a video: a remix is made from its own prompt
        (and, unless the person chose one, the source clip's seed), and keeps its lineage.
        """
        return replace(display_fit(spec, self.native[1]), source_frames=None)

    @classmethod
    def fit_unloaded(cls, path: Path, spec: GenerationSpec) -> GenerationSpec:
        """What `fit` gives, from the denoiser's config only."""
        return display_fit(spec, cls.native_size(path)[1])

    def native_spec(self, spec: GenerationSpec) -> GenerationSpec:
        """What the model itself samples for a (fitted) display spec."""
        size, frames = self.native
        count = model_frames(spec.num_frames, spec.fps, frames)
        return replace(spec, width=size, height=size, num_frames=count)

    def sample(self, spec: GenerationSpec, on_step: StepCallback) -> np.ndarray:
        """The model's own frames (T, 32, 32, 3) uint8 for a display spec, before upscaling."""
        return self._generate(self.native_spec(self.fit(spec)), on_step)

    def generate(self, spec: GenerationSpec, on_step: StepCallback) -> np.ndarray:
        """The clip at display size and frame rate (T, H, W, 3) uint8 (see the module)."""
        spec = self.fit(spec)
        frames = self.sample(spec, on_step)
        return display_frames(
            frames, width=spec.width, height=spec.height, num_frames=spec.num_frames
        )

    def _free(self) -> None:
        # No full garbage collection after each clip, unlike the big families: a clip here
        # holds a few MB, and a collection in a worker with Django and torch loaded takes
        # about 0.6 s, more than half of sampling a clip.
        if self.pipe is not None:
            self.pipe.maybe_free_model_hooks()
        if self.device == "cuda":
            super()._free()

    def _run(self, spec: GenerationSpec, generator: Any, callback: Any) -> Any:
        from generation.house.captions import with_background

        # The unconditional half of guidance is the empty caption, so a negative prompt
        # has nothing to replace yet.
        return self.pipe(
            with_background(spec.prompt),
            num_frames=spec.num_frames,
            height=spec.height,
            width=spec.width,
            num_inference_steps=spec.steps,
            guidance_scale=spec.guidance,
            generator=generator,
            callback_on_step_end=callback,
            output_type="np",
        )
