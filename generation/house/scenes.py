"""The house model's training set as streams of (frames, caption) samples.

Specs and the split are in `specs`, drawing in `render`, captions in `captions`; this module
puts them together and names everything a trainer or a test needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import numpy as np

from .captions import HELD_OUT_TEMPLATES, TRAIN_TEMPLATES, make_caption, pick
from .layout import layout_rows
from .render import render, render_scene
from .specs import Array, Sample, held_out_specs, train_specs


def train_samples(seed: int, size: int = 32, frames: int = 8) -> Iterator[Sample]:
    """Endless training samples (held-out combinations and templates excluded)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    for spec in train_specs(seed):
        clip, centres = render_scene(spec, size, frames)
        yield Sample(clip, make_caption(spec, rng), spec, layout_rows(centres))


def train_batches(
    seed: int, batch_size: int, size: int = 32, frames: int = 8
) -> Iterator[tuple[Array, list[str], Array]]:
    """Endless (frames (B, T, H, W, 3) uint8, captions, layouts (B, 2, 3)) training batches."""
    samples = train_samples(seed, size, frames)
    while True:
        batch = [next(samples) for _ in range(batch_size)]
        layouts = np.stack([s.layout for s in batch if s.layout is not None])
        yield np.stack([s.frames for s in batch]), [s.caption for s in batch], layouts


def held_out_samples(
    kind: Literal["seen", "unseen"],
    n: int,
    seed: int,
    *,
    size: int = 32,
    frames: int = 8,
    templates: Literal["train", "held_out"] = "train",
) -> list[Sample]:
    """Rendered held-out samples, captioned with training or held-out templates."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4]))
    choices = TRAIN_TEMPLATES if templates == "train" else HELD_OUT_TEMPLATES
    return [
        Sample(render(spec, size, frames), make_caption(spec, rng, pick(rng, choices)), spec)
        for spec in held_out_specs(kind, n, seed)
    ]
