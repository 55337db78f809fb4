"""Wan 2.1 / 2.2 backend: WanPipeline for text-to-video, WanVideoToVideoPipeline for remix."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from .registry import Backend, GenerationSpec, is_component, remix_strength, resample_frames


class WanBackend(Backend):
    """Wan text-to-video; remix by video-to-video sharing the same loaded components."""

    family: ClassVar[str] = "wan"
    # Wan's own prompt length; shorter prompts are padded, so it only costs the text encoder.
    default_max_sequence_length: ClassVar[int] = 512

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """See Backend; the video-to-video pipeline is made on first remix."""
        super().__init__(*args, **kwargs)
        self._v2v_pipe: Any = None

    @classmethod
    def constraints(cls, path: Path) -> tuple[int, int]:
        """Sizes: VAE spatial factor times the transformer patch (16 for 2.1); frames 4k+1."""
        vae = json.loads((path / "vae" / "config.json").read_text())
        transformer = json.loads((path / "transformer" / "config.json").read_text())
        downsample = vae.get("temperal_downsample", [False, True, True])
        spatial = vae.get("scale_factor_spatial") or 2 ** len(downsample)
        temporal = vae.get("scale_factor_temporal") or 2 ** sum(downsample)
        patch = transformer.get("patch_size", [1, 2, 2])
        return int(spatial) * int(max(patch[1], patch[2])), int(temporal)

    def _supports_v2v(self) -> bool:
        # WanVideoToVideoPipeline has one transformer and no expanded timesteps: Wan 2.2 A14B
        # (two experts) and TI2V-5B (expand_timesteps) would be run wrongly, so no remix there.
        return not is_component(self.index.get("transformer_2")) and not self.index.get(
            "expand_timesteps", False
        )

    def _load_pipeline(self, dtype: Any) -> Any:
        import torch
        from diffusers import AutoencoderKLWan, WanPipeline

        extra: dict[str, Any] = {}
        if dtype != torch.float32:
            # The Wan VAE loses detail in half precision; it is small, so it stays float32.
            extra["vae"] = AutoencoderKLWan.from_pretrained(
                str(self.config.path), subfolder="vae", dtype=torch.float32, local_files_only=True
            )
        return WanPipeline.from_pretrained(
            str(self.config.path), dtype=dtype, local_files_only=True, **extra
        )

    def _video_to_video(self) -> Any:
        if self._v2v_pipe is None:
            from diffusers import WanVideoToVideoPipeline

            # Shares the loaded modules, so remix costs no extra memory.
            self._v2v_pipe = self.sibling_pipeline(WanVideoToVideoPipeline)
        return self._v2v_pipe

    def _run(self, spec: GenerationSpec, generator: Any, callback: Any) -> Any:
        common: dict[str, Any] = {
            "prompt": spec.prompt,
            "negative_prompt": spec.negative_prompt or None,
            "height": spec.height,
            "width": spec.width,
            "num_inference_steps": spec.steps,
            "guidance_scale": spec.guidance,
            "generator": generator,
            "output_type": "np",
            "callback_on_step_end": callback,
            "callback_on_step_end_tensor_inputs": [],
            "max_sequence_length": self.max_sequence_length,
        }
        if spec.source_frames is None:
            return self.pipe(num_frames=spec.num_frames, **common).frames
        # The video-to-video pipeline takes its length from the source, so hand it exactly
        # the fitted number of frames at the fitted size.
        video = resample_frames(spec.source_frames, spec.num_frames, spec.width, spec.height)
        strength = remix_strength(spec.strength, spec.steps)
        transformer = self.pipe.transformer
        # WanVideoToVideoPipeline calls the transformer outside any cache_context, which the
        # cache hooks require, so a remix runs uncached.
        cached = transformer.is_cache_enabled
        if cached:
            transformer.disable_cache()
        try:
            return self._video_to_video()(video=video, strength=strength, **common).frames
        finally:
            if cached:
                self._enable_first_block_cache(self.pipe)

    def close(self) -> None:
        """Drop both pipelines and free their memory."""
        self._v2v_pipe = None
        super().close()
