"""LTX-Video backend: LTXPipeline for text-to-video, LTXConditionPipeline for remix."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from .base import Backend, GenerationSpec

# LTXPipeline.check_inputs refuses sizes that are not multiples of 32.
LTX_SIZE_MULTIPLE = 32


class LTXBackend(Backend):
    """LTX-Video text-to-video; remix conditions on the whole source video from frame 0."""

    family: ClassVar[str] = "ltx"
    pipeline: ClassVar[str] = "diffusers.LTXPipeline"
    remix_pipeline: ClassVar[str] = "diffusers.LTXConditionPipeline"

    @classmethod
    def size_rules(cls, *, vae: dict[str, Any], transformer: dict[str, Any]) -> tuple[int, int]:
        """Sizes: multiples of 32 (and of the VAE's compression); frames 8k+1 for LTX-Video."""
        levels = sum(bool(x) for x in vae.get("spatio_temporal_scaling", (True, True, True, False)))
        spatial = vae.get("spatial_compression_ratio") or vae.get("patch_size", 4) * 2**levels
        temporal = vae.get("temporal_compression_ratio") or vae.get("patch_size_t", 1) * 2**levels
        latent_multiple = int(spatial) * int(transformer.get("patch_size", 1))
        return math.lcm(LTX_SIZE_MULTIPLE, latent_multiple), int(temporal)

    def _arguments(self, spec: GenerationSpec, generator: Any, callback: Any) -> dict[str, Any]:
        arguments = super()._arguments(spec, generator, callback)
        arguments["frame_rate"] = spec.fps
        if self.pipe.vae.config.timestep_conditioning:
            # The values LTX-Video 0.9.1+ is documented with; the VAE decodes at a small noise.
            arguments.update(decode_timestep=0.05, decode_noise_scale=0.025)
        return arguments

    def _remix(
        self, spec: GenerationSpec, video: list[Any], strength: float, arguments: dict[str, Any]
    ) -> Any:
        # SDEdit on the source: run only the last `strength` share of the schedule, starting
        # from the source latents noised to that schedule's first sigma. LTXConditionPipeline
        # does exactly that when the video condition's strength is 1 - sigma_start: its
        # latents become lerp(noise, source, 1 - sigma) and are denoised from that step on.
        from diffusers.pipelines.ltx.pipeline_ltx_condition import LTXVideoCondition

        sigma_start = self._first_sigma(spec.steps, strength)
        condition = LTXVideoCondition(video=video, frame_index=0, strength=1.0 - sigma_start)
        return self.remix_pipe()(
            conditions=[condition],
            num_frames=spec.num_frames,
            denoise_strength=strength,
            image_cond_noise_scale=0.0,
            **arguments,
        ).frames

    def _first_sigma(self, steps: int, strength: float) -> float:
        """The sigma LTXConditionPipeline starts from when it keeps `strength` of `steps`."""
        from diffusers.pipelines.ltx.pipeline_ltx_condition import (
            linear_quadratic_schedule,
            retrieve_timesteps,
        )

        # The same schedule the pipeline builds; setting it on the shared scheduler is harmless
        # because the pipeline sets it again at the start of its call.
        scheduler = self.remix_pipe().scheduler
        retrieve_timesteps(
            scheduler, steps, "cpu", (linear_quadratic_schedule(steps) * 1000).tolist()
        )
        kept = min(int(steps * strength), steps)
        return float(scheduler.sigmas[steps - kept])
