"""Provenance figures per clip: what marking, signing and verifying cost next to the H.264
encode every clip pays anyway, what fingerprinting a clip and checking it against the hash
bank cost, how well the invisible watermark holds up in the copies other apps make of a
shared clip (beside the first mark, which clips published before the tile mark carry, in
the same run), what it costs the picture (PSNR), and how often an unmarked video reads as
a Riff clip.

Clips: demo scenes at Wan's portrait size (480x832, 16 fps, 2 s), and a clip of every
installed model at each of its sizes, made by the model (the house model takes a second or
two on a CPU; a large model is stood in for by a demo scene at its size; models whose frames
are under the mark's 256x256 floor get the label only and are listed). Each clip is marked
with the tile mark and with the first mark, then copied as another app would: cropped by a
share of each side, resized, letterboxed, at another frame rate, re-encoded with libx264
(veryfast, CRF 28 unless the row says otherwise). "bits": the share of the mark's bits read
right before any correction (the tile mark's 172 coded bits where its reader settled, the
first mark's 80 at the better of its two scales); "found": copies whose id verify's reader
read exactly. "bank share": the share of a copy's frames matching the clip's fingerprint
(taken before the label is drawn); "held": copies reaching the 80% that holds for review.

False matches: `--unmarked N` frames with no mark (demo scenes, as made or resized and
cropped at random, frames of H.264 encodes with their block grid, smooth noise, gratings and
checkerboards of every period, shapes, flat frames) are each read as a one-frame video. The
stated rate is the guesses a reading checks against the CRC-32 over 2**32. The reader
decodes only candidates whose pilots clear its floor; the best candidate of every frame is
decoded here anyway, and its check bits should agree with the CRC like coin flips.

    .venv/bin/python bench/provenance.py [--clips 2] [--seconds 2] [--unmarked 100]
    .venv/bin/python bench/provenance.py --only-unmarked --unmarked 10000   # ~30 min
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development run, as bin/run and bin/test are
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import django  # noqa: E402

django.setup()

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from feed.media import demo_clip_frames  # noqa: E402
from generation.video import encode_mp4  # noqa: E402
from moderation import (  # noqa: E402
    hashbank,
    watermark,
    watermark_code,
    watermark_legacy,
    watermark_tile,
)
from moderation.content_credentials import build_dev_ca, read_clip, sign_clip  # noqa: E402
from moderation.watermark_tile import TileReader, TileResult, embed, mark_plane  # noqa: E402
from tests.moderation.test_watermark_attacks import shared_copy  # noqa: E402

FPS = 16
BANK_SIZES = (1_000, 10_000)
DISTANCE, SHARE = 31, 0.8  # ModerationSettings' defaults
ATTACKS: dict[str, dict[str, Any]] = {
    "as stored": {},
    "CRF 18": {"crf": 18},
    "CRF 28": {"crf": 28},
    "CRF 35": {"crf": 35},
    "0.5x": {"scale": 0.5},
    "0.7x": {"scale": 0.7},
    "0.83x": {"scale": 0.83},
    "1.5x": {"scale": 1.5},
    "2x": {"scale": 2.0},
    "0.33x": {"scale": 0.33},
    "to 360x640": {"size": (360, 640)},
    "to 720x1280": {"size": (720, 1280)},
    "crop 10% a side": {"crop": 0.1},
    "crop 20% a side": {"crop": 0.2},
    "to 30 fps": {"fps": 30},
    "letterbox 16:9 1280x720": {"letterbox": (1280, 720)},
    "0.7x+crop 10%+CRF 30": {"scale": 0.7, "crop": 0.1, "crf": 30},
}
PORTRAIT_ONLY = {"to 360x640", "to 720x1280"}  # sizes of a 9:16 clip


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """The call's result and its wall time in ms."""
    start = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - start) * 1000


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of frames `a` against `b` (RGB, 8 bits)."""
    error = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255**2 / max(error, 1e-12))


def read(data: bytes) -> tuple[watermark.WatermarkReading, TileResult, LegacyBits]:
    """What verify's reader finds in a video, with what each mark's reader saw."""
    tiled, legacy = TileReader(), LegacyBits()
    seen = 0
    for frame in watermark._sampled_frames(io.BytesIO(data)):
        seen += 1
        tiled.add(frame)
        legacy.add(frame)
    found = tiled.result()
    if found.payload is not None:
        return watermark.WatermarkReading(found.payload, found.confidence, seen), found, legacy
    payload, confidence = legacy.result()
    return watermark.WatermarkReading(payload, confidence, seen), found, legacy


class LegacyBits(watermark_legacy.LegacyReader):
    """The first mark's reader, also telling how many of the 80 bits it read right."""

    def bits_right(self, payload: int) -> float:
        """The share of bits right at the better of its two scales (0.5: nothing read)."""
        wanted = watermark_legacy.message(payload)
        shares = [float(((m > 0.5) == wanted).mean()) for m in self.averages()]
        return max(shares, default=0.5)


