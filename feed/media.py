"""Demo clips: procedural scenes for seed_demo and tests, real frames rather than noise."""

from __future__ import annotations

import numpy as np

_PALETTES = [
    # sky top, sea, ball, companion
    ((255, 138, 101), (80, 60, 160), (255, 236, 140), (255, 255, 255)),  # dusk
    ((120, 200, 255), (20, 90, 170), (255, 255, 255), (255, 200, 80)),  # sea
    ((170, 230, 140), (40, 120, 70), (250, 90, 90), (255, 250, 200)),  # meadow
    ((30, 30, 70), (5, 5, 20), (250, 240, 170), (140, 200, 255)),  # night
    ((255, 200, 220), (150, 90, 200), (80, 240, 220), (255, 255, 160)),  # candy
    ((250, 220, 160), (210, 140, 60), (60, 120, 220), (255, 120, 90)),  # desert
]


def _draw_disc(
    frame: np.ndarray, cx: float, cy: float, radius: float, colour: np.ndarray, glow: float
) -> None:
    """Blend an anti-aliased disc with a soft halo into a uint8 (H, W, 3) frame in place."""
    height, width, _ = frame.shape
    # The halo is below one grey level past ~3.4 radii, so only that box is touched.
    reach = radius * 3.4 if glow else radius + 1
    y0, y1 = max(0, int(cy - reach)), min(height, int(cy + reach) + 1)
    x0, x1 = max(0, int(cx - reach)), min(width, int(cx + reach) + 1)
    if y0 >= y1 or x0 >= x1:
        return
    # Squared distances from separable row and column terms: no per-pixel grid to build.
    dy2 = (np.arange(y0, y1, dtype=np.float32) - cy)[:, None] ** 2
    dx2 = (np.arange(x0, x1, dtype=np.float32) - cx)[None, :] ** 2
    d2 = dy2 + dx2
    weight = np.clip(radius - np.sqrt(d2), 0, 1)  # the disc, one pixel of anti-aliasing
    if glow:
        halo = np.exp(d2 * np.float32(-1 / (radius * 1.6) ** 2)) * np.float32(glow)
        weight += (1 - weight) * halo
    # One blend of the colour channels, weighted by disc and halo together.
    region = frame[y0:y1, x0:x1].astype(np.float32)
    region += (colour - region) * weight[..., None]
    frame[y0:y1, x0:x1] = region.astype(np.uint8)


def demo_clip_frames(
    seed: int, width: int = 360, height: int = 640, seconds: float = 2.0, fps: int = 24
) -> np.ndarray:
    """A procedural scene: sky over a shimmering sea, a bouncing ball and its small moon."""
    rng = np.random.default_rng(seed)
    sky, sea, ball, moon = (np.array(c, dtype=np.float32) for c in _PALETTES[seed % len(_PALETTES)])
    count = max(1, round(seconds * fps))
    horizon = int(height * rng.uniform(0.62, 0.72))
    # Sky fades from its colour towards the sea's; the sea darkens towards the viewer.
    up = np.linspace(0, 1, horizon, dtype=np.float32)[:, None]
    down = np.linspace(0, 1, height - horizon, dtype=np.float32)[:, None]
    column = np.concatenate([sky * (1 - 0.6 * up) + sea * 0.6 * up, sea * (1 - 0.35 * down)])
    depth = np.arange(height - horizon, dtype=np.float32)
    radius0 = min(width, height) * rng.uniform(0.08, 0.12)
    phase, speed = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.0)
    out = np.empty((count, height, width, 3), dtype=np.uint8)
    # The sky never changes: every frame starts from it, and only the sea rows and the
    # boxes around the two discs are recomputed.
    out[:, :horizon] = column[:horizon].astype(np.uint8)[None, :, None, :]
    for t in range(count):
        s = t / fps
        frame = out[t]
        # Waves: bands that widen towards the viewer and roll in over time.
        shimmer = 1 + 0.07 * np.sin(np.sqrt(depth + 1) * 2.4 - 3 * s + phase)
        sea_rows = np.clip(column[horizon:] * shimmer[:, None], 0, 255).astype(np.uint8)
        frame[horizon:] = sea_rows[:, None, :]
        radius = radius0 * (1 + 0.1 * np.sin(4 * s + phase))
        cx = width * (0.5 + 0.32 * np.sin(phase + np.pi * speed * s))
        # |cos| gives a bounce: fast at the water, slow at the top of the arc.
        cy = horizon - radius - (horizon * 0.5) * abs(np.cos(phase + 2 * np.pi * speed * s))
        _draw_disc(frame, cx, cy, radius, ball, glow=0.3)
        angle = 2 * np.pi * 1.5 * s + phase
        _draw_disc(
            frame,
            cx + 2.2 * radius * np.cos(angle),
            cy + 1.1 * radius * np.sin(angle),
            radius * 0.3,
            moon,
            glow=0.0,
        )
    return out
