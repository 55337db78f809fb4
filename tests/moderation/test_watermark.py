"""The watermarks every clip carries: a moving visible label and an invisible id that
survives what re-uploads do to a video."""

from __future__ import annotations

import gc
import io
import weakref
from collections.abc import Iterator

import numpy as np
import pytest

from generation.video import encode_mp4
from moderation.watermark import PAYLOAD_BITS, mark_frames, read_payload, read_video_payload

from .clips import reencoded, scene

ID = 0xBEEF_CAFE_1234  # a 48-bit watermark id


@pytest.fixture(scope="module")
def marked_mp4() -> bytes:
    return encode_mp4(mark_frames(scene(), payload=ID, label="AI · @alice"), fps=12)


def test_the_id_reads_back_from_frames_and_from_the_mp4(marked_mp4: bytes) -> None:
    frames = scene(seed=7, seconds=0.5)
    marked = mark_frames(frames, payload=ID, label="AI · @alice")

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


def test_the_label_is_burned_in_and_moves() -> None:
    frames = scene(seconds=0.5)
    plain = mark_frames(frames, payload=ID, label="")  # the invisible mark alone
    labelled = mark_frames(frames, payload=ID, label="AI · @alice")

    changed = np.abs(labelled.astype(int) - plain.astype(int)).sum(axis=-1) > 60
    boxes = []
    for index in (0, len(frames) - 1):
        ys, xs = np.nonzero(changed[index])
        assert len(ys) > 100, "the label is visible"
        boxes.append((xs.min(), ys.min(), xs.max(), ys.max()))
    assert boxes[0] != boxes[1]


def test_frames_too_small_for_the_invisible_mark_get_the_label() -> None:
    frames = scene(width=64, height=112, seconds=1.0)

    marked = mark_frames(frames, payload=5, label="AI · @bob")

    assert marked.shape == frames.shape and (marked != frames).any()
    assert read_payload(marked).payload is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="payload"):
        mark_frames(scene(seconds=0.5), payload=2**PAYLOAD_BITS, label="AI")
    with pytest.raises(ValueError, match="uint8"):
        mark_frames(scene(seconds=0.5).astype(np.float32), payload=1, label="AI")


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
