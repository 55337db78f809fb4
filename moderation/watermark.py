"""Watermarks burned into every clip: a visible moving "AI" label, and an invisible id.

The invisible mark (moderation/watermark_tile.py) is a 192-pixel tile of band-limited noise
repeated over the frame's luma (about 39.8 dB PSNR), whose spectrum carries the clip's 48-bit
watermark id and its CRC-32, convolutionally coded (moderation/watermark_code.py), beside
pilots that let a reader find the tile again. It is found in the copies other apps make of a
shared clip: resized by any factor from 0.5x to 2x (and 0.33x, down to about 160 pixels
across), even by slightly different factors across and down; cropped by up to 20% of each
side; re-encoded with H.264 at CRF 18 to 35; at another frame rate; letterboxed into another
shape. The reader estimates the copy's scale from the autocorrelation of the frames' summed
detail, refines it by matching the pilots, takes the offset from where they match, and
decodes. Clips published before it carry the first mark (moderation/watermark_legacy.py),
which is still read as a fallback, as before: as stored, or re-encoded at its size or at
exactly half of it.

False matches. A reading counts only when the CRC-32 matches, so each decoding checked is one
guess with a 2**-32 chance of passing on a video that carries no mark. A reading checks at
most TRIES (3) decodings of the tile mark and 2 x 2**8 Chase guesses of the first mark: 515
guesses, so at most 515 / 2**32 = 1.2e-7 false matches a video read (one in 8.3 million),
under the budget of one in a million. bench/provenance.py reads 10,000 unmarked frames as
one-frame videos: none matched, and the check bits of their decodings agreed with the CRC
as coin flips would.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from . import watermark_tile
from .watermark_code import CHECK_BITS, PAYLOAD_BITS
from .watermark_legacy import GUESSES as LEGACY_GUESSES
from .watermark_legacy import LegacyReader

# Too small a frame for the mark (imwatermark's floor, kept): such frames get the label only.
MIN_PIXELS = 256 * 256
TRIES = watermark_tile.TRIES
GUESSES = TRIES + LEGACY_GUESSES
FALSE_MATCH_RATE = GUESSES / 2**CHECK_BITS  # per video read, at most
# A video is read from at most this many frames, spread over it.
MAX_READ_FRAMES = 32
# The most frame data one reading decodes into arrays (RGB bytes), one frame at a time: 32
# frames up to about 800x830, fewer as frames grow (2 at 4K), so an upload's size in pixels
# bounds the work done, not only the memory.
MAX_READ_BYTES = 64 * 2**20


@dataclass(frozen=True)
class WatermarkReading:
    """The id found in a video's frames, or None, and how many frames were read."""

    payload: int | None
    confidence: float  # how sure the decoding is, 0 to 1 (share of coded bits agreeing)
    frames_read: int


