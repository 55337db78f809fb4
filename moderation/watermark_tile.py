"""The invisible mark: a tile of noise repeated over the frame, whose spectrum carries the id.

Embedding. The tile is TILE x TILE pixels (192) and is drawn in its own 2-D spectrum: only
frequencies from BAND[0] to BAND[1] cycles per tile (periods of 32 down to 10.7 pixels)
are used, each bin's real and imaginary part carrying +-1: 900 values. A third of them are
pilots, fixed and known to every reader; the other 600 carry the 172 coded bits
(watermark_code), each bit three or four times, dealt from the lowest frequency to the
highest, with pseudo-random signs. The tile, scaled to AMPLITUDE grey levels (RMS), is
repeated from the frame's top left corner and added to the luma of every frame (the same to
R, G and B), the same in every frame: about 39.8 dB PSNR.

Reading. Each frame's luma, reduced so that its longer side is at most WORK pixels, less a
Gaussian blur of itself (the picture's own slow changes), is summed over the frames read:
the mark adds up, moving content does not, and a dropped or repeated frame changes nothing.
The sum's autocorrelation has peaks at the tile's period along each axis, however the copy
was resized (even by slightly different factors across and down, as a resize to 360x640
is); those periods, their halves and thirds give candidate scales. At each, the sum is
resampled to the tile's own scale and folded onto one tile, and the pilots are matched
against it at every shift at once (a cyclic correlation through the FFT, each frequency
weighted by its noise): the peak's height ranks the candidate, its place is the offset,
which undoes crops and letterboxing. The best few (TRIES) whose peak clears SYNC_FLOOR are
refined by a finer search of scale; the coded bits are read from the aligned tile's
spectrum, each weighted by its ring's gain over noise as the pilots tell, and the Viterbi
decoder takes them. The id counts only when its CRC-32 matches.

Tried and left: 8-pixel blocks of +-1 each carrying a bit, with a superimposed pilot
pattern (the reader's high-pass and the pilots leak between neighbouring blocks: 88% of
bits right on a clean frame); a 128-pixel tile with periods down to 8 pixels (lost at 0.33x
and at 0.5x with CRF 35 on the house model's clips, which the 192-pixel tile reads);
weighting the mark by local contrast (more robust in texture, lost the 0.33x copies of
flat scenes); Chase flips of the least certain coded bits (no copy found that Viterbi alone
missed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import cv2
import numpy as np
from scipy.ndimage import median_filter

from .watermark_code import (
    CODED_BITS,
    check_bits_agreeing,
    coded_bits,
    payload_of,
    prng,
    prng_signs,
    viterbi,
)

TILE = 192
BAND = (6.0, 18.0)  # cycles per tile: periods of 32 down to 10.7 pixels
PILOT_SHARE = 1 / 3
AMPLITUDE = 2.6  # RMS grey levels added to luma
# The reader's working frame: reduced to this longer side first (a 4K upload reads as fast
# as Riff's own sizes; the mark's periods stay above 2 pixels down to a 0.3x copy).
WORK = 1024
BLUR = 4.0  # the Gaussian taken away from a frame's luma (sigma, working pixels)
SCALES = (0.3, 2.2)  # tile scales searched, relative to the frame as marked
MAX_ANISOTROPY = 1.25  # the most a copy's scale across may differ from its scale down
TRIES = 3  # hypotheses decoded per video: each is one guess against the CRC-32
# A hypothesis is refined and decoded only if its pilots stand out this far (a z-score over
# all shifts of the tile): it saves time, the CRC keeps false matches out. Of 10,000 unmarked
# frames the best candidates scored 4.5 (median) to 6.5, 40 of them over 5.5 (the largest of
# some 37,000 shifts of noise); the copies that still decode score 7 or more.
SYNC_FLOOR = 5.5


@dataclass(frozen=True)
class _Layout:
    """Where the pilots and the coded bits sit in the tile's spectrum."""

    pilot_bins: np.ndarray  # flat index of each pilot's bin
    pilot_imag: np.ndarray  # whether it is the bin's imaginary part
    pilot_signs: np.ndarray
    data_bins: np.ndarray
    data_imag: np.ndarray
    data_signs: np.ndarray
    data_bit: np.ndarray  # which coded bit each data value carries
    ring: np.ndarray  # (TILE, TILE) radius of each bin, rounded
    ring_bins: tuple[np.ndarray, ...]  # flat bins of each ring next to the band, by radius
    pilots: np.ndarray  # (TILE, TILE) complex spectrum of the pilots alone


def _frequencies() -> tuple[np.ndarray, np.ndarray]:
    k = np.fft.fftfreq(TILE, 1 / TILE)
    return k[:, None], k[None, :]


