"""Check generated clips against the scenes their captions describe (plain numpy).

`analyse` measures a clip without looking at any caption, given only how many objects to
look for: the background (its row colours, from the frame's left and right borders, named
by the nearest background in CIELAB), and per object its colour, shape, size and motion.
`evaluate` compares that with a `SceneSpec` and `accuracy` averages many evaluations.

How each object is found and measured:

- Background model: per row, the median of the border columns over all frames (the
  backgrounds vary by row; objects stay off the border columns); where the per-pixel median
  over time agrees with it, that median is used instead, which keeps the texture.
- Foreground: pixels far from the background after a 3x3 blur (to beat noise); their
  interior gives the object colours (2-means in CIELAB for two objects). Each pixel is then
  unmixed against every object colour (coverage `alpha` along object minus background),
  kept when `alpha > 0.5`, given to the object that explains it best, and cleaned with a
  neighbour-count rule that removes isolated noise without cutting corners.
- Colour: the object's median colour, nearest named colour in CIELAB.
- Shape, rotation-invariant, on the largest frames: fill of the circle through its farthest
  pixel (circle ~0.9, square ~0.6, triangle and star ~0.4), solidity (area over convex hull;
  low for stars) and the n-fold moments |sum z^n| / sum |z|^n (triangle 3, square 4, star 5,
  none for circles). Circles and balls are one class: a ball's shading is too faint a cue.
- Size: sqrt(area) / width against a threshold between small and big (all shapes).
- Motion, from the centroid and area over time: growing (area x2 or more), bouncing (the
  lowest point inside the clip, well below both ends), left/right/up/down (net travel over
  0.15 of the frame), spinning (little travel; the n-fold orientation turns through at
  least 0.3 of the symmetry period, summed frame to frame), otherwise "still".
  Not reliable: spinning circles (excluded from the scenes) and the spin direction (not
  checked); bounces that never come down inside the clip read as up or down.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .render import render_background
from .specs import BACKGROUNDS, COLOURS, ROUND_SHAPES, SceneSpec, srgb_to_lab

Array = np.ndarray

ATTRIBUTES = ("background", "colour", "shape", "size", "motion")
FOREGROUND_DISTANCE = 40.0  # RGB distance after a 3x3 blur
MIN_AREA = 4  # pixels; smaller blobs count as absent
SIZE_THRESHOLD = 0.29  # sqrt(area) / width between small and big
GROWTH = 2.0
TRAVEL = 0.15
BOUNCE = 0.12
SPIN = 0.3
_NAMES = tuple(COLOURS)
_NAMED_LAB = srgb_to_lab(np.array([COLOURS[c] for c in _NAMES], dtype=np.float64))


@dataclass
class ObjectReport:
    """What one object in a clip looks like and does."""

    colour: str
    rgb: tuple[float, float, float]
    shape: str | None
    size: str | None
    motion: str | None
    features: dict[str, float] = field(default_factory=dict)


@dataclass
class ClipReport:
    """What a clip shows: its background and up to the requested number of objects."""

    background: str
    objects: list[ObjectReport]


def _norm(x: Array) -> Array:
    """Euclidean length along the last axis (faster than np.linalg.norm here)."""
    return np.sqrt(np.einsum("...c,...c->...", x, x))


def _blur(x: Array) -> Array:
    """3x3 box blur over the two axes before the last."""
    pad = [(0, 0)] * (x.ndim - 3) + [(1, 1), (1, 1), (0, 0)]
    p = np.pad(x, pad, mode="edge")
    h, w = x.shape[-3], x.shape[-2]
    out = np.zeros_like(x)
    for dy in range(3):
        for dx in range(3):
            out += p[..., dy : dy + h, dx : dx + w, :]
    return out / 9.0


def _neighbours(mask: Array) -> Array:
    """How many of the 8 neighbours of each pixel are set, per frame."""
    p = np.pad(mask.astype(np.int16), [(0, 0), (1, 1), (1, 1)])
    h, w = mask.shape[1:]
    total = np.zeros(mask.shape, dtype=np.int16)
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                total += p[:, dy : dy + h, dx : dx + w]
    return total


def _clean(mask: Array) -> Array:
    n = _neighbours(mask)
    return (mask & (n >= 2)) | (~mask & (n >= 6))


def _keep_main_blob(mask: Array) -> Array:
    """Per frame, drop pixels far from the mask's median point (stray texture, noise)."""
    out = np.zeros_like(mask)
    for i, frame in enumerate(mask):
        ys, xs = np.nonzero(frame)
        if len(xs) == 0:
            continue
        cy, cx = np.median(ys), np.median(xs)
        reach = max(3.0, 2.2 * math.sqrt(len(xs) / math.pi))
        keep = (ys - cy) ** 2 + (xs - cx) ** 2 <= reach * reach
        out[i, ys[keep], xs[keep]] = True
    return out


