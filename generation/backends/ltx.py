"""LTX-Video backend: LTXPipeline for text-to-video, LTXConditionPipeline for remix."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .registry import Backend, GenerationSpec, remix_strength, resample_frames

# LTXPipeline.check_inputs refuses sizes that are not multiples of 32.
LTX_SIZE_MULTIPLE = 32


class LTXBackend(Backend):
    """LTX-Video text-to-video; remix conditions on the whole source video from frame 0."""

    family: ClassVar[str] = "ltx"
    default_max_sequence_length: ClassVar[int] = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """See Backend; the condition pipeline is made on first remix."""
        super().__init__(*args, **kwargs)
        self._condition_pipe: Any = None
        self._timestep_conditioning = False

    @classmethod
    def constraints(cls, path: Path) -> tuple[int, int]:
        """Sizes: multiples of 32 (and of the VAE's compression); frames 8k+1 for LTX-Video."""
        vae = json.loads((path / "vae" / "config.json").read_text())
        transformer = json.loads((path / "transformer" / "config.json").read_text())
        levels = sum(bool(x) for x in vae.get("spatio_temporal_scaling", (True, True, True, False)))
        spatial = vae.get("spatial_compression_ratio") or vae.get("patch_size", 4) * 2**levels
        temporal = vae.get("temporal_compression_ratio") or vae.get("patch_size_t", 1) * 2**levels
        latent_multiple = int(spatial) * int(transformer.get("patch_size", 1))
        return math.lcm(LTX_SIZE_MULTIPLE, latent_multiple), int(temporal)

    def _load_pipeline(self, dtype: Any) -> Any:
        from diffusers import LTXPipeline

        pipe = LTXPipeline.from_pretrained(
            str(self.config.path), dtype=dtype, local_files_only=True
        )
        self._timestep_conditioning = bool(pipe.vae.config.timestep_conditioning)
        return pipe

    def _condition(self) -> Any:
        if self._condition_pipe is None:
            from diffusers import LTXConditionPipeline

            # Shares the loaded modules, so remix costs no extra memory.
            self._condition_pipe = self.sibling_pipeline(LTXConditionPipeline)
        return self._condition_pipe

    def _run(self, spec: GenerationSpec, generator: Any, callback: Any) -> Any:
        common: dict[str, Any] = {
            "prompt": spec.prompt,
            "negative_prompt": spec.negative_prompt or None,
            "height": spec.height,
            "width": spec.width,
            "num_frames": spec.num_frames,
            "frame_rate": spec.fps,
            "num_inference_steps": spec.steps,
            "guidance_scale": spec.guidance,
            "generator": generator,
            "output_type": "np",
            "callback_on_step_end": callback,
            "callback_on_step_end_tensor_inputs": [],
            "max_sequence_length": self.max_sequence_length,
        }
        if self._timestep_conditioning:
            # The values LTX-Video 0.9.1+ is documented with; the VAE decodes at a small noise.
            common.update(decode_timestep=0.05, decode_noise_scale=0.025)
        if spec.source_frames is None:
            return self.pipe(**common).frames
        return self._remix(spec, spec.source_frames, common)

    def _remix(self, spec: GenerationSpec, source: np.ndarray, common: dict[str, Any]) -> Any:
        # SDEdit on the source: run only the last `strength` share of the schedule, starting
        # from the source latents noised to that schedule's first sigma. LTXConditionPipeline
        # does exactly that when the video condition's strength is 1 - sigma_start: its
        # latents become lerp(noise, source, 1 - sigma) and are denoised from that step on.
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        strength = remix_strength(spec.strength, spec.steps)
        sigma_start = self._first_sigma(spec.steps, strength)
        video = resample_frames(source, spec.num_frames, spec.width, spec.height)
        condition = LTXVideoCondition(video=video, frame_index=0, strength=1.0 - sigma_start)
        return self._condition()(
            conditions=[condition],
            denoise_strength=strength,
            image_cond_noise_scale=0.0,
            **common,
        ).frames

    def _first_sigma(self, steps: int, strength: float) -> float:
        """The sigma LTXConditionPipeline starts from when it keeps `strength` of `steps`."""
        from diffusers.pipelines.ltx.pipeline_ltx_condition import (
            linear_quadratic_schedule,
            retrieve_timesteps,
        )

        # The same schedule the pipeline builds; setting it on the shared scheduler is harmless
        # because the pipeline sets it again at the start of its call.
        scheduler = self._condition().scheduler
        retrieve_timesteps(
            scheduler, steps, "cpu", (linear_quadratic_schedule(steps) * 1000).tolist()
        )
        kept = min(int(steps * strength), steps)
        return float(scheduler.sigmas[steps - kept])

    def close(self) -> None:
        """Drop both pipelines and free their memory."""
        self._condition_pipe = None
        super().close()
