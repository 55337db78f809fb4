"""Video files: encode frames to browser-ready MP4, make posters, read what a file is."""

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
    audio: bool = False  # whether it carries a sound track


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
                audio=bool(container.streams.audio),
            )
    except av.error.FFmpegError as exc:
        raise ValueError(f"The file is not a readable video ({exc.strerror}).") from exc
