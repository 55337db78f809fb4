"""Riff's first invisible mark, still read from clips published with it (not made any more).

It is the DWT-DCT-SVD scheme of invisible-watermark's `dwtDctSvd` one wavelet level deeper,
done on all 4x4 blocks of the level-2 Haar band of the U channel at once with numpy: the
48-bit id and its CRC-32 (80 bits), each bit in the largest singular value of its blocks.
It outlives an H.264 re-encode at CRF 28 and an exact 0.5x resize, and nothing else: any
other resize or a crop moves its block grid. A reading averages each bit's score over the
frames, as they are and scaled back up from a half-size copy, and tries flips of the 8 least
certain bits (Chase decoding) once, after the last frame: 2 x 2**8 = 512 guesses against
the CRC-32 a video.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import cv2
import numpy as np

from .watermark_code import CHECK_BITS, MESSAGE_BITS, PAYLOAD_BITS

# Blocks of 4x4 in the level-2 wavelet band of the U channel (16x16 pixels each).
PIXELS = 4  # a level-2 band coefficient covers 4x4 pixels
SCALE = 96.0
BLOCK = 4
GROUP = 2
# Bits a reading may correct, among the least certain (see decide).
UNSURE_BITS = 8
GUESSES = 2 * 2**UNSURE_BITS  # a reading at each of two scales
# Clips carrying this mark were made at most this size (a long side of 1280 pixels): larger
# frames, or half-size copies of larger ones, can't carry it and aren't scored.
MAX_SIDE = 1280
# The mark is read from this many of a video's sampled frames: a clip as published (or
# re-encoded at its size) gives its id from one or two.
FRAMES = 8


def message(payload: int) -> np.ndarray:
    """The 80 bits: the id, then the CRC-32 of its 6 bytes."""
    data = payload.to_bytes(PAYLOAD_BITS // 8, "big")
    check = zlib.crc32(data).to_bytes(CHECK_BITS // 8, "big")
    return np.unpackbits(np.frombuffer(data + check, dtype=np.uint8)).astype(np.int64)


def _payload(bits: np.ndarray) -> int | None:
    """The payload of 80 decoded bits when its check matches, else None."""
    raw = np.packbits(bits.astype(np.uint8)).tobytes()
    data, check = raw[: PAYLOAD_BITS // 8], raw[PAYLOAD_BITS // 8 :]
    if zlib.crc32(data).to_bytes(CHECK_BITS // 8, "big") != check:
        return None
    return int.from_bytes(data, "big")


def decide(scores: np.ndarray) -> int | None:
    """The payload from averaged bit scores, also trying flips of the least certain bits.

    A re-encode tends to spoil the same few bits; flipping subsets of the UNSURE_BITS
    closest to undecided (Chase decoding) recovers them: 2**UNSURE_BITS guesses.
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


def _blocks(band: np.ndarray) -> np.ndarray:
    """The band's whole 4x4 blocks, row by row, as an (N, 4, 4) array (a view of a copy)."""
    rows, cols = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    cut = band[: rows * BLOCK, : cols * BLOCK]
    return cut.reshape(rows, BLOCK, cols, BLOCK).swapaxes(1, 2).reshape(-1, BLOCK, BLOCK)


def _bit_of_block(band: np.ndarray) -> np.ndarray:
    """Which bit each block carries: bits tile the frame in GROUP x GROUP patches of blocks."""
    rows, cols = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    r, c = np.divmod(np.arange(rows * cols), cols)
    groups_per_row = -(-cols // GROUP)
    return ((r // GROUP) * groups_per_row + c // GROUP) % MESSAGE_BITS


def _u_band(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The frame in YUV, and the level-2 Haar band of its U channel (each 4x4 square's sum
    over 4)."""
    yuv = cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), cv2.COLOR_BGR2YUV)
    rows, cols = yuv.shape[0] // PIXELS, yuv.shape[1] // PIXELS
    channel = yuv[: rows * PIXELS, : cols * PIXELS, 1].astype(np.float64)
    band = channel.reshape(rows, PIXELS, cols, PIXELS).sum(axis=(1, 3)) / PIXELS
    return yuv, band


def embed(rgb: np.ndarray, payload: int) -> np.ndarray:
    """One frame with the payload's 80 bits set in the largest singular value of each 4x4
    block of the band (kept for tests and measurements: clips get the tile mark now)."""
    bits = message(payload)
    yuv, band = _u_band(rgb)
    u, s, vt = np.linalg.svd(_blocks(band))
    wanted = bits[_bit_of_block(band)]
    s0 = s[:, 0]
    moved = (s0 // SCALE + 0.25 + 0.5 * wanted) * SCALE
    change = (moved - s0)[:, None, None] * (u[:, :, 0, None] * vt[:, None, 0, :])
    br, bc = band.shape[0] // BLOCK, band.shape[1] // BLOCK
    delta = change.reshape(br, bc, BLOCK, BLOCK).swapaxes(1, 2).reshape(br * BLOCK, bc * BLOCK)
    pixels = np.repeat(np.repeat(delta, PIXELS, axis=0), PIXELS, axis=1) / PIXELS
    rows, cols = pixels.shape
    channel = yuv[:rows, :cols, 1].astype(np.float64) + pixels
    yuv[:rows, :cols, 1] = np.clip(np.rint(channel), 0, 255).astype(np.uint8)
    return cv2.cvtColor(cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR), cv2.COLOR_BGR2RGB)


def scores(rgb: np.ndarray) -> np.ndarray:
    """Each bit's share of blocks that read it as 1 (0.5 is undecided)."""
    band = _u_band(rgb)[1]
    s0 = np.linalg.svd(_blocks(band), compute_uv=False)[:, 0]
    ones = ((s0 % SCALE) > SCALE * 0.5).astype(np.float64)
    index = _bit_of_block(band)
    counts = np.maximum(np.bincount(index, None, MESSAGE_BITS), 1)
    return np.bincount(index, ones, MESSAGE_BITS) / counts


class LegacyReader:
    """Bit scores averaged over the first FRAMES frames, as they are and doubled in size."""

    def __init__(self) -> None:
        self.totals = {1: np.zeros(MESSAGE_BITS), 2: np.zeros(MESSAGE_BITS)}
        self.counts = {1: 0, 2: 0}
        self.seen = 0

    def add(self, rgb: np.ndarray) -> None:
        """Score one more frame at each scale it may carry the mark at."""
        if self.seen >= FRAMES:
            return
        self.seen += 1
        height, width = rgb.shape[:2]
        for shrink in (1, 2):
            if max(height, width) * shrink > MAX_SIDE or height * width * shrink**2 < 256**2:
                continue
            frame = rgb
            if shrink != 1:
                size = (width * shrink, height * shrink)
                frame = cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)
            self.totals[shrink] += scores(frame)
            self.counts[shrink] += 1

    def averages(self) -> Iterator[np.ndarray]:
        """The averaged bit scores at each scale that had frames: as they are, then halved."""
        for shrink in (1, 2):
            if self.counts[shrink]:
                yield self.totals[shrink] / self.counts[shrink]

    def result(self) -> tuple[int | None, float]:
        """The id and how far its scores sit from undecided (0 to 1), or (None, 0)."""
        for mean in self.averages():
            payload = decide(mean)
            if payload is not None:
                return payload, float(np.abs(mean - 0.5).mean() * 2)
        return None, 0.0
