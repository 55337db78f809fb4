"""Video helpers: encode frames to browser-ready MP4, make posters, read what a file is."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import av
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds."""

    duration_s: float
    width: int
    height: int
    frames: int
    codec: str
    pix_fmt: str


def encode_mp4(frames: np.ndarray | list[np.ndarray], fps: int) -> bytes:
    """Encode RGB uint8 frames (T, H, W, 3) to H.264 MP4, yuv420p, moov first (fast start)."""
    stack = np.asarray(frames, dtype=np.uint8)
    if stack.ndim != 4 or stack.shape[-1] != 3 or len(stack) == 0:
        raise ValueError("frames must be a non-empty (T, H, W, 3) RGB array")
    _, height, width, _ = stack.shape
    if height % 2 or width % 2:
        raise ValueError("yuv420p needs an even width and height")
    # The faststart pass rewrites the file in place, which needs a real file, not a buffer.
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "23", "preset": "veryfast"}
            for frame in stack:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
        return path.read_bytes()


def poster_jpeg(frame: np.ndarray, quality: int = 85) -> bytes:
    """A JPEG poster image from one RGB frame."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(frame, dtype=np.uint8)).save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def probe(file: IO[bytes]) -> VideoInfo:
    """Read a video's size, length and codec; ValueError when it is not a readable video."""
    try:
        with av.open(file, mode="r") as container:
            if not container.streams.video:
                raise ValueError("The file has no video stream.")
            stream = container.streams.video[0]
            frames = stream.frames or sum(1 for packet in container.demux(stream) if packet.size)
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            else:
                duration = 0.0
            return VideoInfo(
                duration_s=round(duration, 3),
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                frames=frames,
                codec=stream.codec_context.name,
                pix_fmt=stream.codec_context.pix_fmt or "",
            )
    except av.error.FFmpegError as exc:
        raise ValueError(f"The file is not a readable video ({exc.strerror}).") from exc


_PALETTES = [
    ((255, 138, 101), (80, 60, 160), (255, 236, 140)),  # dusk
    ((120, 200, 255), (20, 90, 170), (255, 255, 255)),  # sea
    ((170, 230, 140), (40, 120, 70), (250, 90, 90)),  # meadow
    ((30, 30, 70), (5, 5, 20), (250, 240, 170)),  # night
    ((255, 200, 220), (150, 90, 200), (80, 240, 220)),  # candy
    ((250, 220, 160), (210, 140, 60), (60, 120, 220)),  # desert
]


def demo_clip_frames(
    seed: int, width: int = 360, height: int = 640, seconds: float = 2.0, fps: int = 24
) -> np.ndarray:
    """A procedural scene: a gradient sky and a bouncing, breathing ball; different per seed."""
    rng = np.random.default_rng(seed)
    top, bottom, ball = (np.array(c, dtype=np.float32) for c in _PALETTES[seed % len(_PALETTES)])
    count = max(1, round(seconds * fps))
    mix = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    background = np.broadcast_to(top * (1 - mix) + bottom * mix, (height, width, 3))
    radius0 = min(width, height) * rng.uniform(0.08, 0.14)
    phase, speed = rng.uniform(0, 2 * np.pi), rng.uniform(0.6, 1.2)
    out = np.empty((count, height, width, 3), dtype=np.uint8)
    out[:] = background.astype(np.uint8)
    for t in range(count):
        s = t / fps
        cx = width * (0.5 + 0.35 * np.sin(phase + 2 * np.pi * speed * s / 2))
        cy = height * (0.25 + 0.5 * abs(np.cos(phase + 2 * np.pi * speed * s)))
        radius = radius0 * (1 + 0.15 * np.sin(4 * s + phase))
        # Only the ball and its glow change, so only their box is drawn.
        reach = radius * 5  # the glow is below one grey level past this
        y0, y1 = max(0, int(cy - reach)), min(height, int(cy + reach) + 1)
        x0, x1 = max(0, int(cx - reach)), min(width, int(cx + reach) + 1)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        dist = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
        inside = np.clip(radius - dist, 0, 1)[..., None]  # one pixel of anti-aliasing
        glow = np.exp(-((dist / (radius * 2.2)) ** 2))[..., None] * 0.25
        region = background[y0:y1, x0:x1] * (1 - glow) + ball * glow
        out[t, y0:y1, x0:x1] = (region * (1 - inside) + ball * inside).astype(np.uint8)
    return out
