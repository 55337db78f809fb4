"""Watermarks burned into every clip: a visible moving "AI" label, and an invisible id.

The invisible mark is the DWT-DCT-SVD scheme of invisible-watermark's `dwtDctSvd` (plain
`dwtDct` does not survive a re-encode), one wavelet level deeper so that it outlives an
H.264 re-encode at CRF 28 and a 0.5x resize of a video, and done on all 4x4 blocks of a
frame at once with numpy (imwatermark's per-block Python loop costs ~100 ms a frame).
It carries the clip's 48-bit watermark id followed by a CRC-32 of it, so a reading counts
only when the check matches: an unmarked video reads as nothing, not as a random id.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

PAYLOAD_BITS = 48
CHECK_BITS = 32
MARK_BITS = PAYLOAD_BITS + CHECK_BITS
# Too few 4x4 blocks below this (imwatermark's own floor): such frames get the label only.
MIN_PIXELS = 256 * 256
# Blocks of 4x4 in the level-2 wavelet band of the U channel (16x16 pixels each): coarse
# enough to outlive 4:2:0 chroma, CRF 28 and a 0.5x resize, which dwtDctSvd's level 1 does
# not. Checked at Wan's 480x832; a 272x480 clip has a third of the blocks per bit and often
# loses the id to a 0.5x resize. The mark alone keeps frames at about 39 dB PSNR (flat
# gradients show it most).
PIXELS = 4  # a level-2 band coefficient covers 4x4 pixels
SCALE = 96.0
BLOCK = 4
GROUP = 2
# Bits a reading may correct, among the least certain (see _decide).
UNSURE_BITS = 8
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
    confidence: float  # how far the averaged bit scores sit from undecided (0 to 1)
    frames_read: int


def _bits(payload: int) -> list[int]:
    data = payload.to_bytes(PAYLOAD_BITS // 8, "big")
    check = zlib.crc32(data).to_bytes(CHECK_BITS // 8, "big")
    return [int(b) for b in np.unpackbits(np.frombuffer(data + check, dtype=np.uint8))]


def _payload(bits: np.ndarray) -> int | None:
    """The payload of 80 decoded bits when its check matches, else None."""
    raw = np.packbits(bits.astype(np.uint8)).tobytes()
    data, check = raw[: PAYLOAD_BITS // 8], raw[PAYLOAD_BITS // 8 :]
    if zlib.crc32(data).to_bytes(CHECK_BITS // 8, "big") != check:
        return None
    return int.from_bytes(data, "big")


def _decide(scores: np.ndarray) -> int | None:
    """The payload from averaged bit scores, also trying flips of the least certain bits.

    A re-encode tends to spoil the same few bits; flipping subsets of the UNSURE_BITS
    closest to undecided (Chase decoding) recovers them. That is 2**UNSURE_BITS guesses
    against a 32-bit check: about one false reading in 16 million unmarked videos.
    """
    hard = scores > 0.5
    unsure = np.argsort(np.abs(scores - 0.5))[:UNSURE_BITS]
    for flips in range(2**UNSURE_BITS):
        guess = hard.copy()
        for k, position in enumerate(unsure):
            if flips >> k & 1:
                guess[position] = not guess[position]
        payload = _payload(guess)
        if payload is not None:
            return payload
    return None


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


def _blocks(band: np.ndarray) -> np.ndarray:
    """The band's whole 4x4 blocks, row by row, as an (N, 4, 4) array (a view of a copy)."""
    rows, cols = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    cut = band[: rows * BLOCK, : cols * BLOCK]
    return cut.reshape(rows, BLOCK, cols, BLOCK).swapaxes(1, 2).reshape(-1, BLOCK, BLOCK)


