"""Drawing a scene spec as frames: textured backgrounds, anti-aliased shapes, motion paths."""

from __future__ import annotations

import math

import numpy as np

from .specs import (
    BACKGROUND_COLOURS,
    COLOURS,
    EXTENT,
    RADIUS,
    ROUND_SHAPES,
    SPIN_FRACTION,
    SUPERSAMPLE,
    SYMMETRY,
    Array,
    SceneSpec,
)


def _lerp_rows(top: Array, bottom: Array, h: int, w: int) -> Array:
    y = np.linspace(0.0, 1.0, h)[:, None, None]
    return np.broadcast_to(top * (1 - y) + bottom * y, (h, w, 3)).astype(np.float32)


def render_background(name: str, h: int, w: int, rng: np.random.Generator) -> Array:
    """A background image (H, W, 3) float32, textured from `rng`."""
    top, bottom = (np.array(c, dtype=np.float32) for c in BACKGROUND_COLOURS[name])
    img = _lerp_rows(top, bottom, h, w).copy()
    y = np.linspace(0.0, 1.0, h)[:, None]
    x = np.linspace(0.0, 1.0, w)[None, :]
    grain = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    if name == "sky":
        img += 3.0 * grain[..., None]
    elif name == "sea":
        phase = rng.uniform(0, 2 * math.pi)
        waves = np.sin(2 * math.pi * (5.0 * y + 0.35 * np.sin(2 * math.pi * 1.5 * x + phase)))
        img += (16.0 * np.clip(waves, 0, 1) ** 3)[..., None] * np.array([0.6, 1.0, 1.0])
        img += 3.0 * grain[..., None]
    elif name == "grass":
        blades = rng.normal(0.0, 1.0, (1, w)).astype(np.float32) * (0.4 + y)
        img += (9.0 * blades + 4.0 * grain)[..., None] * np.array([0.7, 1.0, 0.5])
    elif name == "sand":
        dunes = np.sin(2 * math.pi * (2.0 * y + 0.2 * np.sin(2 * math.pi * x + rng.uniform(0, 6))))
        img += (5.0 * dunes + 6.0 * grain)[..., None]
    elif name == "night":
        img += 2.0 * grain[..., None]
        stars = rng.random((h, w)) < 1.0 / 70.0
        img[stars] = rng.uniform(120, 200, (int(stars.sum()), 1))
    else:
        vignette = ((x - 0.5) ** 2 + (y - 0.5) ** 2) * (-12.0 if name != "black" else 12.0)
        img += (vignette + 1.5 * grain)[..., None]
    return img


def _polygon(shape: str, scale: float, angle: float) -> Array:
    if shape == "square":
        k, radii, start = 4, [scale * EXTENT["square"]], math.pi / 4
    elif shape == "triangle":
        k, radii, start = 3, [scale * EXTENT["triangle"]], -math.pi / 2
    else:
        outer = scale * EXTENT["star"]
        k, radii, start = 10, [outer, 0.5 * outer], -math.pi / 2
    angles = start + angle + 2 * math.pi * np.arange(k) / k
    r = np.array([radii[i % len(radii)] for i in range(k)])
    return np.stack([r * np.cos(angles), r * np.sin(angles)], axis=1)


def _inside(shape: str, dx: Array, dy: Array, scale: float, angle: float) -> Array:
    """Which points (offsets from the centre) fall inside the shape."""
    if shape in ROUND_SHAPES:
        return dx * dx + dy * dy <= scale * scale
    verts = _polygon(shape, scale, angle)
    inside = np.zeros(dx.shape, dtype=bool)
    for i in range(len(verts)):
        (xi, yi), (xj, yj) = verts[i], verts[i - 1]
        if yi == yj:
            continue
        crosses = (yi > dy) != (yj > dy)
        inside ^= crosses & (dx < (xj - xi) * (dy - yi) / (yj - yi) + xi)
    return inside


def _draw(
    frame: Array, shape: str, rgb: Array, cx: float, cy: float, scale: float, angle: float
) -> None:
    h, w, _ = frame.shape
    reach = scale * EXTENT[shape] + 1.0
    x0, x1 = max(0, int(cx - reach)), min(w, int(math.ceil(cx + reach)))
    y0, y1 = max(0, int(cy - reach)), min(h, int(math.ceil(cy + reach)))
    if x1 <= x0 or y1 <= y0:
        return
    s = SUPERSAMPLE
    xs = x0 + (np.arange((x1 - x0) * s) + 0.5) / s - cx
    ys = y0 + (np.arange((y1 - y0) * s) + 0.5) / s - cy
    dx, dy = np.meshgrid(xs, ys)
    inside = _inside(shape, dx, dy, scale, angle).astype(np.float32)
    shape_hw = (y1 - y0, s, x1 - x0, s)
    alpha = inside.reshape(shape_hw).mean(axis=(1, 3))
    if shape == "ball":
        # Lit from the upper left: brighter there, darker towards the far rim.
        nz = np.sqrt(np.clip(1.0 - (dx * dx + dy * dy) / (scale * scale), 0.0, 1.0))
        light = (-0.45 * dx / scale - 0.45 * dy / scale + 0.77 * nz).clip(0.0, 1.0)
        shade = (inside * (0.72 + 0.45 * light)).reshape(shape_hw).mean(axis=(1, 3))
        colour = rgb * (shade / np.maximum(alpha, 1e-6))[..., None]
    else:
        colour = np.broadcast_to(rgb, (y1 - y0, x1 - x0, 3))
    patch = frame[y0:y1, x0:x1]
    a = alpha[..., None]
    frame[y0:y1, x0:x1] = patch * (1.0 - a) + np.clip(colour, 0, 255) * a