def tile_bits_right(found: TileResult, payload: int) -> float:
    """The share of the tile mark's coded bits read right where its reader settled."""
    if found.soft is None:
        return 0.5
    return float(((found.soft > 0) == (watermark_code.coded_bits(payload) > 0)).mean())


def first_marked(frames: np.ndarray, *, payload: int, fps: int) -> np.ndarray:
    """The frames as Riff marked them before the tile mark: label, then the first mark."""
    labelled = watermark.label_frames(frames, payload=payload, label="AI · @bench", fps=fps)
    return np.stack([watermark_legacy.embed(f, payload) for f in labelled])


def model_clips(seconds: float) -> tuple[list[tuple[str, np.ndarray, int]], list[str]]:
    """A clip of each installed model at each of its sizes (name, frames, fps), and lines
    about the models that make none (not installed, or frames too small for the mark)."""
    import torch

    from generation.backends import get_backend
    from generation.backends.base import GenerationSpec
    from generation.backends.registry import check_weights, model_configs
    from generation.selectors import model_fps, model_size

    torch.set_num_threads(1)
    clips: list[tuple[str, np.ndarray, int]] = []
    notes: list[str] = []
    for key, config in model_configs().items():
        sizes = {aspect: model_size(key, aspect) for aspect in ("9:16", "16:9", "1:1")}
        try:
            check_weights(config)
        except Exception:  # noqa: BLE001 - any reason means "not installed here"
            shown = ", ".join(f"{w}x{h}" for w, h in sizes.values())
            small = all(w * h < watermark.MIN_PIXELS for w, h in sizes.values())
            notes.append(f"{key} ({shown}): not installed" + (", label only" if small else ""))
            continue
        fps = model_fps(key)
        for aspect, (width, height) in sizes.items():
            if width * height < watermark.MIN_PIXELS:
                notes.append(f"{key} {aspect} {width}x{height}: under the mark's floor, label only")
                continue
            name = f"{key} {aspect} {width}x{height}"
            count = max(1, round(seconds * fps))
            if config.family == "house":
                backend = get_backend(key)
                spec = GenerationSpec(
                    prompt="a red ball bouncing on a sunny beach",
                    negative_prompt="",
                    width=width,
                    height=height,
                    num_frames=count,
                    fps=fps,
                    steps=25,
                    guidance=4.0,
                    seed=len(clips) + 1,
                )
                frames = backend.generate(backend.fit(spec), lambda *a, **k: None)
            else:  # a large model takes minutes a clip on a CPU: a scene at its size
                name += " (demo scene)"
                frames = np.asarray(
                    demo_clip_frames(seed=7, width=width, height=height, seconds=seconds, fps=fps)
                )
            clips.append((name, np.asarray(frames, dtype=np.uint8), fps))
    return clips, notes


def attack_table(name: str, frames: np.ndarray, fps: int, rng: np.random.Generator) -> dict:
    """Mark a clip both ways, copy it by every attack, read each copy; the counts."""
    payload = int(rng.integers(0, 2**watermark.PAYLOAD_BITS))
    new = encode_mp4(watermark.mark_frames(frames, payload=payload, label="AI · @b", fps=fps), fps)
    old = encode_mp4(first_marked(frames, payload=payload, fps=fps), fps)
    fingerprint = hashbank.Bank.of([(0, hashbank.frame_hashes(frames))])
    portrait = frames.shape[1] > frames.shape[2]
    rows: dict[str, dict[str, Any]] = {}
    for attack, change in ATTACKS.items():
        if attack in PORTRAIT_ONLY and not portrait:
            continue
        row: dict[str, Any] = {}
        for scheme, data in (("tile", new), ("first", old)):
            copy = shared_copy(data, **change) if change else data
            (reading, found, legacy), ms = timed(partial(read, copy))
            tiled = scheme == "tile"
            bits = tile_bits_right(found, payload) if tiled else legacy.bits_right(payload)
            row[scheme] = (bits, reading.payload == payload, ms)
            if scheme == "tile":
                hashes = hashbank.video_hashes(io.BytesIO(copy))
                match = hashbank.bank_match(hashes, fingerprint, distance=DISTANCE, share=0.0)
                row["bank"] = match[1] if match else 0.0
        rows[attack] = row
    return rows


