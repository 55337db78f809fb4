"""Encoded clips play in every browser: H.264, yuv420p, moov before mdat."""

import io

import av
import numpy as np
import pytest

from feed.media import demo_clip_frames
from generation.video import encode_mp4, poster_jpeg, probe


def test_encode_mp4_is_browser_ready():
    frames = demo_clip_frames(seed=1, width=64, height=96, seconds=1.0, fps=12)
    data = encode_mp4(frames, fps=12)
    assert data.find(b"moov") < data.find(b"mdat"), "fast start: the index comes first"
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == 12
    # Lossy, but the picture is the one we drew.
    assert np.abs(decoded[5].astype(int) - frames[5].astype(int)).mean() < 6


def test_probe_reads_size_and_length():
    data = encode_mp4(demo_clip_frames(seed=2, width=32, height=48, seconds=2.0, fps=10), fps=10)
    info = probe(io.BytesIO(data))
    assert (info.width, info.height, info.frames, info.codec) == (32, 48, 20, "h264")
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


def test_probe_refuses_what_is_not_a_video():
    with pytest.raises(ValueError, match="not a readable video"):
        probe(io.BytesIO(b"definitely not an mp4" * 10))


def test_encode_refuses_odd_sizes_and_empty_input():
    with pytest.raises(ValueError, match="even"):
        encode_mp4(np.zeros((2, 31, 32, 3), dtype=np.uint8), fps=10)
    with pytest.raises(ValueError, match="non-empty"):
        encode_mp4(np.zeros((0, 32, 32, 3), dtype=np.uint8), fps=10)


def test_demo_clips_move_and_differ_by_seed():
    a = demo_clip_frames(seed=0, width=64, height=96, seconds=1.0, fps=12)
    b = demo_clip_frames(seed=1, width=64, height=96, seconds=1.0, fps=12)
    assert a.shape == (12, 96, 64, 3)
    assert not np.array_equal(a[0], a[6]), "the scene moves"
    assert not np.array_equal(a[0], b[0]), "seeds give different scenes"


def test_poster_is_a_jpeg():
    assert poster_jpeg(np.zeros((8, 8, 3), dtype=np.uint8))[:3] == b"\xff\xd8\xff"
