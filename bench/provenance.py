"""Provenance figures per clip: what marking, signing and verifying cost next to the H.264
encode every clip pays anyway (measured in the same run), what fingerprinting a clip and
checking it against the hash bank cost, and how well the invisible watermark and the hash
bank hold up when a copy is re-encoded, resized or cropped.

Clips are Riff's procedural demo scenes at Wan's portrait size (480x832, 16 fps, 2 s);
a development CA is made in a temporary folder for the signatures. The hash banks are
random PDQ hashes, 16 frames an entry, with the clip's own entry among them ("parse" turns
the rows' hex into the array; a worker keeps it until the bank changes). "bank share" is
the share of a copy's frames that match the clip's fingerprint, which is taken before the
visible label is drawn while every copy carries it; "held" counts the copies that reach
the 80% needed to be held for review.

    .venv/bin/python bench/provenance.py [--clips 6] [--seconds 2]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development run, as bin/run and bin/test are

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from feed.media import demo_clip_frames  # noqa: E402
from generation.video import encode_mp4  # noqa: E402
from moderation import hashbank, watermark  # noqa: E402
from moderation.content_credentials import build_dev_ca, read_clip, sign_clip  # noqa: E402
from tests.moderation.clips import reencoded  # noqa: E402

FPS = 16
BANK_SIZES = (1_000, 10_000)
DISTANCE, SHARE = 31, 0.8  # ModerationSettings' defaults


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """The call's result and its wall time in ms."""
    start = time.perf_counter()
    result = call()
    return result, (time.perf_counter() - start) * 1000


def bit_accuracy(data: bytes, payload: int, shrink: int = 1) -> float:
    """Share of the mark's 80 bits read right from the averaged frames (before correction)."""
    frames = list(watermark._sampled_frames(io.BytesIO(data)))
    if shrink != 1:
        import cv2

        frames = [
            cv2.resize(f, (f.shape[1] * shrink, f.shape[0] * shrink), interpolation=cv2.INTER_CUBIC)
            for f in frames
        ]
    scores = np.mean([watermark._scores(f) for f in frames], axis=0)
    return float(((scores > 0.5) == np.array(watermark._bits(payload))).mean())


