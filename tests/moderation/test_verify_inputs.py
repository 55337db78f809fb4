"""Odd uploads to verify: refused from their header before decoding, or read as far as they
go within a time limit, and never a server error."""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from generation.video import encode_mp4
from moderation import watermark
from moderation.provenance import TOO_SLOW, ClipInspection, NotAVideo, clip_inspect
from tests.moderation.clips import scene
from tests.odd_uploads import KINDS, odd_uploads
from tests.verifying import api_verify

pytestmark = pytest.mark.django_db


def encode(
    frames: np.ndarray, *, fps: int, container: str = "mp4", codec: str = "libx264"
) -> bytes:
    """Frames as a video file in memory (WebM has no frame count in its header)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()


def verify(data: bytes, name: str = "clip.mp4") -> tuple[int, dict[str, object]]:
    """Upload to the API and have the `verify` worker's part done: the final answer."""
    response = api_verify(data, name)
    return response.status_code, response.json()


def inspect(data: bytes, tmp_path: Path, deadline: float | None = None) -> ClipInspection:
    """clip_inspect on the bytes written to a file, as the worker has them."""
    path = tmp_path / "upload"
    path.write_bytes(data)
    return clip_inspect(path, deadline=deadline)


def png(size: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_picture_is_not_a_video_however_large() -> None:
    for size in (64, 8192):  # 8192x8192 decodes to 200 MB; it is refused from its header
        status, body = verify(png(size), "frame.png")
        assert status == 400
        assert body["video"] == [
            "That's a picture, not a video: Riff checks videos (MP4, WebM or MOV)."
        ]


def test_a_video_too_large_or_too_long_is_refused_before_decoding(settings) -> None:
    settings.VERIFY_MAX_PIXELS = 320 * 240
    status, body = verify(encode(np.zeros((2, 256, 400, 3), np.uint8), fps=2))
    assert status == 400 and "400x256" in body["video"][0]
    settings.VERIFY_MAX_SECONDS = 5
    status, body = verify(encode(np.zeros((8, 64, 64, 3), np.uint8), fps=1))
    assert status == 400 and body["video"] == [
        "That video is 8 s long; the longest Riff checks is 5 s."
    ]


def test_a_video_of_too_many_frames_is_refused_from_its_header(settings) -> None:
    settings.VERIFY_MAX_FRAMES = 20
    frames = np.zeros((24, 64, 64, 3), np.uint8)
    for container, codec in (("mp4", "libx264"), ("webm", "libvpx")):  # counted, estimated
        status, body = verify(encode(frames, fps=24, container=container, codec=codec))
        assert status == 400 and body["video"] == [
            "That video has 24 frames; the most Riff checks is 20."
        ]


def test_reading_that_takes_too_long_is_given_up_with_a_message(settings, tmp_path) -> None:
    clip = encode_mp4(scene(seed=1), fps=12)
    with pytest.raises(NotAVideo, match="took too long"):
        inspect(clip, tmp_path, deadline=time.monotonic())
    settings.VERIFY_TIME_LIMIT_S = 0  # the worker's own deadline
    assert verify(clip) == (400, {"video": [TOO_SLOW]})


def test_damaged_videos_are_read_as_far_as_they_go_or_refused_never_raised(tmp_path) -> None:
    clip = encode_mp4(scene(seed=1), fps=12)
    rng = np.random.default_rng(5)
    damaged = [clip[: len(clip) * k // 10] for k in range(1, 10)]  # truncated
    for _ in range(30):  # bytes flipped in the middle
        data = bytearray(clip)
        for at in rng.integers(len(data) // 8, len(data), size=int(rng.integers(1, 40))):
            data[at] ^= int(rng.integers(1, 256))
        damaged.append(bytes(data))
    outcomes = {"read": 0, "refused": 0}
    for data in damaged:
        try:
            inspect(data, tmp_path)
            outcomes["read"] += 1
        except NotAVideo:
            outcomes["refused"] += 1
    assert sum(outcomes.values()) == len(damaged)
    # Through the API, the same kinds of file answer 200 or 400.
    for data in damaged[::8]:
        assert verify(data)[0] in (200, 400)


def test_every_kind_of_odd_upload_is_read_or_refused_never_raised(tmp_path) -> None:
    # Seed 3 holds bit-flipped clips whose codec FFmpeg can't name (no codec context).
    seen = dict.fromkeys(KINDS, 0)
    for kind, _name, data in odd_uploads(170, seed=3):
        try:
            inspect(data, tmp_path)
        except NotAVideo as exc:
            assert str(exc).endswith(".")  # a sentence for a person
        seen[kind] += 1
    assert min(seen.values()) >= 24


def test_the_reader_keeps_a_bounded_number_of_frames_without_a_frame_count() -> None:
    frames = np.repeat(scene(seed=2)[:1], 240, axis=0)
    webm = encode(frames, fps=24, container="webm", codec="libvpx")
    with av.open(io.BytesIO(webm)) as container:
        assert container.streams.video[0].frames == 0  # WebM doesn't say
    kept = list(watermark._sampled_frames(io.BytesIO(webm)))
    assert 1 <= len(kept) <= watermark.MAX_READ_FRAMES
    big = np.zeros((3, 2160, 3840, 3), np.uint8)
    kept = list(watermark._sampled_frames(io.BytesIO(encode(big, fps=3))))
    assert len(kept) == watermark.MAX_READ_BYTES // kept[0].nbytes == 2  # not all three