def _background_model(f: Array) -> tuple[Array, Array]:
    """Background image (H, W, 3) and its row colours (H, 3)."""
    t, h, w, _ = f.shape
    b = max(1, w // 16)
    border = np.concatenate([f[:, :, :b], f[:, :, w - b :]], axis=2)
    rows = np.median(border.transpose(1, 0, 2, 3).reshape(h, -1, 3), axis=1)
    row_image = np.broadcast_to(rows[:, None, :], (h, w, 3))
    median = np.median(f, axis=0)
    # Blurred, so that single-pixel texture (stars) stays in the background; widened by a
    # pixel, so that the soft edges of a still object do not.
    far = _norm(_blur(median) - _blur(row_image))[None] > FOREGROUND_DISTANCE
    far = (far | (_neighbours(far) > 0))[0]
    return np.where(far[..., None], row_image, median), rows


def _row_features(rows: Array) -> Array:
    h = len(rows)
    third = max(1, h // 3)
    top = srgb_to_lab(rows[:third].mean(axis=0))
    bottom = srgb_to_lab(rows[h - third :].mean(axis=0))
    return np.concatenate([top, bottom])


@lru_cache(maxsize=8)
def _background_prototypes(h: int, w: int) -> Array:
    protos = []
    for i, name in enumerate(BACKGROUNDS):
        rng = np.random.default_rng(i)
        img = np.stack([render_background(name, h, w, rng) for _ in range(2)])
        _, rows = _background_model(np.clip(img, 0, 255))
        protos.append(_row_features(rows))
    return np.stack(protos)


def _name_colour(rgb: Array) -> str:
    lab = srgb_to_lab(rgb)
    return _NAMES[int(np.argmin(_norm(_NAMED_LAB - lab)))]


def _two_means(lab: Array) -> Array:
    """Labels (0/1) of a 2-means clustering, started from the two most distant colours."""
    a = lab[np.argmax(np.linalg.norm(lab - np.median(lab, axis=0), axis=1))]
    b = lab[np.argmax(np.linalg.norm(lab - a, axis=1))]
    centres = np.stack([a, b])
    labels = np.zeros(len(lab), dtype=np.int64)
    for _ in range(10):
        labels = np.argmin(_norm(lab[:, None] - centres[None]), axis=1)
        for k in range(2):
            if np.any(labels == k):
                centres[k] = lab[labels == k].mean(axis=0)
    return labels


def _local_max(x: Array) -> Array:
    """3x3 maximum over the last two axes of (T, H, W)."""
    p = np.pad(x, [(0, 0), (1, 1), (1, 1)], mode="edge")
    h, w = x.shape[1:]
    return np.max([p[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=0)


def _similar_neighbours(f: Array) -> Array:
    """How many of the 8 neighbours of each pixel have nearly its colour."""
    p = np.pad(f, [(0, 0), (1, 1), (1, 1), (0, 0)], mode="edge")
    h, w = f.shape[1:3]
    total = np.zeros(f.shape[:3], dtype=np.int16)
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                d = p[:, dy : dy + h, dx : dx + w] - f
                total += np.einsum("...c,...c->...", d, d) < FOREGROUND_DISTANCE**2
    return total


def _object_colours(f: Array, bg: Array, fg: Array, count: int) -> list[Array]:
    # Interior pixels: as far from the background as their neighbours (edges are mixed).
    # Interior pixels: as far from the background as their neighbours (edges are mixed) and
    # like most of them in colour (a lone star is not).
    distance = _norm(f - bg[None])
    core = fg & (distance >= 0.75 * _local_max(distance)) & (_similar_neighbours(f) >= 4)
    if core.sum() < MIN_AREA:
        core = fg
    pixels = f[core]
    if len(pixels) == 0:
        return []
    if count == 1 or len(pixels) < 2 * MIN_AREA:
        return [np.median(pixels, axis=0)]
    if len(pixels) > 4000:
        pixels = pixels[:: len(pixels) // 4000 + 1]
    lab = srgb_to_lab(pixels)
    labels = _two_means(lab)
    for _ in range(2):
        # A tiny cluster is stray pixels (noise, texture), not an object: drop it, redo.
        small = np.bincount(labels, minlength=2) < 0.15 * len(labels)
        if not small.any():
            break
        keep = ~small[labels]
        pixels, lab = pixels[keep], lab[keep]
        labels = _two_means(lab)
    return [np.median(pixels[labels == k], axis=0) for k in range(2) if np.any(labels == k)]


def _hull_area(points: Array) -> float:
    """Area of the convex hull of 2-D points (monotone chain)."""
    pts = sorted({(float(x), float(y)) for x, y in points})
    if len(pts) < 3:
        return 0.0

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = lower[:-1] + upper[:-1]
    xs = np.array([p[0] for p in hull])
    ys = np.array([p[1] for p in hull])
    return float(0.5 * abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1))))


def _shape_features(mask: Array) -> dict[str, float]:
    """Rotation-invariant geometry of one frame's mask."""
    ys, xs = np.nonzero(mask)
    area = len(xs)
    cx, cy = xs.mean(), ys.mean()
    z = (xs - cx) + 1j * (ys - cy)
    r = np.abs(z)
    r_max = r.max() + 0.5
    # The hull of the pixel squares: each row's extreme pixels, corners included.
    corners = []
    for y in np.unique(ys):
        row = xs[ys == y]
        lo, hi = row.min(), row.max() + 1
        corners += [(lo, y), (lo, y + 1), (hi, y), (hi, y + 1)]
    hull = _hull_area(np.array(corners))
    features = {
        "fill": area / (math.pi * r_max * r_max),
        "solidity": area / hull if hull > 0 else 1.0,
    }
    for n in (3, 4, 5):
        features[f"m{n}"] = float(np.abs(np.sum(z**n)) / max(np.sum(r**n), 1e-9))
    return features


# Median features of clean renders (32x32 and 64x64) per shape; the nearest one wins.
SHAPE_PROTOTYPES = {
    "circle": (0.85, 0.92, 0.03, 0.05, 0.04),
    "square": (0.66, 0.96, 0.02, 0.44, 0.04),
    "triangle": (0.45, 0.86, 0.64, 0.04, 0.09),
    "star": (0.50, 0.68, 0.05, 0.07, 0.75),
}
_FEATURE_KEYS = ("fill", "solidity", "m3", "m4", "m5")


def classify_shape(features: Mapping[str, float]) -> str:
    """Name a shape from `_shape_features` ("circle" stands for circle and ball)."""
    x = np.array([features[k] for k in _FEATURE_KEYS])
    names = list(SHAPE_PROTOTYPES)
    protos = np.array([SHAPE_PROTOTYPES[n] for n in names])
    return names[int(np.argmin(np.linalg.norm(protos - x, axis=1)))]


def _turn(masks: list[Array], n: int) -> float:
    """How far an n-fold shape turns over the frames, in fractions of its period."""
    phases = []
    for mask in masks:
        ys, xs = np.nonzero(mask)
        z = (xs - xs.mean()) + 1j * (ys - ys.mean())
        phases.append(np.angle(np.sum(z**n)))
    steps = np.angle(np.exp(1j * np.diff(phases)))
    return float(abs(np.sum(steps)) / (2 * math.pi))


def _motion(masks: list[Array], present: Array, shape: str | None, h: int, w: int) -> str | None:
    idx = np.nonzero(present)[0]
    if len(idx) < max(3, len(masks) // 2):
        return None
    areas = np.array([masks[i].sum() for i in idx], dtype=np.float64)
    cents = np.array(
        [(np.nonzero(masks[i])[1].mean(), np.nonzero(masks[i])[0].mean()) for i in idx]
    )
    cx, cy = cents[:, 0], cents[:, 1]
    if np.median(areas[-2:]) > GROWTH * np.median(areas[:2]):
        return "growing"
    low = int(np.argmax(cy))
    if 0 < low < len(cy) - 1 and min(cy[low] - cy[0], cy[low] - cy[-1]) > BOUNCE * h:
        return "bouncing"
    dx, dy = cx[-1] - cx[0], cy[-1] - cy[0]
    if max(abs(dx) / w, abs(dy) / h) > TRAVEL:
        if abs(dx) / w > abs(dy) / h:
            return "right" if dx > 0 else "left"
        return "down" if dy > 0 else "up"
    n = {"triangle": 3, "square": 4, "star": 5}.get(shape or "")
    if n is not None and _turn([masks[i] for i in idx], n) > SPIN:
        return "spinning"
    return "still"


def object_masks(frames: Array, count: int = 1) -> tuple[str, list[tuple[Array, Array]]]:
    """The background's name and, per object found (up to `count`), its colour and masks.

    The colour is an sRGB triple; the masks are (T, H, W) booleans, one frame each.
    """
    f = np.asarray(frames, dtype=np.float32)
    h, w = f.shape[1:3]
    bg, rows = _background_model(f)
    features = _row_features(rows)
    protos = _background_prototypes(h, w)
    background = BACKGROUNDS[int(np.argmin(np.linalg.norm(protos - features, axis=1)))]

    distance = _norm(_blur(f) - _blur(bg[None]))
    fg = distance > FOREGROUND_DISTANCE
    colours = _object_colours(f, bg, fg, count)
    if not colours:
        return background, []

    diff = f - bg[None]
    alphas, residuals = [], []
    for c in colours:
        d = c - bg
        denom = np.maximum(np.sum(d * d, axis=-1), 1.0)
        alpha = np.sum(diff * d[None], axis=-1) / denom
        alphas.append(alpha)
        residuals.append(_norm(diff - alpha[..., None] * d[None]))
    alpha_all = np.stack(alphas)
    residual_all = np.where(alpha_all > 0.5, np.stack(residuals), np.inf)
    owner = np.argmin(residual_all, axis=0)
    any_owner = np.isfinite(residual_all.min(axis=0))

    return background, [
        (c, _keep_main_blob(_clean(any_owner & (owner == k)))) for k, c in enumerate(colours)
    ]


def analyse(frames: Array, count: int = 1) -> ClipReport:
    """Measure a clip (T, H, W, 3) uint8 with up to `count` objects; no caption needed."""
    t, h, w, _ = np.shape(frames)
    background, found = object_masks(frames, count)
    objects = []
    for c, mask in found:
        masks = list(mask)
        areas = mask.sum(axis=(1, 2))
        present = areas >= MIN_AREA
        if not present.any():
            continue
        order = np.argsort(-areas, kind="stable")[: max(1, t // 2)]
        picks = order[np.linspace(0, len(order) - 1, min(4, len(order))).astype(int)]
        shape_features = [_shape_features(masks[i]) for i in picks if present[i]]
        merged = {
            key: float(np.median([s[key] for s in shape_features])) for key in shape_features[0]
        }
        shape = classify_shape(merged)
        side = math.sqrt(float(np.median(areas[present]))) / w
        merged["size"] = side
        objects.append(
            ObjectReport(
                colour=_name_colour(c),
                rgb=(float(c[0]), float(c[1]), float(c[2])),
                shape=shape,
                size="small" if side < SIZE_THRESHOLD else "big",
                motion=_motion(masks, present, shape, h, w),
                features=merged,
            )
        )
    return ClipReport(background, objects)


def _same_shape(a: str | None, b: str) -> bool:
    if a is None:
        return False
    return a == b or (a in ROUND_SHAPES and b in ROUND_SHAPES)


def evaluate(frames: Array, spec: SceneSpec) -> dict[str, bool]:
    """Per attribute, whether the clip shows what the spec says (None attributes skipped)."""
    report = analyse(frames, len(spec.objects))
    result: dict[str, bool] = {}
    if spec.background is not None:
        result["background"] = report.background == spec.background
    found = report.objects
    # Pair detected objects with the spec's by colour, the cheapest assignment overall.
    best: list[ObjectReport | None] = [None] * len(spec.objects)
    best_cost = math.inf
    for perm in itertools.permutations(range(len(found)), min(len(found), len(spec.objects))):
        cost = sum(
            float(
                np.linalg.norm(
                    srgb_to_lab(np.array(found[j].rgb)) - srgb_to_lab(np.array(COLOURS[o.colour]))
                )
            )
            for o, j in zip(spec.objects, perm, strict=False)
        )
        if cost < best_cost:
            best_cost = cost
            best = [found[j] for j in perm] + [None] * (len(spec.objects) - len(perm))
    pairs = list(zip(spec.objects, best, strict=True))
    result["colour"] = all(r is not None and r.colour == o.colour for o, r in pairs)
    result["shape"] = all(r is not None and _same_shape(r.shape, o.shape) for o, r in pairs)
    sized = [(o, r) for o, r in pairs if o.size is not None and spec.motion != "growing"]
    if sized:
        result["size"] = all(r is not None and r.size == o.size for o, r in sized)
    if spec.motion is not None:
        result["motion"] = all(r is not None and r.motion == spec.motion for _, r in pairs)
    return result


def accuracy(results: Iterable[Mapping[str, bool]]) -> dict[str, float]:
    """Fraction of results that pass, per attribute (over the results that check it)."""
    passed: dict[str, list[bool]] = {}
    for result in results:
        for key, ok in result.items():
            passed.setdefault(key, []).append(ok)
    return {key: float(np.mean(passed[key])) for key in ATTRIBUTES if key in passed}
