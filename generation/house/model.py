"""The house model's denoiser: a small video transformer built from diffusers parts.

Each frame is cut into patches (one token each) with learned spatial and frame-time position
embeddings, so that the model sees time; `BasicTransformerBlock`s (`ada_norm_single`, as in
PixArt) attend jointly over every token of the clip and cross-attend to the MiniLM token
embeddings of the caption; the pooled caption vector is added to the timestep embedding.
The output is a linear layer and a pixel shuffle back to each frame, followed by a small
convolutional head per frame that smooths the patch grid away.

By default it predicts the clean clip (x0) under a rectified-flow schedule
(x_t = (1 - s) x0 + s noise): predicting the velocity with tokens narrower than their pixels
gave pure noise in an earlier, channel-stacked model. Options compared in TRAINING.md's
side-by-side runs, each off by default so that weights saved before it existed load as they were:

- `prediction_type` "velocity" (noise - x0, as SD3) instead of "x0", best with
  `input_skip` (below);
- `frame_embedding` "sinusoidal": fixed sinusoidal frame-time positions at full scale instead of
  learned ones that start near zero (std 0.02);
- `temporal_head`: the output head convolves over time as well (3x3x3), so that neighbouring
  frames share their detail instead of each getting its own;
- `input_skip`: the head also sees the noisy input at full resolution. A velocity
  (noise - x0) must carry the input's noise, which 128-wide tokens for 192-value patches
  can't pass on; this path can.
- `layout_channels`: the model also sees where each object is halfway through the clip
  (layout.py), one map per object, cut into patches like a frame and added to every
  frame's tokens.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.attention import BasicTransformerBlock
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.modeling_utils import ModelMixin
from torch import nn
from torch.nn import functional as F  # noqa: N812

# MiniLM (all-MiniLM-L6-v2) embeds text in 384 dimensions.
TEXT_DIM = 384
PREDICTION_TYPES = ("x0", "velocity")
FRAME_EMBEDDINGS = ("learned", "sinusoidal")
# Configurations per training size: 32x32x8 trains on a CPU, 64x64x16 wants a GPU.
PRESETS: dict[int, dict[str, int]] = {
    32: {
        "sample_size": 32,
        "num_frames": 8,
        "patch_size": 8,
        "width": 128,
        "num_layers": 6,
        "num_heads": 4,
    },
    64: {
        "sample_size": 64,
        "num_frames": 16,
        "patch_size": 8,
        "width": 256,
        "num_layers": 8,
        "num_heads": 8,
    },
}


class HouseDenoiser(ModelMixin, ConfigMixin):  # type: ignore[misc]  # diffusers' own clash
    """Predicts the clean clip from a noisy one, a timestep and the caption's MiniLM output."""

    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        sample_size: int = 32,
        num_frames: int = 8,
        in_channels: int = 3,
        patch_size: int = 8,
        width: int = 128,
        num_layers: int = 6,
        num_heads: int = 4,
        text_dim: int = TEXT_DIM,
        head_channels: int = 16,
        prediction_type: str = "x0",
        frame_embedding: str = "learned",
        temporal_head: bool = False,
        input_skip: bool = False,
        layout_channels: int = 0,
    ) -> None:
        """Sizes (clip, patch, transformer, conv head), the target and the time signal."""
        super().__init__()
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type {prediction_type!r} not in {PREDICTION_TYPES}")
        if frame_embedding not in FRAME_EMBEDDINGS:
            raise ValueError(f"frame_embedding {frame_embedding!r} not in {FRAME_EMBEDDINGS}")
        if sample_size % patch_size:
            raise ValueError(f"sample_size {sample_size} is not a multiple of {patch_size}")
        if width % num_heads:
            raise ValueError(f"width {width} is not a multiple of num_heads {num_heads}")
        grid = sample_size // patch_size
        self.patch_embed = nn.Conv2d(in_channels, width, patch_size, stride=patch_size)
        self.layout_embed = (
            nn.Conv2d(layout_channels, width, patch_size, stride=patch_size)
            if layout_channels
            else None
        )
        self.spatial_pos = nn.Parameter(torch.randn(1, 1, grid * grid, width) * 0.02)
        self.frame_pos: torch.Tensor
        if frame_embedding == "learned":
            self.frame_pos = nn.Parameter(torch.randn(1, num_frames, 1, width) * 0.02)
        else:
            # Not saved: it is a function of the config.
            table = sinusoidal_frame_positions(num_frames, width)
            self.register_buffer("frame_pos", table, persistent=False)

        self.time_proj = Timesteps(256, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embed = TimestepEmbedding(256, width)
        self.text_pool_embed = nn.Sequential(
            nn.Linear(text_dim, width), nn.SiLU(), nn.Linear(width, width)
        )
        # One shift/scale/gate set per block input, as PixArt's AdaLayerNormSingle makes it.
        self.cond_block = nn.Sequential(nn.SiLU(), nn.Linear(width, 6 * width))

        self.blocks = nn.ModuleList(
            BasicTransformerBlock(
                width,
                num_heads,
                width // num_heads,
                cross_attention_dim=text_dim,
                activation_fn="gelu-approximate",
                norm_type="ada_norm_single",
                norm_elementwise_affine=False,
                norm_eps=1e-6,
            )
            for _ in range(num_layers)
        )

        self.norm_out = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.scale_shift_table = nn.Parameter(torch.randn(2, width) / width**0.5)
        self.proj_out = nn.Linear(width, patch_size * patch_size * head_channels)
        conv = nn.Conv3d if temporal_head else nn.Conv2d
        head_in = head_channels + (in_channels if input_skip else 0)
        self.head = nn.Sequential(
            conv(head_in, head_channels, 3, padding=1),
            nn.SiLU(),
            conv(head_channels, in_channels, 3, padding=1),
        )

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        pooled_text: torch.Tensor,
        encoder_attention_mask: torch.Tensor | None = None,
        layout: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The prediction (B, C, T, H, W) for noisy `sample` at timesteps in [0, 1000].

        The clean clip or the velocity, as `prediction_type` says. `layout` (B,
        layout_channels, H, W) are the objects' maps (layout.py), for a model that has them.

        `encoder_hidden_states` (B, L, text_dim) are the caption's token embeddings,
        `encoder_attention_mask` (B, L) marks the real ones, `pooled_text` (B, text_dim) is
        the sentence embedding.
        """
        cfg: Any = self.config
        b, c, t, h, w = sample.shape
        p = cfg.patch_size
        gh, gw = h // p, w // p
        if t > cfg.num_frames or (gh * gw) != self.spatial_pos.shape[2]:
            raise ValueError(
                f"clip {t}x{h}x{w} does not fit the model "
                f"({cfg.num_frames}x{cfg.sample_size}x{cfg.sample_size})"
            )
        frames = sample.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        tokens = self.patch_embed(frames).flatten(2).transpose(1, 2)  # (B*T, S, D)
        tokens = tokens.reshape(b, t, gh * gw, -1) + self.spatial_pos + self.frame_pos[:, :t]
        if self.layout_embed is not None:
            if layout is None:
                raise ValueError("this model draws around a layout; none was given")
            placed = self.layout_embed(layout.to(tokens.dtype)).flatten(2).transpose(1, 2)
            tokens = tokens + placed[:, None]
        hidden = tokens.reshape(b, t * gh * gw, -1)

        timestep = timestep.reshape(-1).expand(b)
        t_emb = self.time_embed(self.time_proj(timestep).to(hidden.dtype))
        cond = t_emb + self.text_pool_embed(pooled_text.to(hidden.dtype))
        block_cond = self.cond_block(cond)

        text = encoder_hidden_states.to(hidden.dtype)
        mask = None
        if encoder_attention_mask is not None:
            # An additive bias over the text tokens, broadcast over queries (as PixArt does).
            mask = (1 - encoder_attention_mask.to(hidden.dtype)) * -10000.0
            mask = mask.unsqueeze(1)
        for block in self.blocks:
            hidden = block(
                hidden,
                encoder_hidden_states=text,
                encoder_attention_mask=mask,
                timestep=block_cond,
            )

        shift, scale = (self.scale_shift_table[None] + cond[:, None]).chunk(2, dim=1)
        hidden = self.norm_out(hidden) * (1 + scale) + shift
        hidden = self.proj_out(hidden)  # (B, T*S, p*p*K)
        k = cfg.head_channels
        hidden = hidden.reshape(b * t, gh, gw, k * p * p).permute(0, 3, 1, 2)
        hidden = F.pixel_shuffle(hidden, p)  # (B*T, K, H, W)
        if cfg.temporal_head:
            hidden = hidden.reshape(b, t, k, h, w).transpose(1, 2)  # (B, K, T, H, W)
            if cfg.input_skip:
                hidden = torch.cat([hidden, sample.to(hidden.dtype)], dim=1)
            return self.head(hidden)
        if cfg.input_skip:
            hidden = torch.cat([hidden, frames.to(hidden.dtype)], dim=1)
        out = self.head(hidden)
        return out.reshape(b, t, c, h, w).permute(0, 2, 1, 3, 4)


def sinusoidal_frame_positions(num_frames: int, width: int) -> torch.Tensor:
    """Sinusoidal frame-time positions (1, T, 1, width), periods from 2 to 8T frames."""
    half = width // 2
    # Geometric periods from 2 frames to 8 clips: every dimension changes within a clip.
    periods = 2.0 * (4.0 * num_frames) ** (torch.arange(half) / max(half - 1, 1))
    angles = torch.arange(num_frames)[:, None] * (2 * math.pi / periods)[None]
    table = torch.cat([angles.sin(), angles.cos()], dim=1)
    return table[None, :, None, :].float()


def build_denoiser(size: int, **overrides: Any) -> HouseDenoiser:
    """A fresh denoiser of the preset for `size` (32 or 64), with any config overridden."""
    try:
        preset = PRESETS[size]
    except KeyError:
        raise ValueError(f"no preset for size {size} (have {sorted(PRESETS)})") from None
    return HouseDenoiser(**{**preset, **overrides})