def _trajectories(
    spec: SceneSpec, h: int, w: int, t: Array, rng: np.random.Generator
) -> list[tuple[Array, Array, Array, Array]]:
    """Centre x, centre y, radius and angle over time, in pixels and radians, per object."""
    motion = spec.motion
    mx, my = 0.07 * w, 0.03 * h
    count = len(spec.objects)
    horizontal = motion in ("left", "right")
    paths = []
    for i, obj in enumerate(spec.objects):
        if count == 1:
            box = (mx, w - mx, my, h - my)
        elif horizontal:
            box = (mx, w - mx, my, h / 2) if i == 0 else (mx, w - mx, h / 2, h - my)
        else:
            box = (mx, w / 2, my, h - my) if i == 0 else (w / 2, w - mx, my, h - my)
        if motion == "growing":
            # Two objects share the frame, so they only grow to small.
            final = RADIUS["big"] if count == 1 else RADIUS["small"]
            radius = np.linspace(0.5 * RADIUS["small"], final, len(t)) * w
        else:
            radius = np.full(len(t), RADIUS[obj.size or "small"] * w)
        reach = float(radius.max()) * EXTENT[obj.shape]
        xa, xb = box[0] + reach, box[1] - reach
        ya, yb = box[2] + reach, box[3] - reach
        if xa > xb:
            xa = xb = (box[0] + box[1]) / 2
        if ya > yb:
            ya = yb = (box[2] + box[3]) / 2
        jitter = rng.uniform(0.0, 0.05, 2)
        cx = np.full(len(t), rng.uniform(xa, xb))
        cy = np.full(len(t), rng.uniform(ya, yb))
        angle = np.zeros(len(t))
        if motion in ("left", "right"):
            start, end = xb - jitter[0] * (xb - xa), xa + jitter[1] * (xb - xa)
            if motion == "right":
                start, end = w - start, w - end
            cx = start + (end - start) * t
        elif motion in ("up", "down"):
            start, end = yb - jitter[0] * (yb - ya), ya + jitter[1] * (yb - ya)
            if motion == "down":
                start, end = end, start
            cy = start + (end - start) * t
        elif motion == "bouncing":
            height = np.abs(np.cos(math.pi * (t + rng.uniform(0.0, 0.15))))
            cy = yb - height * (yb - ya)
        elif motion == "spinning" and obj.shape in SYMMETRY:
            # (A circle or ball a prompt says is spinning looks the same at every turn.)
            period = 2 * math.pi / SYMMETRY[obj.shape]
            turn = SPIN_FRACTION * period * (1 if rng.random() < 0.5 else -1)
            angle = rng.uniform(0, period) + turn * t
        paths.append((cx, cy, radius, angle))
    return paths


def render(spec: SceneSpec, size: int = 32, frames: int = 8) -> Array:
    """Draw a spec as uint8 frames (T, H, W, 3); the same spec always gives the same clip."""
    return render_scene(spec, size, frames)[0]


def render_scene(spec: SceneSpec, size: int = 32, frames: int = 8) -> tuple[Array, Array]:
    """The clip `render` draws, and where its objects are halfway through it.

    The centres are (objects, 2) floats, x and y as fractions of the frame, in the spec's
    order of objects: the layout a layout-conditioned model is trained on (layout.py).
    """
    if spec.background is None or spec.motion is None:
        raise ValueError("render needs a complete spec")
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 7]))
    h = w = size
    background = render_background(spec.background, h, w, rng)
    t = np.linspace(0.0, 1.0, frames)
    paths = _trajectories(spec, h, w, t, rng)
    out = np.empty((frames, h, w, 3), dtype=np.uint8)
    for k in range(frames):
        frame = background.copy()
        for obj, (cx, cy, radius, angle) in zip(spec.objects, paths, strict=True):
            rgb = np.array(COLOURS[obj.colour], dtype=np.float32)
            _draw(frame, obj.shape, rgb, cx[k], cy[k], radius[k], angle[k])
        out[k] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return out, _midpoints(paths, h, w)


def _midpoints(paths: list[tuple[Array, Array, Array, Array]], h: int, w: int) -> Array:
    """Each path's centre halfway through the clip, as fractions of the frame."""
    points = []
    for cx, cy, _radius, _angle in paths:
        t = np.linspace(0.0, 1.0, len(cx))
        points.append((np.interp(0.5, t, cx) / w, np.interp(0.5, t, cy) / h))
    return np.array(points, dtype=np.float32).reshape(-1, 2)


def plan_centres(spec: SceneSpec, size: int, frames: int, rng: np.random.Generator) -> Array:
    """Where a complete spec's objects could be halfway through a clip: a fresh draw of the
    layouts `render_scene` makes, from `rng` instead of the spec's seed."""
    if spec.motion is None:
        raise ValueError("planning needs the motion")
    t = np.linspace(0.0, 1.0, frames)
    return _midpoints(_trajectories(spec, size, size, t, rng), size, size)
