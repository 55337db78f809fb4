"""The watermarks every clip carries: a moving visible label and an invisible id that
survives what re-uploads do to a video."""

from __future__ import annotations

import gc
import io
import math
import weakref
from collections.abc import Iterator

import numpy as np
import pytest

from generation.video import encode_mp4
from moderation.watermark import (
    LEG_S,
    PAYLOAD_BITS,
    SAFE_ZONES,
    label_position,
    mark_frames,
    read_payload,
    read_video_payload,
)

from .clips import reencoded, scene

ID = 0xBEEF_CAFE_1234  # a 48-bit watermark id


@pytest.fixture(scope="module")
def marked_mp4() -> bytes:
    return encode_mp4(mark_frames(scene(), payload=ID, label="AI · @alice", fps=12), fps=12)


def test_the_id_reads_back_from_frames_and_from_the_mp4(marked_mp4: bytes) -> None:
    frames = scene(seed=7, seconds=0.5)
    marked = mark_frames(frames, payload=ID, label="AI · @alice", fps=12)

    assert marked.shape == frames.shape and marked.dtype == np.uint8
    assert read_payload(marked).payload == ID
    assert read_video_payload(io.BytesIO(marked_mp4)).payload == ID


@pytest.mark.parametrize(
    "change", [{"crf": 28}, {"crf": 28, "scale": 0.5}], ids=["crf28", "half-size-crf28"]
)
def test_the_id_survives_a_reencode(marked_mp4: bytes, change: dict[str, float]) -> None:
    copy = reencoded(marked_mp4, **change)  # type: ignore[arg-type]

    assert copy != marked_mp4
    assert read_video_payload(io.BytesIO(copy)).payload == ID


def test_an_unmarked_video_reads_as_nothing() -> None:
    for seed in (3, 11):
        video = encode_mp4(scene(seed=seed, seconds=0.5), fps=12)
        reading = read_video_payload(io.BytesIO(video))
        assert reading.payload is None and reading.frames_read > 0


def label_boxes(frames: np.ndarray, fps: float, payload: int = ID) -> list[tuple[int, ...]]:
    """The label's box (x0, y0, x1, y1) in each frame: where labelling changed it."""
    plain = mark_frames(frames, payload=payload, label="", fps=fps)  # the invisible mark alone
    labelled = mark_frames(frames, payload=payload, label="AI · @alice", fps=fps)
    changed = np.abs(labelled.astype(int) - plain.astype(int)).sum(axis=-1) > 60
    boxes = []
    for frame in changed:
        ys, xs = np.nonzero(frame)
        assert len(ys) > 100, "the label is visible in every frame"
        boxes.append((int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())))
    return boxes


@pytest.mark.parametrize(
    ("width", "height", "shape"),
    [(480, 832, "9:16"), (832, 480, "16:9"), (624, 624, "1:1")],
    ids=["portrait", "landscape", "square"],
)
def test_the_label_moves_slowly_and_only_where_the_player_lays_nothing_over_it(
    width: int, height: int, shape: str
) -> None:
    fps = 12
    frames = scene(width=width, height=height, seconds=2.0)
    left, top, right, bottom = SAFE_ZONES[shape]
    # A 9:16 clip on a phone: the header, the action rail and the caption block.
    if shape == "9:16":
        assert top >= 0.1 and right <= 1 - 84 / 390 and bottom <= 0.78
    for n, (x0, y0, x1, y1) in enumerate(label_boxes(frames, fps)):
        assert x0 >= left * width - 1 and x1 <= right * width + 1, (n, x0, x1)
        assert y0 >= top * height - 1 and y1 <= bottom * height + 1, (n, y0, y1)
        assert y1 - y0 >= 0.02 * height, "readable: its text at least 2% of the frame high"
    tile = (round(0.2 * width), round(0.04 * height))
    for start in range(4):
        path = [
            label_position(n, (width, height), tile, fps=fps, start=start)
            for n in range(len(frames))
        ]
        steps = [math.dist(a, b) for a, b in zip(path, path[1:], strict=False)]
        # Slow and smooth: no faster than a side of its zone in LEG_S seconds, no jumps.
        assert max(steps) <= max(width, height) / (LEG_S * fps) + 1
        # Never in one corner for the whole clip: in 2 s it crosses a good part of a side.
        assert sum(steps) >= 0.15 * min(width, height)


def test_clips_start_their_label_in_different_corners() -> None:
    frames = scene(seconds=0.25)
    starts = {label_boxes(frames, 12, payload=ID + n)[0][:2] for n in range(4)}
    assert len(starts) == 4


def test_frames_too_small_for_the_invisible_mark_get_the_label() -> None:
    frames = scene(width=64, height=112, seconds=1.0)

    marked = mark_frames(frames, payload=5, label="AI · @bob", fps=12)

    assert marked.shape == frames.shape and (marked != frames).any()
    assert read_payload(marked).payload is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="payload"):
        mark_frames(scene(seconds=0.5), payload=2**PAYLOAD_BITS, label="AI", fps=12)
    with pytest.raises(ValueError, match="uint8"):
        mark_frames(scene(seconds=0.5).astype(np.float32), payload=1, label="AI", fps=12)


def test_a_reading_holds_one_frame_at_a_time() -> None:
    frames = scene(seed=11, seconds=1.0)
    alive: list[weakref.ref[np.ndarray]] = []

    def one_by_one() -> Iterator[np.ndarray]:
        for frame in frames:
            gc.collect()
            # Each frame given before is gone once the reader asks for the next one.
            assert [ref for ref in alive if ref() is not None] == []
            copy = frame.copy()
            alive.append(weakref.ref(copy))
            yield copy
            del copy

    reading = read_payload(one_by_one())

    assert reading.payload is None and reading.frames_read == len(frames)
