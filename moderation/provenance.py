"""What a video says about where it comes from: its signed credentials and its watermark."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
from django.conf import settings

from .content_credentials import CredentialReading, read_clip
from .watermark import WatermarkReading, read_video_payload


def upload_refusal(size: int | None) -> str | None:
    """Why an upload of `size` bytes is too large to verify, or None when it may be read."""
    limit = settings.VERIFY_MAX_UPLOAD_MB
    if (size or 0) <= limit * 1024 * 1024:
        return None
    return f"That file is {(size or 0) / 2**20:.0f} MB; the most Riff checks is {limit} MB."


class NotAVideo(ValueError):
    """The bytes are not a video that can be decoded."""


@dataclass(frozen=True)
class ClipInspection:
    """A video's C2PA credentials and the Riff watermark found in its frames."""

    credentials: CredentialReading
    watermark: WatermarkReading


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
    if stream.codec_context.name not in CODECS:
        return f"Riff can't read video encoded as {stream.codec_context.name}."
    width, height = stream.codec_context.width, stream.codec_context.height
    if width * height > settings.VERIFY_MAX_PIXELS:
        return f"That video is {width}x{height}; the largest Riff checks is about 4K."
    seconds = _duration_s(container, stream)
    if seconds is not None and seconds > settings.VERIFY_MAX_SECONDS:
        limit = settings.VERIFY_MAX_SECONDS
        return f"That video is {seconds:.0f} s long; the longest Riff checks is {limit} s."
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


def check_video(data: bytes) -> str:
    """The video's MIME type; NotAVideo unless its header is within bounds and a frame decodes."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
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


def clip_inspect(data: bytes) -> ClipInspection:
    """Check a video, then read its credentials and watermark; NotAVideo when it isn't one."""
    mime = check_video(data)
    return ClipInspection(
        credentials=read_clip(data, mime), watermark=read_video_payload(io.BytesIO(data))
    )
