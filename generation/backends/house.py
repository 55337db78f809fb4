"""Riff's house model backend: the small text-to-video model trained by train_house_model."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from .registry import Backend, GenerationSpec

logger = logging.getLogger(__name__)


def native_fit(spec: GenerationSpec, size: int, frames: int) -> GenerationSpec:
    """`spec` at the model's own square size, with at most the frames it was trained on."""
    # Learned position embeddings fix the size and the longest clip; upscaling for display
    # happens after generation, not here.
    fitted = replace(spec, width=size, height=size, num_frames=max(1, min(spec.num_frames, frames)))
    before = (spec.width, spec.height, spec.num_frames)
    if before != (fitted.width, fitted.height, fitted.num_frames):
        logger.info("fitted %dx%dx%d to the house model's %dx%dx%d", *before, size, size, frames)
    return fitted


class HouseBackend(Backend):
    """The house model: text to a short clip at its native size; no remix yet."""

    family: ClassVar[str] = "house"

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
        """Sizes are the native size exactly (see `fit`); any frame count up to the native one."""
        return cls.native_size(path)[0], 1

    def fit(self, spec: GenerationSpec) -> GenerationSpec:
        """`spec` at the native size and at most the native number of frames."""
        return native_fit(spec, *self.native)

    @classmethod
    def fit_unloaded(cls, path: Path, spec: GenerationSpec) -> GenerationSpec:
        """What `fit` gives, from the denoiser's config only."""
        return native_fit(spec, *cls.native_size(path))

    def _supports_v2v(self) -> bool:
        return False

    def _load_pipeline(self, dtype: Any) -> Any:
        from generation.house.pipeline import HouseVideoPipeline

        return HouseVideoPipeline.from_pretrained(
            str(self.config.path), dtype=dtype, local_files_only=True
        )

    def _run(self, spec: GenerationSpec, generator: Any, callback: Any) -> Any:
        # The unconditional half of guidance is the empty caption, so a negative prompt
        # has nothing to replace yet.
        return self.pipe(
            spec.prompt,
            num_frames=spec.num_frames,
            height=spec.height,
            width=spec.width,
            num_inference_steps=spec.steps,
            guidance_scale=spec.guidance,
            generator=generator,
            callback_on_step_end=callback,
            output_type="np",
        )