def _label_image(label: str, height: int) -> Image.Image:
    """The label as an RGBA tile: white text on a translucent dark pill."""
    size = max(9, round(height * 0.035))
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = (int(v) for v in font.getbbox(label))
    pad = max(2, size // 3)
    tile = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    draw.rounded_rectangle((0, 0, tile.width - 1, tile.height - 1), radius=pad, fill=(0, 0, 0, 120))
    draw.text((pad - left, pad - top), label, font=font, fill=(255, 255, 255, 235))
    return tile


# Where the label may go, per shape of frame, as fractions of it (left, top, right, bottom):
# clear of what Riff's player lays over a clip. A 9:16 clip fills a phone's screen, under the
# header (top 8%), the action rail (right 22%, from the caption up to mid-height) and the
# owner, caption and prompt (bottom 22%); a 16:9 or 1:1 clip sits in the middle of the
# screen, overlaid less, but a desktop page and an embed put the same things over its edges.
SAFE_ZONES = {
    "9:16": (0.04, 0.12, 0.76, 0.74),
    "16:9": (0.03, 0.10, 0.82, 0.78),
    "1:1": (0.04, 0.10, 0.78, 0.76),
}
# Seconds the label takes from one corner of its zone to the next: slow enough to read and
# not to flicker (a 2-second clip moves it half a side), never resting in one corner.
LEG_S = 4.0


def safe_zone(width: int, height: int) -> tuple[float, float, float, float]:
    """The label's zone for a frame of this size (the nearest of SAFE_ZONES' shapes)."""
    ratio = width / height
    shape = "9:16" if ratio < 0.8 else "16:9" if ratio > 1.25 else "1:1"
    return SAFE_ZONES[shape]


def label_position(
    index: int,
    frame: tuple[int, int],
    tile: tuple[int, int],
    *,
    fps: float,
    start: int = 0,
) -> tuple[int, int]:
    """Where the label's top left sits at frame `index`: it glides along the sides of its
    safe zone (`safe_zone`), a side every LEG_S seconds, from corner `start` (0 to 3:
    top left, bottom left, bottom right, top right)."""
    width, height = frame
    zone = safe_zone(width, height)
    left, top = round(zone[0] * width), round(zone[1] * height)
    # A label too big for the zone (a tiny frame) stays inside the frame at least.
    right = max(0, min(round(zone[2] * width) - tile[0], width - tile[0]))
    bottom = max(0, min(round(zone[3] * height) - tile[1], height - tile[1]))
    left, top = min(left, right), min(top, bottom)
    corners = [(left, top), (left, bottom), (right, bottom), (right, top)]
    t = index / fps / LEG_S + start
    leg = int(t)
    a, b = corners[leg % 4], corners[(leg + 1) % 4]
    f = t - leg
    return round(a[0] + (b[0] - a[0]) * f), round(a[1] + (b[1] - a[1]) * f)


def _checked(frames: np.ndarray, payload: int) -> np.ndarray:
    """The frames as a (T, H, W, 3) uint8 array; ValueError for a bad payload or shape."""
    if not 0 <= payload < 2**PAYLOAD_BITS:
        raise ValueError(f"payload must be in [0, 2**{PAYLOAD_BITS}), got {payload}")
    video = np.asarray(frames)
    if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {video.shape} {video.dtype}")
    return video


def label_frames(frames: np.ndarray, *, payload: int, label: str, fps: float) -> np.ndarray:
    """The frames with the moving label burned in (played at `fps`), and nothing else.

    The label starts in a corner of its zone that the payload picks, so clips don't all
    carry it in the same place.
    """
    video = _checked(frames, payload)
    height, width = video.shape[1:3]
    tile = _label_image(label, height)
    out = np.empty_like(video)
    tw, th = tile.size
    for index, frame in enumerate(video):
        # Only the label's own patch is composited: the rest of the frame stays as it is.
        x, y = label_position(index, (width, height), tile.size, fps=fps, start=payload % 4)
        rgb = out[index]
        rgb[:] = frame
        patch = Image.fromarray(rgb[y : y + th, x : x + tw]).convert("RGBA")
        patch.alpha_composite(tile.crop((0, 0, patch.width, patch.height)))
        rgb[y : y + th, x : x + tw] = np.asarray(patch.convert("RGB"))
    return out


def mark_frames(frames: np.ndarray, *, payload: int, label: str, fps: float) -> np.ndarray:
    """Burn the moving label into every frame (played at `fps`), then embed `payload`
    invisibly in each (moderation/watermark_tile.py).

    Frames smaller than 256x256 pixels (Riff's tiny test models) get the label only.
    """
    out = label_frames(frames, payload=payload, label=label, fps=fps)
    height, width = out.shape[1:3]
    if height * width >= MIN_PIXELS:
        plane = watermark_tile.mark_plane(payload, height, width)
        for index, rgb in enumerate(out):
            out[index] = watermark_tile.embed(rgb, plane)
    return out


def read_payload(frames: Iterable[np.ndarray]) -> WatermarkReading:
    """The id the frames carry, however the copy was resized, cropped or re-encoded; None if
    none.

    The frames are read one at a time, each turned into what the readers keep (its detail
    summed into one array, and the first few frames' scores for the first mark) and dropped
    before the next; then the tile mark is searched for and, failing that, the first mark.
    """
    tiled, legacy = watermark_tile.TileReader(), LegacyReader()
    seen = 0
    for frame in frames:
        rgb = np.asarray(frame, dtype=np.uint8)
        seen += 1
        tiled.add(rgb)
        legacy.add(rgb)
        del frame, rgb  # dropped before the next frame is decoded
    found = tiled.result()
    if found.payload is not None:
        return WatermarkReading(found.payload, round(found.confidence, 3), seen)
    payload, confidence = legacy.result()
    return WatermarkReading(payload, round(confidence, 3), seen)


class TooSlow(Exception):
    """Reading the frames went past its deadline."""


def _sampled_frames(
    source: str | IO[bytes], *, deadline: float | None = None
) -> Iterator[np.ndarray]:
    """Up to MAX_READ_FRAMES RGB frames (fewer for big frames) spread over the video.

    Only the frames kept are converted into arrays, one at a time, and decoding stops once
    they are all given, so a long, huge or endless upload costs a bounded number of frames. A
    damaged stream ends the reading where the damage starts: the frames before it still
    count. Past `deadline` (time.monotonic()), TooSlow is raised.
    """
    with av.open(source, mode="r") as container:
        stream = container.streams.video[0]
        size = 3 * max(1, stream.codec_context.width * stream.codec_context.height)
        keep = max(1, min(MAX_READ_FRAMES, MAX_READ_BYTES // size))
        total = stream.frames or _estimated_frames(container, stream)
        step = max(1, math.ceil(total / keep)) if total else 1
        kept = 0
        try:
            for index, frame in enumerate(container.decode(stream)):
                if deadline is not None and time.monotonic() > deadline:
                    raise TooSlow
                if index % step == 0:
                    yield frame.to_ndarray(format="rgb24")
                    kept += 1
                    if kept >= keep:
                        return
        except av.FFmpegError:
            return


def _estimated_frames(container: av.container.InputContainer, stream: av.video.VideoStream) -> int:
    """Frames in a video whose header gives no count: its duration times its frame rate."""
    rate = stream.average_rate or stream.guessed_rate
    if container.duration is None or not rate:
        return 0
    return int(container.duration / av.time_base * float(rate))


def read_video_payload(
    source: str | IO[bytes], *, deadline: float | None = None
) -> WatermarkReading:
    """Read the id from a video file (a path or a binary file object); TooSlow past deadline."""
    return read_payload(_sampled_frames(source, deadline=deadline))