@cache
def _layout() -> _Layout:
    """The band's bins in one half of the spectrum (the other half is their conjugate)."""
    ky, kx = _frequencies()
    radius = np.hypot(kx, ky)
    half = (ky > 0) | ((ky == 0) & (kx > 0))
    bins = np.flatnonzero((half & (radius >= BAND[0]) & (radius <= BAND[1])).ravel())
    values = np.repeat(bins, 2)
    imag = np.tile([False, True], len(bins))
    order = np.argsort(prng("split", len(values)), kind="stable")
    n_pilots = int(len(values) * PILOT_SHARE)
    pilot, data = order[:n_pilots], order[n_pilots:]
    # Coded bits are dealt out round by round from the lowest frequency to the highest, so
    # that each bit has a value in every part of the band: a copy that loses the high
    # frequencies (a small resize, a strong re-encode) loses a share of every bit.
    r = radius.ravel()[values[data]]
    data = data[np.lexsort((prng("deal", len(data)), r))]
    bit = np.concatenate(
        [
            np.argsort(prng(f"round/{k}", CODED_BITS), kind="stable")
            for k in range(-(-len(data) // CODED_BITS))
        ]
    )[: len(data)]
    pilot_signs = prng_signs("pilots", len(pilot))
    spectrum = _spectrum(values[pilot], imag[pilot], pilot_signs)
    ring = np.rint(radius).astype(np.int64)
    return _Layout(
        pilot_bins=values[pilot],
        pilot_imag=imag[pilot],
        pilot_signs=pilot_signs,
        data_bins=values[data],
        data_imag=imag[data],
        data_signs=prng_signs("data", len(data)),
        data_bit=bit,
        ring=ring,
        ring_bins=tuple(
            np.flatnonzero(ring.ravel() == r) if BAND[0] - 1 <= r <= BAND[1] + 1 else bins[:0]
            for r in range(int(BAND[1]) + 2)
        ),
        pilots=spectrum,
    )


def _spectrum(bins: np.ndarray, imag: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A Hermitian (TILE, TILE) spectrum with these values in its half-plane bins."""
    flat = np.zeros(TILE * TILE, dtype=np.complex128)
    np.add.at(flat, bins, np.where(imag, 1j, 1.0) * values)
    half = flat.reshape(TILE, TILE)
    mirrored = np.roll(np.flip(half, axis=(0, 1)), 1, axis=(0, 1))  # bin k -> bin -k
    return half + np.conj(mirrored)


def tile(payload: int) -> np.ndarray:
    """The (TILE, TILE) float32 pattern that carries `payload`, of unit RMS."""
    layout = _layout()
    bits = coded_bits(payload).astype(np.float64)
    data = layout.data_signs * (2 * bits[layout.data_bit] - 1)
    spectrum = layout.pilots + _spectrum(layout.data_bins, layout.data_imag, data)
    pattern = np.real(np.fft.ifft2(spectrum))
    return (pattern / pattern.std()).astype(np.float32)


def mark_plane(payload: int, height: int, width: int) -> np.ndarray:
    """What the mark adds to each pixel of a (height, width) frame, in grey levels."""
    pattern = tile(payload)
    reps = (-(-height // TILE), -(-width // TILE))
    return np.tile(pattern, reps)[:height, :width] * np.float32(AMPLITUDE)


def embed(rgb: np.ndarray, plane: np.ndarray) -> np.ndarray:
    """The frame with the plane added to its luma (equally to R, G and B), as uint8."""
    out = rgb.astype(np.float32)
    out += plane[:, :, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def residual(rgb: np.ndarray) -> np.ndarray:
    """The frame's luma at working size less its blur: the mark and the picture's detail.

    Strong edges are clipped to three robust deviations, so that a sharp outline or a
    letterbox's border does not outweigh the faint mark around it.
    """
    luma: np.ndarray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    luma = luma.astype(np.float32)
    height, width = luma.shape
    if max(height, width) > WORK:
        f = WORK / max(height, width)
        size = (max(1, round(width * f)), max(1, round(height * f)))
        luma = cv2.resize(luma, size, interpolation=cv2.INTER_AREA)
    detail = luma - cv2.GaussianBlur(luma, (0, 0), BLUR)
    spread = 3 * (1.4826 * float(np.median(np.abs(detail))) + 0.5)
    return np.clip(detail, -spread, spread)


def _fold(total: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """The summed residual resampled by 1/scale to the tile's own size, folded onto a tile."""
    height, width = total.shape
    size = (max(1, round(width / sx)), max(1, round(height / sy)))
    shrink = sx > 1 and sy > 1
    canonical = cv2.resize(
        total, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )
    rows, cols = -(-size[1] // TILE), -(-size[0] // TILE)
    padded = np.zeros((rows * TILE, cols * TILE), dtype=np.float32)
    padded[: size[1], : size[0]] = canonical
    return padded.reshape(rows, TILE, cols, TILE).sum(axis=(0, 2))


def _ring_medians(power: np.ndarray) -> np.ndarray:
    """The median power of each ring of bins of a tile's spectrum (the band's rings only)."""
    layout = _layout()
    median = np.zeros(layout.ring.max() + 1)
    flat = power.ravel()
    for r, members in enumerate(layout.ring_bins):
        if len(members):
            median[r] = np.median(flat[members])
    return median


def _noise_weights(spectrum: np.ndarray) -> np.ndarray:
    """Per bin, 1 / the noise's amplitude: twice the median power of its ring, or its own
    power where that is larger (a regular texture of the picture sitting on that bin)."""
    power = np.abs(spectrum) ** 2
    median = _ring_medians(power)
    return 1 / np.sqrt(np.maximum(2 * median[_layout().ring], power) + 1e-12)


def _sync(folded: np.ndarray) -> tuple[float, float, float]:
    """How strongly the pilots are found in a folded tile (a z-score over all shifts), and
    at which (dy, dx) shift, to a fraction of a pixel."""
    spectrum = np.fft.fft2(folded)
    match = spectrum * np.conj(_layout().pilots) * _noise_weights(spectrum)
    surface = np.real(np.fft.ifft2(match))
    peak = int(np.argmax(surface))
    dy, dx = divmod(peak, TILE)
    z = float((surface.flat[peak] - surface.mean()) / (surface.std() + 1e-12))

    def vertex(before: float, at: float, after: float) -> float:
        bend = before - 2 * at + after
        return 0.5 * (before - after) / bend if bend < 0 else 0.0

    fy = vertex(surface[dy - 1, dx], surface[dy, dx], surface[(dy + 1) % TILE, dx])
    fx = vertex(surface[dy, dx - 1], surface[dy, dx], surface[dy, (dx + 1) % TILE])
    return z, dy + fy, dx + fx


def _soft_bits(folded: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """The coded bits' soft values from a folded tile aligned by (dy, dx)."""
    layout = _layout()
    ky, kx = _frequencies()
    spectrum = np.fft.fft2(folded) * np.exp(2j * np.pi * (ky * dy + kx * dx) / TILE)
    flat = spectrum.ravel()
    pilots = np.where(layout.pilot_imag, flat[layout.pilot_bins].imag, flat[layout.pilot_bins].real)
    pilots = pilots * layout.pilot_signs
    data = np.where(layout.data_imag, flat[layout.data_bins].imag, flat[layout.data_bins].real)
    data = data * layout.data_signs
    # Each ring's gain over noise, from its pilots: the weights of maximum-ratio combining.
    rings = layout.ring.ravel()
    pilot_ring, data_ring = rings[layout.pilot_bins] // 2, rings[layout.data_bins] // 2
    weight = np.zeros(len(data))
    for r in np.unique(data_ring):
        own = pilots[pilot_ring == r]
        if len(own) >= 3:
            weight[data_ring == r] = max(float(own.mean()), 0.0) / (float(own.var()) + 1e-12)
    # Bins where the picture's own texture is far stronger than the rest of their ring count
    # for less.
    median = _ring_medians(np.abs(spectrum) ** 2)[rings[layout.data_bins]]
    power = np.abs(flat[layout.data_bins]) ** 2
    weight *= np.minimum(1.0, 2 * median / (power + 1e-12))
    return np.bincount(layout.data_bit, data * weight, CODED_BITS)


def _axis_periods(profile: np.ndarray, length: int, count: int = 5) -> list[float]:
    """The strongest peaks (to a fraction of a pixel) of an autocorrelation profile within
    the searched periods, each measured against the profile's running median."""
    lo, hi = int(SCALES[0] * TILE), min(int(SCALES[1] * TILE), length - TILE // 8)
    if hi <= lo + 2:
        return []
    height = profile - median_filter(profile, size=21)
    height[:lo] = -np.inf
    height[hi:] = -np.inf
    found = []
    for _ in range(count):
        i = int(np.argmax(height))
        if not np.isfinite(height[i]):
            break
        bend = profile[i - 1] - 2 * profile[i] + profile[i + 1]
        found.append(i + (0.5 * (profile[i - 1] - profile[i + 1]) / bend if bend < 0 else 0.0))
        height[max(0, i - 4) : i + 5] = -np.inf
    return found


def _candidate_scales(total: np.ndarray) -> list[tuple[float, float]]:
    """(scale across, scale down) pairs worth trying, from the residual's autocorrelation."""
    height, width = total.shape
    spectrum = np.fft.rfft2(total - total.mean(), s=(2 * height, 2 * width))
    # The square root of the power flattens the picture's spectrum, so the peaks are sharp.
    auto = np.fft.irfft2(np.abs(spectrum), s=(2 * height, 2 * width))
    across = _axis_periods(auto[0, :width], width)
    down = _axis_periods(auto[:height, 0], height)
    pairs = [(x, y) for x in across for y in down] + [(t, t) for t in across + down]
    out: set[tuple[float, float]] = set()
    for x, y in pairs:
        if max(x, y) / min(x, y) > MAX_ANISOTROPY:
            continue
        for d in (1, 2, 3):  # a peak at twice or thrice the period is a period too
            if min(x, y) / d >= SCALES[0] * TILE:
                out.add((round(x / d / TILE, 4), round(y / d / TILE, 4)))
    return sorted(out)


def _refine(total: np.ndarray, sx: float, sy: float, z: float) -> tuple[float, float, float]:
    """A finer search around a scale, one axis at a time: steps of 0.4%, then of 0.13%."""
    for step, reach in ((0.004, 3), (0.004 / 3, 1)):
        for axis in (0, 1):
            centre = (sx, sy)
            for k in (*range(-reach, 0), *range(1, reach + 1)):
                factor = 1 + k * step
                trial = (centre[0] * factor, centre[1]) if axis == 0 else (sx, centre[1] * factor)
                score = _sync(_fold(total, *trial))[0]
                if score > z:
                    z, (sx, sy) = score, trial
    return z, sx, sy


@dataclass(frozen=True)
class TileResult:
    """What the tile reader made of a video: the id (or None), and how it got there."""

    payload: int | None
    confidence: float  # share of coded bits agreeing with the decoded message, 0 to 1
    sync: float  # the pilots' z-score at the chosen scale and shift
    scale: tuple[float, float]  # of the working frame relative to the marked one
    soft: np.ndarray | None  # the coded bits' soft values there (for measurements)
    agreeing: tuple[int, ...] = ()  # check bits matching, of each decoding tried


class TileReader:
    """Residuals of frames summed one frame at a time; `result` searches and decodes them."""

    def __init__(self) -> None:
        self.total: np.ndarray | None = None
        self.frames = 0

    def add(self, rgb: np.ndarray) -> None:
        """Count one more frame (of the first frame's size; others are skipped)."""
        detail = residual(rgb)
        if self.total is None:
            self.total = detail
        elif self.total.shape == detail.shape:
            self.total += detail
        else:
            return
        self.frames += 1

    def _hypotheses(self, total: np.ndarray) -> list[tuple[float, float, float]]:
        """Up to TRIES distinct (z, scale across, scale down), the pilots' best first."""
        scored = sorted(
            ((_sync(_fold(total, sx, sy))[0], sx, sy) for sx, sy in _candidate_scales(total)),
            reverse=True,
        )
        chosen: list[tuple[float, float, float]] = []
        for z, sx, sy in scored:
            if len(chosen) == TRIES:
                break
            if all(abs(sx / x - 1) >= 0.015 or abs(sy / y - 1) >= 0.015 for _, x, y in chosen):
                chosen.append((z, sx, sy))
        return chosen

    def result(self) -> TileResult:
        """The id the summed frames carry, if a hypothesis decodes with a matching CRC."""
        total = self.total
        if total is None or min(total.shape) < TILE // 4 or float(total.std()) < 1e-6:
            return TileResult(None, 0.0, 0.0, (1.0, 1.0), None)
        hypotheses = self._hypotheses(total)
        if not hypotheses:
            return TileResult(None, 0.0, 0.0, (1.0, 1.0), None)
        z, sx, sy = hypotheses[0]
        best = TileResult(None, 0.0, z, (sx, sy), None)  # told when nothing decodes
        agreeing: list[int] = []
        for z, sx, sy in hypotheses:
            if z < SYNC_FLOOR:
                break
            z, sx, sy = _refine(total, sx, sy, z)
            folded = _fold(total, sx, sy)
            z, dy, dx = _sync(folded)
            soft = _soft_bits(folded, dy, dx)
            message = viterbi(soft)
            agreeing.append(check_bits_agreeing(message))
            payload = payload_of(message)
            if payload is not None:
                agree = float(np.mean((soft > 0) == (coded_bits(payload) > 0)))
                confidence = max(0.0, 2 * agree - 1)
                return TileResult(payload, confidence, z, (sx, sy), soft, tuple(agreeing))
            if best.soft is None or z > best.sync:
                best = TileResult(None, 0.0, z, (sx, sy), soft)
        return replace(best, agreeing=tuple(agreeing))
