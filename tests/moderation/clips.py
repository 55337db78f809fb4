"""Clips for provenance tests: realistic frames, and re-encodes as another site would make."""

from __future__ import annotations

import io

import av
import numpy as np
from PIL import Image

from feed.media import demo_clip_frames


def scene(
    seed: int = 3, *, width: int = 480, height: int = 832, seconds: float = 1.0
) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of a demo scene at 12 fps, Wan's portrait size by default."""
    return np.stack(
        demo_clip_frames(seed=seed, width=width, height=height, seconds=seconds, fps=12)
    )


def reencoded(data: bytes, *, crf: int = 28, scale: float = 1.0, crop: float = 0.0) -> bytes:
    """The clip decoded and encoded again with libx264, optionally resized or cropped."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(out, mode="w", format="mp4") as target:
        stream = None
        for frame in source.decode(video=0):
            image = frame.to_image()
            if crop:
                dx, dy = int(image.width * crop / 2), int(image.height * crop / 2)
                image = image.crop((dx, dy, image.width - dx, image.height - dy))
            size = (int(image.width * scale) // 2 * 2, int(image.height * scale) // 2 * 2)
            image = image.resize(size, Image.Resampling.BICUBIC)
            if stream is None:
                stream = target.add_stream("libx264", rate=12, options={"crf": str(crf)})
                stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                target.mux(packet)
        assert stream is not None
        for packet in stream.encode():
            target.mux(packet)
    return out.getvalue()
