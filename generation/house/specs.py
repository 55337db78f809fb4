"""Procedural training scenes for Riff's house model: coloured shapes moving over backgrounds.

Every clip is drawn on the fly and is reproducible from a seed. A `SceneSpec` names a
background, one or two objects (colour, shape, size) and one motion shared by its objects;
`render` draws it as uint8 frames (T, H, W, 3) with anti-aliased (supersampled) edges and
lightly textured backgrounds; `make_caption` writes it in one of several templates with
synonyms, and `parse_caption` reads any caption written here back into a spec.

Decisions the evaluator relies on:

- Object colours are shown only on backgrounds they stand out from: a pair is allowed when
  the colour is at least `VISIBLE_DELTA_E` (CIELAB) from the background's top and bottom
  colours (`visible`). That rules out white on white, sky and sand, green on grass, and
  black at night and on black; everything else is allowed.
- Circles and balls never spin (a spinning disc looks still); `ball` is a shaded circle.
- Two-object scenes use small objects in two lanes across the motion (one above the other
  for left/right, side by side otherwise), in colours at least `VISIBLE_DELTA_E` apart.
- Growing objects have no size: they grow from half of small to big (to small when two).
- Captions may leave the size out; a parsed spec then has `size=None` (unchecked).

Split: `HELD_OUT_COLOUR_SHAPE` and `HELD_OUT_SHAPE_MOTION` never occur in `train_specs`;
`HELD_OUT_TEMPLATES` are never used for training captions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

Array = np.ndarray

BACKGROUNDS = ("sky", "sea", "grass", "sand", "night", "white", "grey", "black")
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "orange": (245, 135, 20),
    "yellow": (250, 220, 40),
    "green": (40, 175, 50),
    "blue": (35, 75, 225),
    "purple": (140, 50, 190),
    "pink": (250, 120, 190),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
SHAPES = ("circle", "ball", "square", "triangle", "star")
ROUND_SHAPES = frozenset({"circle", "ball"})
SIZES = ("small", "big")
MOTIONS = ("left", "right", "up", "down", "bouncing", "spinning", "growing")

# Top and bottom colours of each background; the texture is added on top in `_background`.
BACKGROUND_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "sky": ((70, 140, 230), (175, 212, 245)),
    "sea": ((25, 95, 150), (12, 55, 110)),
    "grass": ((75, 155, 60), (40, 115, 35)),
    "sand": ((232, 208, 160), (208, 182, 130)),
    "night": ((8, 10, 38), (28, 32, 78)),
    "white": ((238, 238, 238), (238, 238, 238)),
    "grey": ((128, 128, 128), (128, 128, 128)),
    "black": ((14, 14, 14), (14, 14, 14)),
}

VISIBLE_DELTA_E = 30.0
# Object radius as a fraction of the frame width; other shapes scale from it (`EXTENT`).
RADIUS = {"small": 0.15, "big": 0.22}
# Farthest point of each shape from its centre, in units of its radius.
EXTENT = {"circle": 1.0, "ball": 1.0, "square": 0.85 * math.sqrt(2), "triangle": 1.25, "star": 1.3}
SYMMETRY = {"square": 4, "triangle": 3, "star": 5}
SPIN_FRACTION = 0.6  # a spinning shape turns through this much of its symmetry period
SUPERSAMPLE = 4

HELD_OUT_COLOUR_SHAPE = frozenset(
    {
        ("red", "triangle"),
        ("blue", "star"),
        ("yellow", "square"),
        ("green", "ball"),
        ("purple", "circle"),
        ("orange", "star"),
    }
)
HELD_OUT_SHAPE_MOTION = frozenset({("star", "up"), ("triangle", "bouncing"), ("square", "growing")})


@dataclass(frozen=True)
class ObjectSpec:
    """One object of a scene; `size` is None for growing objects or when a caption omits it."""

    colour: str
    shape: str
    size: str | None = None


@dataclass(frozen=True)
class SceneSpec:
    """A scene: background, objects and their shared motion; `seed` fixes layout and texture."""

    background: str | None
    objects: tuple[ObjectSpec, ...]
    motion: str | None
    seed: int = 0

    def describe(self) -> SceneSpec:
        """The spec without its seed, i.e. what a caption can say."""
        return SceneSpec(self.background, self.objects, self.motion)


@dataclass(frozen=True)
class Sample:
    """A rendered training example."""

    frames: Array
    caption: str
    spec: SceneSpec
    # Where the objects are halfway through the clip (layout.py), when the sample has it.
    layout: Array | None = None


# --- colour -------------------------------------------------------------------------------


def srgb_to_lab(rgb: Array) -> Array:
    """CIELAB (D65) of sRGB values in 0..255, any leading shape."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    lab = np.stack(
        [
            116.0 * f[..., 1] - 16.0,
            500.0 * (f[..., 0] - f[..., 1]),
            200.0 * (f[..., 1] - f[..., 2]),
        ],
        axis=-1,
    )
    return lab


