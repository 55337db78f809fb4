"""What a video says about where it comes from: its signed credentials and its watermark
(and, found by the verify worker, the posted clip it looks like).

An upload is read from a file on disk, never from bytes in memory, by the `verify` worker
(moderation/verify.py), never in the web process: the header is checked (container, codec,
pixels, frames, duration) before any frame is decoded, the credentials are read from the
file, and the watermark from frames sampled one at a time, each dropped once scored.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import av
from django.conf import settings
from django.core.files.storage import default_storage

from .content_credentials import CredentialReading, read_clip
from .perceptual import PerceptualMatch
from .watermark import TooSlow, WatermarkReading, read_video_payload


def upload_refusal(size: int | None) -> str | None:
    """Why an upload of `size` bytes is too large to verify, or None when it may be read."""
    limit = settings.VERIFY_MAX_UPLOAD_MB
    if (size or 0) <= limit * 1024 * 1024:
        return None
    return f"That file is {(size or 0) / 2**20:.0f} MB; the most Riff checks is {limit} MB."


# What a multipart body adds around its file, at most, from a browser or an API client.
MULTIPART_SLACK = 64 * 1024


def declared_size_refusal(content_length: str | None) -> str | None:
    """Why a request body is too large by its Content-Length alone, before it is parsed."""
    try:
        length = int(content_length or 0)
    except ValueError:
        return None
    return upload_refusal(max(0, length - MULTIPART_SLACK))


class NotAVideo(ValueError):
    """The file is not a video that can be checked; the message says why, for a person."""


TOO_SLOW = "That video took too long to check, so Riff gave up on it. Try a shorter clip."


@dataclass(frozen=True)
class ClipInspection:
    """A video's C2PA credentials and the Riff watermark found in its frames."""

    credentials: CredentialReading
    watermark: WatermarkReading
    # The posted clip it looks like, when the watermark read nothing (moderation/perceptual.py).
    perceptual: PerceptualMatch | None = None

    def as_json(self) -> dict[str, Any]:
        """The inspection as JSON a database can hold (PostgreSQL refuses NUL in text)."""
        return _without_nul(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClipInspection:
        """An inspection stored with as_json()."""
        perceptual = data.get("perceptual")
        return cls(
            credentials=CredentialReading(**data["credentials"]),
            watermark=WatermarkReading(**data["watermark"]),
            perceptual=PerceptualMatch(**perceptual) if perceptual else None,
        )


def _without_nul(value: Any) -> Any:
    """The value with NUL removed from every string in it: a manifest is the uploader's text."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


# Containers and codecs a shared clip comes in. Anything else (a picture, an archive, a
# stream of some exotic codec) is refused before a frame is decoded.
CONTAINERS = {"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm"}
CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "prores", "mjpeg"}
NOT_READABLE = "That file isn't a video we can read (MP4, WebM or MOV)."


def _limits_refusal(container: av.container.InputContainer) -> str | None:
    """Why the video's own header already rules it out, or None: read before any decoding."""
    formats = set(container.format.name.split(","))
    if not formats & CONTAINERS:
        if formats & {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "gif", "bmp_pipe"}:
            return "That's a picture, not a video: Riff checks videos (MP4, WebM or MOV)."
        return NOT_READABLE
    if not container.streams.video:
        return "That file has no video in it."
    stream = container.streams.video[0]
    context = stream.codec_context  # None for a codec FFmpeg has no decoder for
    if context is None:
        return "Riff can't read video encoded that way."
    if context.name not in CODECS:
        return f"Riff can't read video encoded as {context.name}."
    width, height = context.width, context.height
    if width * height > settings.VERIFY_MAX_PIXELS:
        return f"That video is {width}x{height}; the largest Riff checks is about 4K."
    seconds = _duration_s(container, stream)
    if seconds is not None and seconds > settings.VERIFY_MAX_SECONDS:
        limit = settings.VERIFY_MAX_SECONDS
        return f"That video is {seconds:.0f} s long; the longest Riff checks is {limit} s."
    frames = _frame_count(stream, seconds)
    if frames is not None and frames > settings.VERIFY_MAX_FRAMES:
        limit = settings.VERIFY_MAX_FRAMES
        return f"That video has {frames} frames; the most Riff checks is {limit}."
    # A video that doesn't say how long it is (a browser's recording often doesn't) is still
    # read: the watermark reader decodes only as many frames as it keeps.
    return None


def _duration_s(
    container: av.container.InputContainer, stream: av.video.VideoStream
) -> float | None:
    """The video's length from its header (the stream's, else the container's), if it says."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _frame_count(stream: av.video.VideoStream, seconds: float | None) -> int | None:
    """Frames in the video as its header tells: counted (MP4), else duration times rate."""
    if stream.frames:
        return int(stream.frames)
    rate = stream.average_rate or stream.guessed_rate
    if seconds is None or not rate:
        return None
    return round(seconds * float(rate))


def _mime(source: str | Path | IO[bytes]) -> str:
    """The video's MIME type; NotAVideo unless its header is within bounds and a frame decodes."""
    try:
        opened = str(source) if isinstance(source, Path) else source
        with av.open(opened, mode="r") as container:
            refusal = _limits_refusal(container)
            if refusal is not None:
                raise NotAVideo(refusal)
            next(container.decode(video=0))
            formats = set(container.format.name.split(","))
    except NotAVideo:
        raise
    except (av.FFmpegError, StopIteration, ValueError, OSError) as exc:
        raise NotAVideo(NOT_READABLE) from exc
    if "webm" in formats:
        return "video/webm"
    return "video/mp4" if "mp4" in formats else "video/quicktime"


def clip_read(
    source: str | Path | IO[bytes], *, mime: str = "video/mp4", deadline: float | None = None
) -> ClipInspection:
    """A video's credentials and watermark, read from its file (a path or a binary file)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as handle:
            credentials = read_clip(handle, mime)
        return ClipInspection(
            credentials=credentials,
            watermark=read_video_payload(str(source), deadline=deadline),
        )
    source.seek(0)
    credentials = read_clip(source, mime)
    source.seek(0)
    return ClipInspection(
        credentials=credentials, watermark=read_video_payload(source, deadline=deadline)
    )


def clip_inspect(path: str | Path, *, deadline: float | None = None) -> ClipInspection:
    """Check an uploaded video within the limits, then read its credentials and watermark.

    NotAVideo, with a message for a person, when it isn't a video within the limits or its
    frames can't be read by `deadline` (time.monotonic()).
    """
    mime = _mime(path)
    try:
        return clip_read(path, mime=mime, deadline=deadline)
    except TooSlow as exc:
        raise NotAVideo(TOO_SLOW) from exc
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise NotAVideo(NOT_READABLE) from exc


@contextmanager
def stored_local(name: str) -> Iterator[Path]:
    """A file in default storage as a local path: the file itself when storage is a local
    folder, else (S3) a temporary copy made chunk by chunk."""
    try:
        own = Path(default_storage.path(name))
    except NotImplementedError:  # storage without local files
        own = None
    if own is not None:
        if not own.is_file():
            raise FileNotFoundError(name)
        yield own
        return
    with (
        tempfile.NamedTemporaryFile(prefix="riff-verify-") as local,
        default_storage.open(name, "rb") as stored,
    ):
        shutil.copyfileobj(stored, local, length=1024 * 1024)
        local.flush()
        yield Path(local.name)


def stored_clip_read(name: str) -> ClipInspection | None:
    """What one of this instance's clips in storage carries; None when it can't be read."""
    try:
        with stored_local(name) as path:
            return clip_read(path)
    except (av.FFmpegError, ValueError, OSError):
        return None
