"""Where a clip's objects are: the layout a layout-conditioned house model draws around.

A caption says which way an object goes, not where it starts, so a model that predicts
the clean clip from the caption alone learns the average over every place the object could
be: a blurred blob in the middle that never moves. Given where each object is halfway
through the clip, the clean clip is (nearly) one clip, which a small model learns on a CPU.

Training reads the layout off the rendered scene (`render_scene`). Generation plans one
(`plan_layout`): the words it knows (how many objects, their sizes, the motion) are read
from the prompt, anything unsaid is drawn at random, and the places are drawn the way the
training scenes draw them. The plan says where, never what or which way: colour, shape
and the direction of motion still come from the model reading the caption.

A layout is an array (MAX_OBJECTS, 3): x and y as fractions of the frame and 1 for an
object that is there (0 rows for absent ones), objects in the caption's order. The model
sees it as one map per object (`layout_maps`), a small Gaussian at the object's place.
"""

from __future__ import annotations

import numpy as np
import torch

from .captions import parse_caption
from .render import plan_centres
from .specs import (
    COLOURS,
    MOTIONS,
    ROUND_SHAPES,
    SHAPES,
    SIZES,
    Array,
    ObjectSpec,
    SceneSpec,
)

MAX_OBJECTS = 2
# Width of each object's mark in the maps, as a fraction of the frame.
MARK_SIGMA = 0.06


def layout_rows(centres: Array) -> Array:
    """(objects, 2) centres as a layout (MAX_OBJECTS, 3), the objects past MAX_OBJECTS cut."""
    rows = np.zeros((MAX_OBJECTS, 3), dtype=np.float32)
    n = min(len(centres), MAX_OBJECTS)
    rows[:n, :2] = centres[:n]
    rows[:n, 2] = 1.0
    return rows


def layout_maps(layouts: torch.Tensor, size: int) -> torch.Tensor:
    """Layouts (B, MAX_OBJECTS, 3) as maps (B, MAX_OBJECTS, size, size) in [0, 1]."""
    grid = (torch.arange(size, dtype=layouts.dtype, device=layouts.device) + 0.5) / size
    x, y, present = (layouts[..., i, None, None] for i in range(3))
    distance = (grid[None, None, None, :] - x) ** 2 + (grid[None, None, :, None] - y) ** 2
    return present * torch.exp(-distance / (2 * MARK_SIGMA**2))


def plan_layout(prompt: str, size: int, frames: int, rng: np.random.Generator) -> Array:
    """A layout for `prompt`, drawn from `rng` as the training scenes draw theirs."""
    said = parse_caption(prompt)
    motion = said.motion or MOTIONS[int(rng.integers(len(MOTIONS)))]
    objects = list(said.objects[:MAX_OBJECTS])
    if not objects:
        colour = list(COLOURS)[int(rng.integers(len(COLOURS)))]
        # As the training scenes do (specs.random_spec): a circle or ball is never drawn
        # to spin.
        shapes = [s for s in SHAPES if not (motion == "spinning" and s in ROUND_SHAPES)]
        objects = [ObjectSpec(colour, shapes[int(rng.integers(len(shapes)))])]
    sized = []
    for obj in objects:
        size_word = obj.size
        if motion == "growing":
            size_word = None
        elif len(objects) == 2:
            size_word = "small"
        elif size_word is None:
            size_word = SIZES[int(rng.integers(len(SIZES)))]
        sized.append(ObjectSpec(obj.colour, obj.shape, size_word))
    spec = SceneSpec(said.background, tuple(sized), motion)
    return layout_rows(plan_centres(spec, size, frames, rng))
