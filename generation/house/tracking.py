"""Frame-to-frame tracking of a clip's object, generated against the real rendered clip.

The evaluator says whether a clip's motion has the captioned name; this says how far the
model is from it, in pixels, which moves before the names do. Per single-object clip, from
the evaluator's own object masks (`evaluator.object_masks`):

- travel: the object's centroid from its first to its last frame, projected on the captioned
  direction (left, right, up or down), in pixels; negative is the wrong way;
- change: the mean absolute change of a pixel channel (0-255) between consecutive frames,
  over the whole frame: a steady object over a steady background changes little, a clip
  whose frames each get their own speckle changes a lot;
- area: the object's median area over its frames, against the real clip's;
- growth: for growing objects, the area of the last two frames over the first two.

`TrackingTally` adds these up over an evaluation (pass its `add` as `evaluate_pipeline`'s
`observe`) for the generated and the real clips alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .evaluator import MIN_AREA, object_masks
from .specs import Array, Sample, SceneSpec

DIRECTIONS = {"left": (-1.0, 0.0), "right": (1.0, 0.0), "up": (0.0, -1.0), "down": (0.0, 1.0)}


@dataclass
class Track:
    """One object followed through a clip."""

    centroids: Array  # (T, 2) x, y in pixels; nan where the object is not found
    areas: Array  # (T,) pixels
    change: float  # mean absolute change between consecutive frames, 0-255


def frame_change(frames: Array) -> float:
    """Mean absolute change of a pixel channel (0-255) between consecutive frames."""
    f = np.asarray(frames, dtype=np.float32)
    return float(np.abs(np.diff(f, axis=0)).mean()) if len(f) > 1 else 0.0


def track(frames: Array) -> Track:
    """The largest object of a clip (T, H, W, 3) uint8, frame by frame."""
    _, found = object_masks(frames, 1)
    t = len(frames)
    centroids = np.full((t, 2), np.nan)
    areas = np.zeros(t)
    if found:
        masks = max((m for _, m in found), key=lambda m: int(m.sum()))
        for i, mask in enumerate(masks):
            ys, xs = np.nonzero(mask)
            areas[i] = len(xs)
            if len(xs) >= MIN_AREA:
                centroids[i] = (xs.mean(), ys.mean())
    return Track(centroids, areas, frame_change(frames))


def travel(clip: Track, motion: str) -> float | None:
    """Pixels travelled from the first to the last frame the object is in, along `motion`."""
    present = np.nonzero(~np.isnan(clip.centroids[:, 0]))[0]
    if motion not in DIRECTIONS or len(present) < 2:
        return None
    moved = clip.centroids[present[-1]] - clip.centroids[present[0]]
    return float(np.dot(moved, DIRECTIONS[motion]))


def growth(clip: Track) -> float | None:
    """Area of the last two frames over the first two (None when either is empty)."""
    first, last = np.median(clip.areas[:2]), np.median(clip.areas[-2:])
    return float(last / first) if first >= MIN_AREA and last >= MIN_AREA else None


def median_area(clip: Track) -> float | None:
    """The object's median area over the frames it is in."""
    present = clip.areas[clip.areas >= MIN_AREA]
    return float(np.median(present)) if len(present) else None


def compare(generated: Array, real: Array, spec: SceneSpec) -> dict[str, float | None]:
    """Tracking figures of a generated clip and the real clip of the same single-object spec."""
    g, r = track(generated), track(real)
    motion = spec.motion or ""
    g_area, r_area = median_area(g), median_area(r)
    grows = motion == "growing"
    return {
        "travel": travel(g, motion),
        "real_travel": travel(r, motion),
        "change": g.change,
        "real_change": r.change,
        "area_ratio": g_area / r_area if g_area is not None and r_area else None,
        "growth": growth(g) if grows else None,
        "real_growth": growth(r) if grows else None,
        "found": float(g_area is not None),
    }


@dataclass
class TrackingTally:
    """Tracking figures gathered over many single-object clips (others are left out)."""

    rows: list[dict[str, float | None]] = field(default_factory=list)

    def add(self, generated: Array, sample: Sample) -> None:
        """Track one generated clip against its sample's real one."""
        if len(sample.spec.objects) == 1:
            self.rows.append(compare(generated, sample.frames, sample.spec))

    def summary(self) -> dict[str, float]:
        """Means (area ratio: median) over the clips that have each figure."""

        def values(key: str) -> list[float]:
            return [v for row in self.rows if (v := row[key]) is not None]

        def mean(key: str) -> float:
            found = values(key)
            return float(np.mean(found)) if found else float("nan")

        travels = values("travel")
        ratios = values("area_ratio")
        return {
            "clips": len(self.rows),
            "travel": mean("travel"),
            "real_travel": mean("real_travel"),
            # Moved at least 2 px the captioned way (chance, for a still blob: well under 50%).
            "right_way": float(np.mean([v >= 2.0 for v in travels])) if travels else float("nan"),
            "directional_clips": len(travels),
            "change": mean("change"),
            "real_change": mean("real_change"),
            "area_ratio": float(np.median(ratios)) if ratios else float("nan"),
            "growth": mean("growth"),
            "real_growth": mean("real_growth"),
            "found": mean("found"),
        }
