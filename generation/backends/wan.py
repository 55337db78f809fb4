"""Wan 2.1 / 2.2 backend: WanPipeline for text-to-video, WanVideoToVideoPipeline for remix."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Backend, GenerationSpec, is_component


class WanBackend(Backend):
    """Wan text-to-video; remix by video-to-video sharing the same loaded components."""

    family: ClassVar[str] = "wan"
    pipeline: ClassVar[str] = "diffusers.WanPipeline"
    remix_pipeline: ClassVar[str] = "diffusers.WanVideoToVideoPipeline"
    # Wan's own prompt length; shorter prompts are padded, so it only costs the text encoder.
    default_max_sequence_length: ClassVar[int] = 512

    @classmethod
    def size_rules(cls, *, vae: dict[str, Any], transformer: dict[str, Any]) -> tuple[int, int]:
        """Sizes: VAE spatial factor times the transformer patch (16 for 2.1); frames 4k+1."""
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

    def _load_options(self, dtype: Any) -> dict[str, Any]:
        import torch
        from diffusers import AutoencoderKLWan

        if dtype == torch.float32:
            return {}
        # The Wan VAE loses detail in half precision; it is small, so it stays float32.
        vae = AutoencoderKLWan.from_pretrained(
            str(self.config.path), subfolder="vae", dtype=torch.float32, local_files_only=True
        )
        return {"vae": vae}

    def _remix(
        self, spec: GenerationSpec, video: list[Any], strength: float, arguments: dict[str, Any]
    ) -> Any:
        # The video-to-video pipeline takes its length from the source video, so it is given
        # no frame count. It calls the transformer outside any cache_context, which the cache
        # hooks require, so a remix runs uncached.
        transformer = self.pipe.transformer
        cached = transformer.is_cache_enabled
        if cached:
            transformer.disable_cache()
        try:
            return self.remix_pipe()(video=video, strength=strength, **arguments).frames
        finally:
            if cached:
                self._enable_first_block_cache(self.pipe)