def print_attacks(title: str, tables: list[dict]) -> None:
    """One table: each attack's bits right and ids found, tile mark then first mark."""
    print(f"\n{title}")
    print(
        f"{'copy after':<26}{'tile bits':>10}{'found':>7}{'first bits':>11}{'found':>7}"
        f"{'bank share':>12}{'held':>6}"
    )
    for attack in ATTACKS:
        rows = [t[attack] for t in tables if attack in t]
        if not rows:
            continue
        tile_bits = statistics.mean(r["tile"][0] for r in rows)
        first_bits = statistics.mean(r["first"][0] for r in rows)
        tile_found = sum(r["tile"][1] for r in rows)
        first_found = sum(r["first"][1] for r in rows)
        bank = statistics.mean(r["bank"] for r in rows)
        held = sum(r["bank"] >= SHARE for r in rows)
        print(
            f"{attack:<26}{tile_bits:>10.3f}{tile_found:>4}/{len(rows):<2}{first_bits:>11.3f}"
            f"{first_found:>4}/{len(rows):<2}{bank:>12.2f}{held:>3}/{len(rows):<2}"
        )


def unmarked_frames(count: int, seed: int = 11) -> Iterator[tuple[str, np.ndarray]]:
    """`count` frames that carry no mark, of many kinds and sizes, made on the fly."""
    rng = np.random.default_rng(seed)
    sizes = [(480, 832), (832, 480), (512, 912), (624, 624), (360, 640), (720, 1280), (640, 480)]
    encoded: list[np.ndarray] = []
    for i in range(count):
        kind = i % 7
        width, height = sizes[int(rng.integers(len(sizes)))]
        if kind in (0, 1):  # a demo scene, as made or resized and cropped at random
            frame = demo_clip_frames(
                seed=int(rng.integers(1 << 30)), width=width, height=height, seconds=0.1, fps=10
            )[0]
            if kind == 1:
                frame = _reshaped(frame, rng)
        elif kind == 2:  # frames of unmarked clips after a strong H.264 encode
            if not encoded:
                scene = np.asarray(
                    demo_clip_frames(seed=i, width=width, height=height, seconds=1, fps=8)
                )
                copy = shared_copy(encode_mp4(scene, fps=8), crf=int(rng.integers(24, 40)))
                encoded = list(watermark._sampled_frames(io.BytesIO(copy)))
            frame = _reshaped(encoded.pop(), rng) if rng.random() < 0.5 else encoded.pop()
        elif kind == 3:  # smooth noise of a random grain
            raw = rng.normal(size=(height, width, 3)).astype(np.float32)
            noise = np.asarray(cv2.GaussianBlur(raw, (0, 0), float(rng.uniform(0.5, 8))))
            gain = float(rng.uniform(10, 60)) / (float(noise.std()) + 1e-6)
            frame = np.clip(128 + gain * noise, 0, 255).astype(np.uint8)
        elif kind == 4:  # a grating or a checkerboard of any period, the autocorrelation's bait
            y, x = np.mgrid[0:height, 0:width].astype(np.float32)
            period, angle = float(rng.uniform(6, 320)), float(rng.uniform(0, np.pi))
            u = x * np.cos(angle) + y * np.sin(angle)
            wave = np.sin(2 * np.pi * u / period)
            if rng.random() < 0.5:
                v = -x * np.sin(angle) + y * np.cos(angle)
                wave = np.sign(wave * np.sin(2 * np.pi * v / period))
            grey = 128 + 60 * wave + rng.normal(0, 3, wave.shape)
            frame = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
        elif kind == 5:  # random shapes on a gradient, blurred a little
            frame = _shapes(width, height, rng)
        else:  # a flat frame, or one of pure noise
            level = int(rng.integers(0, 256))
            frame = np.full((height, width, 3), level, dtype=np.uint8)
            if rng.random() < 0.5:
                frame = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        yield f"kind {kind}", np.ascontiguousarray(frame)