def main() -> None:
    """Mark, encode, sign and verify each clip; then attack copies and read them back."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()

    ca = Path(tempfile.mkdtemp(prefix="riff-bench-c2pa-"))
    build_dev_ca(ca)
    settings.C2PA_CERT_CHAIN = ca / "chain.pem"
    settings.C2PA_PRIVATE_KEY = ca / "key.pem"
    settings.C2PA_TRUST_ANCHORS = ca / "ca.pem"

    costs: dict[str, list[float]] = {
        k: []
        for k in (
            "encode",
            "mark",
            "sign",
            "verify",
            "fingerprint",
            *(f"bank {n}" for n in BANK_SIZES),
            *(f"match {n}" for n in BANK_SIZES),
        )
    }
    attacks = {
        "as stored": {},
        "re-encode CRF 28": {"crf": 28},
        "0.5x resize + CRF 28": {"crf": 28, "scale": 0.5},
        "10% crop + CRF 28": {"crf": 28, "crop": 0.1},
    }
    accuracy: dict[str, list[float]] = {name: [] for name in attacks}
    found: dict[str, int] = dict.fromkeys(attacks, 0)
    shares: dict[str, list[float]] = {name: [] for name in attacks}
    held: dict[str, int] = dict.fromkeys(attacks, 0)
    rng = np.random.default_rng(7)
    others = [
        (pk, [rng.bytes(32).hex() for _ in range(hashbank.SAMPLES)])
        for pk in range(1, max(BANK_SIZES))
    ]
    for seed in range(args.clips):
        frames = np.stack(
            demo_clip_frames(seed=seed, width=480, height=832, seconds=args.seconds, fps=FPS)
        )
        payload = int(rng.integers(0, 2**watermark.PAYLOAD_BITS))
        _, encode_ms = timed(lambda frames=frames: encode_mp4(frames, fps=FPS))
        marked, mark_ms = timed(
            lambda frames=frames, payload=payload: watermark.mark_frames(
                frames, payload=payload, label="AI · @bench", fps=FPS
            )
        )
        mp4 = encode_mp4(marked, fps=FPS)
        signed, sign_ms = timed(
            lambda mp4=mp4, seed=seed: sign_clip(
                mp4, title="bench", clip_id=str(seed), model_key="bench"
            )
        )
        (credentials, reading), verify_ms = timed(
            lambda signed=signed: (
                read_clip(signed),
                watermark.read_video_payload(io.BytesIO(signed)),
            )
        )
        assert credentials.state == "Trusted" and reading.payload == payload
        for name, value in zip(
            ("encode", "mark", "sign", "verify"),
            (encode_ms, mark_ms, sign_ms, verify_ms),
            strict=True,
        ):
            costs[name].append(value)
        # The runner fingerprints the frames before they are marked.
        fingerprint, fingerprint_ms = timed(partial(hashbank.frame_hashes, frames))
        costs["fingerprint"].append(fingerprint_ms)
        own = hashbank.Bank.of([(0, fingerprint)])
        for size in BANK_SIZES:
            # Parsing the rows' hex into one array is paid when the bank changes.
            rows = [*others[: size // 2], (0, fingerprint), *others[size // 2 : size - 1]]
            bank, bank_ms = timed(partial(hashbank.Bank.of, rows))
            match, match_ms = timed(
                partial(hashbank.bank_match, fingerprint, bank, distance=DISTANCE, share=SHARE)
            )
            assert match == (0, 1.0), match
            costs[f"bank {size}"].append(bank_ms)
            costs[f"match {size}"].append(match_ms)
        for name, change in attacks.items():
            copy = reencoded(signed, **change) if change else signed  # type: ignore[arg-type]
            shrink = 2 if change.get("scale") == 0.5 else 1
            accuracy[name].append(bit_accuracy(copy, payload, shrink))
            found[name] += watermark.read_video_payload(io.BytesIO(copy)).payload == payload
            copy_hashes = hashbank.video_hashes(io.BytesIO(copy))
            matched = hashbank.bank_match(copy_hashes, own, distance=DISTANCE, share=0.0)
            shares[name].append(matched[1] if matched else 0.0)
            held[name] += bool(matched and matched[1] >= SHARE)

    frames_per_clip = round(args.seconds * FPS)
    cores = os.cpu_count()
    print(f"{args.clips} clips, 480x832, {frames_per_clip} frames at {FPS} fps, {cores} cores")
    print(f"{'per clip':<28}{'median ms':>10}{'x encode':>10}")
    encode = statistics.median(costs["encode"])
    for name, label in (
        ("encode", "H.264 encode (baseline)"),
        ("mark", "label + invisible mark"),
        ("sign", "C2PA sign"),
        ("verify", "verify (C2PA + watermark)"),
        ("fingerprint", f"PDQ fingerprint ({hashbank.SAMPLES} fr.)"),
        *(
            (f"{kind} {n}", f"bank {verb}, {n:,} clips")
            for n in BANK_SIZES
            for kind, verb in (("bank", "parse"), ("match", "match"))
        ),
    ):
        value = statistics.median(costs[name])
        print(f"{label:<28}{value:>10.1f}{value / encode:>10.2f}")
    print(f"{'copy after':<28}{'bits right':>10}{'id found':>10}{'bank share':>12}{'held':>8}")
    for name in attacks:
        print(
            f"{name:<28}{statistics.mean(accuracy[name]):>10.3f}{found[name]:>7}/{args.clips}"
            f"{statistics.mean(shares[name]):>12.2f}{held[name]:>5}/{args.clips}"
        )


if __name__ == "__main__":
    main()