def _bit_of_block(band: np.ndarray) -> np.ndarray:
    """Which bit each block carries: bits tile the frame in GROUP x GROUP patches of blocks.

    Neighbouring blocks carrying the same bit keep a blur (a resize) from mixing bits.
    """
    rows, cols = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    r, c = np.divmod(np.arange(rows * cols), cols)
    groups_per_row = -(-cols // GROUP)
    return ((r // GROUP) * groups_per_row + c // GROUP) % MARK_BITS


def _u_band(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame in YUV, and the level-2 Haar band of its U channel.

    That band is each 4x4 pixel square's sum over 4 (an orthonormal Haar level halves the
    size and doubles the scale), computed directly: no wavelet library round trip.
    """
    yuv = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), cv2.COLOR_BGR2YUV)
    rows, cols = yuv.shape[0] // PIXELS, yuv.shape[1] // PIXELS
    channel = yuv[: rows * PIXELS, : cols * PIXELS, 1].astype(np.float64)
    band = channel.reshape(rows, PIXELS, cols, PIXELS).sum(axis=(1, 3)) / PIXELS
    return yuv, band


def _embed(rgb: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """One frame with `bits` set in the largest singular value of each 4x4 block of the band."""
    yuv, band = _u_band(rgb)
    blocks = _blocks(band)
    u, s, vt = np.linalg.svd(blocks)
    wanted = bits[_bit_of_block(band)]
    # The DCT of dwtDctSvd is orthonormal, so a block's singular values are its own: moving
    # the largest one is a rank-one change along its singular vectors.
    s0 = s[:, 0]
    moved = (s0 // SCALE + 0.25 + 0.5 * wanted) * SCALE
    change = (moved - s0)[:, None, None] * (u[:, :, 0, None] * vt[:, None, 0, :])
    br, bc = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    delta = change.reshape(br, bc, BLOCK, BLOCK).swapaxes(1, 2).reshape(br * BLOCK, bc * BLOCK)
    # A band coefficient moved by d moves each pixel of its 4x4 square by d / 4.
    pixels = np.repeat(np.repeat(delta, PIXELS, axis=0), PIXELS, axis=1) / PIXELS
    rows, cols = pixels.shape
    channel = yuv[:rows, :cols, 1].astype(np.float64) + pixels
    yuv[:rows, :cols, 1] = np.clip(np.rint(channel), 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR), cv2.COLOR_BGR2RGB)


def _scores(rgb: np.ndarray) -> np.ndarray:
    """Each bit's share of blocks that read it as 1 (0.5 is undecided)."""
    band = _u_band(rgb)[1]
    s0 = np.linalg.svd(_blocks(band), compute_uv=False)[:, 0]
    ones = ((s0 % SCALE) > SCALE * 0.5).astype(np.float64)
    index = _bit_of_block(band)
    return np.bincount(index, ones, MARK_BITS) / np.maximum(np.bincount(index, None, MARK_BITS), 1)


def mark_frames(frames: np.ndarray, *, payload: int, label: str, fps: float) -> np.ndarray:
    """Burn the moving label into every frame (played at `fps`), then embed `payload`
    invisibly in each.

    The label starts in a corner of its zone that the payload picks, so clips don't all
    carry it in the same place. Frames smaller than 256x256 pixels (Riff's tiny test model)
    get the label only.
    """
    if not 0 <= payload < 2**PAYLOAD_BITS:
        raise ValueError(f"payload must be in [0, 2**{PAYLOAD_BITS}), got {payload}")
    video = np.asarray(frames)
    if video.ndim != 4 or video.shape[-1] != 3 or video.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {video.shape} {video.dtype}")
    height, width = video.shape[1:3]
    tile = _label_image(label, height)
    bits = np.array(_bits(payload))
    invisible = height * width >= MIN_PIXELS
    out = np.empty_like(video)
    tw, th = tile.size
    for index, frame in enumerate(video):
        # Only the label's own patch is composited: the rest of the frame stays as it is.
        x, y = label_position(index, (width, height), tile.size, fps=fps, start=payload % 4)
        rgb = frame.copy()
        patch = Image.fromarray(rgb[y : y + th, x : x + tw]).convert("RGBA")
        patch.alpha_composite(tile.crop((0, 0, patch.width, patch.height)))
        rgb[y : y + th, x : x + tw] = np.asarray(patch.convert("RGB"))
        out[index] = _embed(rgb, bits) if invisible else rgb
    return out


class _Reading:
    """Bit scores averaged over the frames seen so far, at one scale, frame by frame.

    A frame is turned into its 80 scores at once and dropped: a reading never holds frames.
    `shrink` 2 reads a copy downscaled by half, scaled back up first.
    """

    def __init__(self, shrink: int) -> None:
        self.shrink = shrink
        self.total = np.zeros(MARK_BITS)
        self.count = 0
        self.found: WatermarkReading | None = None

    def add(self, frame: np.ndarray) -> WatermarkReading | None:
        """Count one more frame; the reading once the averaged scores pass the check."""
        if self.found is not None:
            return self.found
        if self.shrink != 1:
            height, width = frame.shape[:2]
            size = (width * self.shrink, height * self.shrink)
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
        self.total += _scores(frame)
        self.count += 1
        mean = self.total / self.count
        payload = _decide(mean)
        if payload is not None:
            confidence = float(np.abs(mean - 0.5).mean() * 2)
            self.found = WatermarkReading(
                payload=payload, confidence=confidence, frames_read=self.count
            )
        return self.found


def read_payload(frames: Iterable[np.ndarray]) -> WatermarkReading:
    """The id the frames carry (as they are, or as a half-size copy of them); None if none.

    The frames are read one at a time, each at both scales until that scale has its answer:
    the same readings as averaging all frames as they are first, then all of them halved, in
    one pass over the video.
    """
    whole, halved = _Reading(shrink=1), _Reading(shrink=2)
    seen = 0
    for frame in frames:
        rgb = np.asarray(frame, dtype=np.uint8)
        seen += 1
        found = whole.add(rgb)
        if found is not None:
            return found
        halved.add(rgb)
        del frame, rgb  # dropped before the next frame is decoded
    return halved.found or WatermarkReading(payload=None, confidence=0.0, frames_read=seen)


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