def _reshaped(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    height, width = frame.shape[:2]
    f = float(np.exp(rng.uniform(np.log(0.35), np.log(2.0))))
    c = float(rng.uniform(0, 0.2))
    cropped = frame[
        int(height * c) : height - int(height * c), int(width * c) : width - int(width * c)
    ]
    size = (max(32, round(cropped.shape[1] * f)), max(32, round(cropped.shape[0] * f)))
    return cv2.resize(cropped, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)


def _shapes(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image, ImageDraw

    top, bottom = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    t = np.linspace(0, 1, height)[:, None, None]
    base = (top * (1 - t) + bottom * t).astype(np.uint8)
    image = Image.fromarray(np.repeat(base, width, axis=1))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(3, 30))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1, y1 = x0 + int(rng.integers(5, width // 2)), y0 + int(rng.integers(5, height // 2))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
    return cv2.GaussianBlur(np.asarray(image), (0, 0), float(rng.uniform(0.3, 2.0)))


def false_matches(count: int) -> None:
    """Read `count` unmarked one-frame videos; print the matches and how decodings agreed."""
    matches = decoded = 0
    agreeing: list[int] = []
    syncs: list[float] = []
    times: list[float] = []
    start = time.perf_counter()
    for n, (_kind, frame) in enumerate(unmarked_frames(count), 1):
        began = time.perf_counter()
        tiled, legacy = TileReader(), watermark_legacy.LegacyReader()
        tiled.add(frame)
        legacy.add(frame)
        found = tiled.result()
        legacy_payload, _ = legacy.result()
        ms = (time.perf_counter() - began) * 1000
        matches += (found.payload is not None) + (legacy_payload is not None)
        decoded += bool(found.agreeing)
        agreeing.extend(found.agreeing or top_agreeing(tiled, found))
        syncs.append(found.sync)
        times.append(ms)
        if n % 500 == 0:
            elapsed = time.perf_counter() - start
            print(f"  {n} unmarked frames read, {matches} matches, {elapsed:.0f} s", flush=True)
    guesses = watermark.GUESSES
    print(f"\nfalse matches: {matches} of {count} unmarked frames read as one-frame videos")
    print(
        f"stated: at most {guesses} guesses a reading ({watermark.TRIES} tile decodings, "
        f"{watermark_legacy.GUESSES} first-mark Chase guesses) against a {watermark.CHECK_BITS}"
        f"-bit CRC: {guesses} / 2**{watermark.CHECK_BITS} = {watermark.FALSE_MATCH_RATE:.1e}"
        f" a video (1 in {1 / watermark.FALSE_MATCH_RATE:,.0f})"
    )
    if agreeing:
        chance = sum(math.comb(32, j) for j in range(24, 33)) / 2**32  # Binomial(32, 1/2) >= 24
        hist = np.bincount(agreeing, minlength=watermark.CHECK_BITS + 1)
        print(
            f"check bits agreeing in {len(agreeing)} decodings of unmarked frames: mean "
            f"{np.mean(agreeing):.2f} (chance 16), sd {np.std(agreeing):.2f} (chance 2.83), "
            f"max {max(agreeing)} of {watermark.CHECK_BITS}; at >= 24: {hist[24:].sum()} "
            f"(chance {len(agreeing) * chance:.2f})"
        )
    print(
        f"pilot z-score of unmarked frames: median {np.median(syncs):.1f}, 99th percentile "
        f"{np.percentile(syncs, 99):.1f}, max {max(syncs):.1f}; {decoded} cleared the floor of "
        f"{watermark_tile.SYNC_FLOOR} and were decoded; reading one: median "
        f"{np.median(times):.0f} ms"
    )


def top_agreeing(reader: TileReader, found: TileResult) -> list[int]:
    """The check bits agreeing when the best candidate is decoded anyway (the reader itself
    decodes only candidates whose pilots clear its floor)."""
    if reader.total is None or found.sync <= 0:
        return []
    folded = watermark_tile._fold(reader.total, *found.scale)
    _, dy, dx = watermark_tile._sync(folded)
    soft = watermark_tile._soft_bits(folded, dy, dx)
    return [watermark_code.check_bits_agreeing(watermark_code.viterbi(soft))]


def verified(data: bytes) -> tuple[Any, watermark.WatermarkReading]:
    """What verify reads from a clip: its credentials and its watermark."""
    return read_clip(data), watermark.read_video_payload(io.BytesIO(data))


def costs(args: argparse.Namespace, rng: np.random.Generator) -> list[tuple[str, np.ndarray, int]]:
    """Mark, encode, sign and verify demo clips; print what each costs. The clips."""
    ca = Path(tempfile.mkdtemp(prefix="riff-bench-c2pa-"))
    build_dev_ca(ca)
    settings.C2PA_CERT_CHAIN = ca / "chain.pem"
    settings.C2PA_PRIVATE_KEY = ca / "key.pem"
    settings.C2PA_TRUST_ANCHORS = ca / "ca.pem"
    names = ["encode", "mark", "mark first", "sign", "verify", "fingerprint"]
    names += [f"{kind} {n}" for n in BANK_SIZES for kind in ("bank", "match")]
    spent: dict[str, list[float]] = {k: [] for k in names}
    others = [
        (pk, [rng.bytes(32).hex() for _ in range(hashbank.SAMPLES)])
        for pk in range(1, max(BANK_SIZES))
    ]
    clips: list[tuple[str, np.ndarray, int]] = []
    for seed in range(args.clips):
        frames = np.asarray(
            demo_clip_frames(seed=seed, width=480, height=832, seconds=args.seconds, fps=FPS)
        )
        clips.append((f"demo {seed}", frames, FPS))
        payload = int(rng.integers(0, 2**watermark.PAYLOAD_BITS))
        _, spent_encode = timed(partial(encode_mp4, frames, fps=FPS))
        mark = partial(watermark.mark_frames, frames, payload=payload, label="AI · @b", fps=FPS)
        marked, spent_mark = timed(mark)
        _, spent_first = timed(partial(first_marked, frames, payload=payload, fps=FPS))
        signed, spent_sign = timed(
            partial(
                sign_clip, encode_mp4(marked, fps=FPS), title="b", clip_id=str(seed), model_key="b"
            )
        )
        (credentials, reading), spent_verify = timed(partial(verified, signed))
        assert credentials.state == "Trusted" and reading.payload == payload
        for name, value in zip(
            names[:5],
            (spent_encode, spent_mark, spent_first, spent_sign, spent_verify),
            strict=True,
        ):
            spent[name].append(value)
        fingerprint, spent_fp = timed(partial(hashbank.frame_hashes, frames))
        spent["fingerprint"].append(spent_fp)
        for size in BANK_SIZES:
            rows = [*others[: size // 2], (0, fingerprint), *others[size // 2 : size - 1]]
            bank, bank_ms = timed(partial(hashbank.Bank.of, rows))
            match, match_ms = timed(
                partial(hashbank.bank_match, fingerprint, bank, distance=DISTANCE, share=SHARE)
            )
            assert match == (0, 1.0), match
            spent[f"bank {size}"].append(bank_ms)
            spent[f"match {size}"].append(match_ms)
    print(
        f"{args.clips} demo clips, 480x832, {round(args.seconds * FPS)} frames at {FPS} fps, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'per clip':<30}{'median ms':>10}{'x encode':>10}")
    encode = statistics.median(spent["encode"])
    labels = {
        "encode": "H.264 encode (baseline)",
        "mark": "label + tile mark",
        "mark first": "label + first mark (before)",
        "sign": "C2PA sign",
        "verify": "verify (C2PA + watermark)",
        "fingerprint": f"PDQ fingerprint ({hashbank.SAMPLES} fr.)",
    }
    for size in BANK_SIZES:
        labels[f"bank {size}"] = f"bank parse, {size:,} clips"
        labels[f"match {size}"] = f"bank match, {size:,} clips"
    for name in names:
        value = statistics.median(spent[name])
        print(f"{labels[name]:<30}{value:>10.1f}{value / encode:>10.2f}")
    return clips


def main() -> None:
    """Costs, picture quality, attacks by clip, then false matches."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=2, help="demo clips")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--unmarked", type=int, default=100, help="10000 for the full run")
    parser.add_argument("--only-unmarked", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    if not args.only_unmarked:
        demo = costs(args, rng)
        installed, notes = model_clips(args.seconds)
        print("\nPSNR of the invisible mark alone (dB, mean over frames)")
        for name, frames, _fps in [*demo, *installed]:
            payload = int(rng.integers(0, 2**watermark.PAYLOAD_BITS))
            plane = mark_plane(payload, *frames.shape[1:3])
            tiled = np.stack([embed(f, plane) for f in frames])
            first = np.stack([watermark_legacy.embed(f, payload) for f in frames])
            print(
                f"  {name:<34} tile {psnr(tiled, frames):5.1f}   first {psnr(first, frames):5.1f}"
            )
        reads: list[float] = []
        tables = [attack_table(name, frames, fps, rng) for name, frames, fps in demo]
        reads += [r["tile"][2] for t in tables for r in t.values()]
        print_attacks(f"demo scenes 480x832, {len(demo)} clips", tables)
        for name, frames, fps in installed:
            table = attack_table(name, frames, fps, rng)
            reads += [r["tile"][2] for r in table.values()]
            print_attacks(name, [table])
        for note in notes:
            print(f"  {note}")
        print(
            f"\nreading a copy (decode + both readers): median {np.median(reads):.0f} ms, "
            f"max {max(reads):.0f} ms"
        )
    if args.unmarked:
        false_matches(args.unmarked)


if __name__ == "__main__":
    main()