def _delta_e(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return float(np.linalg.norm(srgb_to_lab(np.array(a)) - srgb_to_lab(np.array(b))))


def visible(colour: str, background: str) -> bool:
    """Whether an object of this colour stands out from this background everywhere."""
    top, bottom = BACKGROUND_COLOURS[background]
    c = COLOURS[colour]
    return min(_delta_e(c, top), _delta_e(c, bottom)) >= VISIBLE_DELTA_E


VISIBLE_COLOURS = {bg: tuple(c for c in COLOURS if visible(c, bg)) for bg in BACKGROUNDS}
# Colour pairs far enough apart to share a scene.
_DISTINCT = {
    (a, b) for a in COLOURS for b in COLOURS if _delta_e(COLOURS[a], COLOURS[b]) >= VISIBLE_DELTA_E
}


# --- specs and the split ------------------------------------------------------------------


def is_held_out(spec: SceneSpec) -> bool:
    """Whether a spec contains a held-out colour-shape or shape-motion combination."""
    return any(
        (o.colour, o.shape) in HELD_OUT_COLOUR_SHAPE
        or (o.shape, spec.motion) in HELD_OUT_SHAPE_MOTION
        for o in spec.objects
    )


def random_spec(rng: np.random.Generator) -> SceneSpec:
    """Draw any valid spec (held-out combinations included)."""
    background = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    motion = MOTIONS[rng.integers(len(MOTIONS))]
    count = 2 if rng.random() < 0.3 else 1
    shapes = [s for s in SHAPES if not (motion == "spinning" and s in ROUND_SHAPES)]
    objects: list[ObjectSpec] = []
    for _ in range(count):
        colours = [
            c
            for c in VISIBLE_COLOURS[background]
            if all((c, o.colour) in _DISTINCT for o in objects)
        ]
        colour = colours[rng.integers(len(colours))]
        shape = shapes[rng.integers(len(shapes))]
        if motion == "growing":
            size = None
        elif count == 2:
            size = "small"
        else:
            size = SIZES[rng.integers(len(SIZES))]
        objects.append(ObjectSpec(colour, shape, size))
    return SceneSpec(background, tuple(objects), motion, int(rng.integers(2**31)))


def train_specs(seed: int) -> Iterator[SceneSpec]:
    """Endless training specs, none with a held-out combination."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    while True:
        spec = random_spec(rng)
        if not is_held_out(spec):
            yield spec


def held_out_specs(kind: Literal["seen", "unseen"], n: int, seed: int) -> list[SceneSpec]:
    """`n` evaluation specs: "seen" combinations (fresh layouts), or "unseen" held-out ones."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1 if kind == "seen" else 2]))
    specs: list[SceneSpec] = []
    while len(specs) < n:
        spec = random_spec(rng)
        if is_held_out(spec) == (kind == "unseen"):
            specs.append(spec)
    return specs
