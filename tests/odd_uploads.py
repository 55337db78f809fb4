"""Odd uploads for "Verify a clip": what a hostile or careless client sends.

A few small seeds are made once (PyAV, Pillow, zipfile), then mutated: truncated and
bit-flipped clips, videos whose header is huge in pixels or long in time, pictures, archives
and other files that aren't videos. tests/test_verify_drill.py sends 1,000 of them to a
running instance; bench/abuse.py prints what each kind costs its processes.
"""

from __future__ import annotations

import functools
import io
import tarfile
import zipfile
from collections.abc import Iterator

import av
import numpy as np
from PIL import Image

from feed.media import demo_clip_frames

Upload = tuple[str, str, bytes]  # (kind, file name, bytes)
KINDS = (
    "truncated",
    "bit-flipped",
    "huge-dimensions",
    "long-webm",
    "picture",
    "archive",
    "not-a-video",
)


def _encode(
    frames: np.ndarray,
    *,
    fps: int,
    container: str = "mp4",
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> bytes:
    """Frames as a video file, in memory."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container, options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        out.mux(stream.encode())
    return buffer.getvalue()


def _scene(seed: int, width: int = 128, height: int = 128, seconds: float = 1.0) -> np.ndarray:
    return np.stack(
        demo_clip_frames(seed=seed, width=width, height=height, seconds=seconds, fps=12)
    )


def stored_clip() -> bytes:
    """A small, whole MP4 such as Riff stores (H.264, 12 fps): read to its end, never refused."""
    return _clips()[0][2]


@functools.cache
def _clips() -> list[Upload]:
    """Whole, small videos in each container a shared clip comes in: the mutations' seeds."""
    scene = _scene(1)
    return [
        ("clip", "clip.mp4", _encode(scene, fps=12)),
        ("clip", "clip.webm", _encode(scene, fps=12, container="webm", codec="libvpx")),
        ("clip", "clip.mov", _encode(_scene(2), fps=12, container="mov", codec="mpeg4")),
        ("clip", "clip.mkv", _encode(_scene(3, 96, 160), fps=12, container="matroska")),
    ]


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 40).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _image(fmt: str, size: tuple[int, int], **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _gif() -> bytes:
    buffer = io.BytesIO()
    frames = [Image.new("P", (64, 64), i * 40) for i in range(5)]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _audio_only() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as out:
        stream = out.add_stream("aac", rate=16000)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for index in range(20):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, index * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buffer.getvalue()


def _sparse_webm() -> bytes:
    """Ten frames an hour apart: a WebM ten hours long, in a few kilobytes."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for index in range(10):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts = index * 3600
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return buffer.getvalue()


@functools.cache
def seeds() -> dict[str, list[tuple[str, bytes]]]:
    """The unmutated examples of each kind, made once per process (a few seconds)."""
    clip = stored_clip()
    black = np.zeros((1, 4096, 4096, 3), np.uint8)
    long_frames = np.zeros((400, 64, 64, 3), np.uint8)
    live = {"live": "1"}  # a WebM as a browser records it: no duration, no cues
    return {
        "huge-dimensions": [
            ("huge.mp4", _encode(black, fps=1)),  # 4096x4096: over VERIFY_MAX_PIXELS
            ("wide.mp4", _encode(np.zeros((1, 16, 8192, 3), np.uint8), fps=1)),
            ("huge.png", _png((8192, 8192))),  # 200 MB of pixels, decoded
        ],
        "long-webm": [
            ("long.webm", _encode(long_frames, fps=1, container="webm", codec="libvpx")),
            ("sparse.webm", _sparse_webm()),
            (
                "live.webm",
                _encode(
                    long_frames, fps=24, container="webm", codec="libvpx", container_options=live
                ),
            ),
        ],
        "picture": [
            ("photo.jpg", _image("JPEG", (640, 480))),
            ("frame.png", _png((64, 64))),
            ("anim.gif", _gif()),
            ("pic.webp", _image("WEBP", (320, 240))),
            ("image.bmp", _image("BMP", (100, 100))),
            ("photo.mp4", _image("JPEG", (1920, 1080))),  # a picture named as a video
        ],
        "archive": [
            ("clips.zip", _zip({"clip.mp4": clip})),
            ("clips.tar.gz", _tar_gz({"clip.mp4": clip})),
            ("zipped.mp4", _zip({"a.txt": b"hello" * 1000})),
            ("bomb.zip", _zip({"zeros.bin": bytes(20 * 2**20)})),  # 20 MB of zeros, 20 kB
        ],
        "not-a-video": [
            ("notes.mp4", b"this is not a video at all\n" * 40),
            ("random.mp4", np.random.default_rng(0).bytes(50_000)),
            ("audio.mp4", _audio_only()),
            ("ffv1.mkv", _encode(_scene(4, 64, 64), fps=12, container="matroska", codec="ffv1")),
            ("header.mp4", clip[:64]),
            ("one.mp4", b"\x00"),
        ],
    }


def _truncated(rng: np.random.Generator) -> tuple[str, bytes]:
    _, name, data = _clips()[int(rng.integers(len(_clips())))]
    return name, data[: int(rng.integers(1, len(data)))]


def _flipped(rng: np.random.Generator, data: bytes) -> bytes:
    out = bytearray(data)
    for at in rng.integers(0, len(out), size=int(rng.integers(1, 64))):
        out[at] ^= int(rng.integers(1, 256))
    return bytes(out)


def odd_uploads(count: int, *, seed: int = 0) -> Iterator[Upload]:
    """`count` odd uploads, the kinds in turn, each drawn from the seeds and often mutated."""
    rng = np.random.default_rng(seed)
    examples = seeds()
    for index in range(count):
        kind = KINDS[index % len(KINDS)]
        if kind == "truncated":
            name, data = _truncated(rng)
        elif kind == "bit-flipped":
            _, name, data = _clips()[int(rng.integers(len(_clips())))]
            data = _flipped(rng, data)
        else:
            name, data = examples[kind][int(rng.integers(len(examples[kind])))]
            mutation = int(rng.integers(4))
            if mutation == 1:  # damaged after its header
                data = data[:64] + _flipped(rng, data[64:]) if len(data) > 64 else data
            elif mutation == 2:  # cut short
                data = data[: max(1, int(len(data) * rng.uniform(0.3, 1.0)))]
        yield kind, name, data
