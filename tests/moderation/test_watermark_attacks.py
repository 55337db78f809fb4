"""The invisible mark survives what other apps do to a shared clip: resizes by any factor,
crops, strong re-encodes, another frame rate, letterboxing; and what reads it stays honest."""

from __future__ import annotations

import hashlib
import io
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.test import Client

from accounts.models import User
from feed.services import post_publish
from generation.models import GenerationJob
from generation.video import encode_mp4
from moderation import watermark_code, watermark_legacy, watermark_tile
from moderation.content_credentials import sign_clip
from moderation.watermark import (
    FALSE_MATCH_RATE,
    label_frames,
    mark_frames,
    read_video_payload,
)
from tests.generation.factories import job_in_state
from tests.verifying import page_verify

from .clips import reencoded, scene

ID = 0xBEEF_CAFE_1234  # a 48-bit watermark id
FPS = 12


def shared_copy(
    data: bytes,
    *,
    crf: int = 28,
    scale: float = 1.0,
    size: tuple[int, int] | None = None,
    crop: float = 0.0,
    fps: float | None = None,
    letterbox: tuple[int, int] | None = None,
    preset: str = "veryfast",
) -> bytes:
    """The clip as another app re-shares it, re-encoded with libx264 at `crf`: first cropped
    by `crop` of each side, resized by `scale` (or to `size`), then fitted into a black
    `letterbox` frame (width, height), at `fps` (frames dropped or repeated)."""
    with av.open(io.BytesIO(data)) as source:
        stream = source.streams.video[0]
        rate = float(stream.average_rate or FPS)
        frames = [frame.to_ndarray(format="rgb24") for frame in source.decode(stream)]
    out = []
    for frame in frames:
        height, width = frame.shape[:2]
        dx, dy = int(width * crop), int(height * crop)
        picture = frame[dy : height - dy, dx : width - dx]
        height, width = picture.shape[:2]
        target = size or (round(width * scale / 2) * 2, round(height * scale / 2) * 2)
        picture = _resized(picture, target)
        if letterbox is not None:
            fit = min(letterbox[0] / target[0], letterbox[1] / target[1])
            inner = (round(target[0] * fit / 2) * 2, round(target[1] * fit / 2) * 2)
            canvas = np.zeros((letterbox[1], letterbox[0], 3), dtype=np.uint8)
            top, left = (letterbox[1] - inner[1]) // 2, (letterbox[0] - inner[0]) // 2
            canvas[top : top + inner[1], left : left + inner[0]] = _resized(picture, inner)
            picture = canvas
        out.append(picture)
    if fps is not None:
        out = [
            out[min(len(out) - 1, int(i * rate / fps))] for i in range(int(len(out) * fps / rate))
        ]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as target_file:
        rate_out = Fraction(fps or rate).limit_denominator(1001)
        video = target_file.add_stream("libx264", rate=rate_out)
        video.options = {"crf": str(crf), "preset": preset}
        video.height, video.width = out[0].shape[:2]
        video.pix_fmt = "yuv420p"
        for picture in out:
            target_file.mux(video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")))
        target_file.mux(video.encode())
    return buffer.getvalue()


def _resized(picture: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if size == (picture.shape[1], picture.shape[0]):
        return picture
    smaller = size[0] < picture.shape[1]
    return cv2.resize(picture, size, interpolation=cv2.INTER_AREA if smaller else cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def marked_mp4() -> bytes:
    frames = scene(seed=3, seconds=1.0)
    return encode_mp4(mark_frames(frames, payload=ID, label="AI · @alice", fps=FPS), fps=FPS)


@pytest.mark.parametrize(
    "change",
    [
        {"scale": 0.7, "crop": 0.1, "crf": 30},
        {"scale": 1.5},
        {"letterbox": (1280, 720)},
        {"size": (360, 640), "crf": 35},
        {"scale": 0.83, "crop": 0.2, "fps": 30},
    ],
    ids=["0.7x-crop10-crf30", "1.5x", "letterboxed-16:9", "360x640-crf35", "0.83x-crop20-30fps"],
)
def test_the_id_survives_a_shared_copy(marked_mp4: bytes, change: dict) -> None:
    copy = shared_copy(marked_mp4, **change)

    reading = read_video_payload(io.BytesIO(copy))

    assert reading.payload == ID
    assert reading.confidence > 0.5


def test_an_unmarked_clip_reads_as_nothing_however_it_was_changed() -> None:
    plain = encode_mp4(scene(seed=11, seconds=0.5), fps=FPS)
    for copy in (plain, shared_copy(plain, scale=0.7, crop=0.1, crf=30)):
        reading = read_video_payload(io.BytesIO(copy))
        assert reading.payload is None and reading.frames_read > 0


def test_a_clip_with_the_first_mark_still_reads() -> None:
    """Clips published before the tile mark carry the first one, and stay found as before:
    as stored, and after a re-encode at their size or at exactly half of it."""
    labelled = label_frames(scene(seed=5), payload=ID, label="AI · @bob", fps=FPS)
    old = encode_mp4(np.stack([watermark_legacy.embed(f, ID) for f in labelled]), fps=FPS)

    assert read_video_payload(io.BytesIO(old)).payload == ID
    assert read_video_payload(io.BytesIO(reencoded(old, crf=28, scale=0.5))).payload == ID


def test_the_mark_keeps_the_picture() -> None:
    frames = scene(seed=7, seconds=0.25)
    plane = watermark_tile.mark_plane(ID, *frames.shape[1:3])
    marked = np.stack([watermark_tile.embed(f, plane) for f in frames])

    error = np.mean((marked.astype(np.float64) - frames) ** 2)
    assert 10 * np.log10(255**2 / error) >= 38.0


def test_the_coding_corrects_errors_and_its_check_refuses_noise() -> None:
    sent = 2.0 * watermark_code.coded_bits(ID) - 1
    rng = np.random.default_rng(5)
    noisy = sent + rng.normal(0, 0.6, sent.size)
    assert (np.sign(noisy) != sent).sum() >= 5  # raw errors the code must correct
    assert watermark_code.payload_of(watermark_code.viterbi(noisy)) == ID
    # Decodings of pure noise: none passes, and their check bits agree as chance would.
    agreeing = [
        watermark_code.check_bits_agreeing(watermark_code.viterbi(rng.normal(size=sent.size)))
        for _ in range(200)
    ]
    assert 14 <= np.mean(agreeing) <= 18 and max(agreeing) < watermark_code.CHECK_BITS
    assert FALSE_MATCH_RATE <= 1e-6


def test_the_mark_of_a_payload_never_changes() -> None:
    """Published clips are read with this layout: changing it would lose every one of them."""
    layout = watermark_tile._layout()
    digest = hashlib.sha256()
    for part in (
        layout.pilot_bins,
        layout.pilot_imag,
        layout.pilot_signs,
        layout.data_bins,
        layout.data_imag,
        layout.data_signs,
        layout.data_bit,
        watermark_code.coded_bits(ID),
    ):
        digest.update(np.ascontiguousarray(part).astype(np.int64).tobytes())
    pattern = watermark_tile.tile(ID)

    assert digest.hexdigest()[:16] == "665716471eb6c1c9"
    assert float(pattern[5, 7]) == pytest.approx(0.88707, abs=1e-4)
    assert float(pattern[150, 100]) == pytest.approx(-0.09361, abs=1e-4)


@pytest.mark.django_db
def test_verify_finds_the_post_of_a_resized_cropped_reencoded_copy(
    client: Client, other_user: User
) -> None:
    job = job_in_state(other_user, GenerationJob.State.SUCCEEDED)
    frames = mark_frames(scene(seed=3), payload=job.watermark_id, label="AI · @bob", fps=FPS)
    data = sign_clip(
        encode_mp4(frames, fps=FPS), title="t", clip_id=str(job.pk), model_key=job.model_key
    )
    job.video.save("clip.mp4", ContentFile(data))
    post = post_publish(job=job, actor=other_user, caption="Shared elsewhere")

    html = page_verify(client, shared_copy(data, scale=0.7, crop=0.1, crf=30)).content.decode()

    assert 'data-state="none"' in html  # the re-encode dropped the credentials
    assert f"Riff watermark, id {job.watermark_id}" in html
    assert f'href="{post.get_absolute_url()}"' in html
