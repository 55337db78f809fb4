"""House-model clips made fit to watch: upscaled, framed for the feed, smooth in time.

The model makes tiny clips (32x32, 8 frames) that play at `MODEL_FPS`: 8 frames are a
2-second clip. For the feed each clip is

- upscaled with Lanczos to the largest square that fits the display frame,
- centred on a blurred, darkened copy of itself stretched to fill the rest of the frame,
  so a square clip fills a vertical (or wide) frame without black bars, and
- interpolated in time to the display frame rate (a linear blend of neighbouring model
  frames: the objects move a few model pixels a frame, so a blend reads as motion blur,
  not as a double image).

Everything is done on uint8 images with PIL and numpy; a 2-second 512x912 clip at 24 fps
takes a fraction of a second on one core.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

# The model's frames are this far apart in time: its 8 frames make a 2-second clip.
MODEL_FPS = 4
# How much the blurred fill around the square clip is darkened, so the clip stands out.
FILL_BRIGHTNESS = 0.55
# Blur of the fill, in model pixels (it is blurred before it is upscaled, which is cheap).
FILL_BLUR = 1.5


def max_display_frames(native_frames: int, fps: int) -> int:
    """Display frames of the longest clip the model can make (its native frames) at `fps`."""
    return max(1, round(native_frames * fps / MODEL_FPS))


def model_frames(display_frames: int, fps: int, native_frames: int) -> int:
    """Model frames to sample for `display_frames` at `fps` (the same length at MODEL_FPS)."""
    return max(1, min(native_frames, round(display_frames * MODEL_FPS / fps)))


def interpolate_frames(frames: np.ndarray, count: int) -> np.ndarray:
    """`count` frames (T, H, W, 3) uint8 spanning `frames`, first to last, blended linearly."""
    if len(frames) == 1 or count == 1:
        return np.repeat(frames[:1], count, axis=0)
    position = np.linspace(0.0, len(frames) - 1, count)
    before = np.floor(position).astype(int).clip(0, len(frames) - 2)
    # Weights in 1/256ths and 16-bit sums, one frame at a time: a whole display clip in
    # floats would take hundreds of MB, and integer blends are several times faster.
    weights = np.round((position - before) * 256).astype(np.uint16)
    wide = frames.astype(np.uint16)
    out = np.empty((count, *frames.shape[1:]), dtype=np.uint8)
    for j, (i, weight) in enumerate(zip(before, weights, strict=True)):
        blend = wide[i] * (256 - weight) + wide[i + 1] * weight + 128
        out[j] = blend >> 8
    return out


def _fill(frame: Image.Image, width: int, height: int) -> Image.Image:
    """The frame cropped to the display aspect, blurred, darkened and stretched to fill it."""
    w, h = frame.size
    if width * h >= height * w:  # the display is wider than the frame: crop rows
        keep = max(1, round(w * height / width))
        box = (0, (h - keep) // 2, w, (h - keep) // 2 + keep)
    else:
        keep = max(1, round(h * width / height))
        box = ((w - keep) // 2, 0, (w - keep) // 2 + keep, h)
    crop = frame.crop(box).filter(ImageFilter.GaussianBlur(FILL_BLUR))
    crop = Image.eval(crop, lambda v: int(v * FILL_BRIGHTNESS))
    return crop.resize((width, height), Image.Resampling.BICUBIC)


def upscale_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """One (H, W, 3) uint8 frame as a `width` x `height` display frame (see the module)."""
    image = Image.fromarray(np.ascontiguousarray(frame))
    side = min(width, height)
    square = image.resize((side, side), Image.Resampling.LANCZOS)
    if (width, height) == (side, side):
        return np.asarray(square)
    canvas = _fill(image, width, height)
    canvas.paste(square, ((width - side) // 2, (height - side) // 2))
    return np.asarray(canvas)


def display_frames(frames: np.ndarray, *, width: int, height: int, num_frames: int) -> np.ndarray:
    """Model frames (T, h, w, 3) uint8 as `num_frames` display frames of `width` x `height`."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got shape {frames.shape}")
    # Upscaling is linear, so the model frames are upscaled and then blended: the same
    # picture as blending first, with a resize per model frame instead of per display frame.
    model = np.asarray(frames, dtype=np.uint8)
    large = np.stack([upscale_frame(frame, width, height) for frame in model])
    return interpolate_frames(large, num_frames)
