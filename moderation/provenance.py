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


def check_video(data: bytes) -> str:
    """The video's MIME type; NotAVideo unless it opens with a decodable video frame."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise NotAVideo("That file has no video in it.")
            next(container.decode(video=0))
            formats = set(container.format.name.split(","))
    except NotAVideo:
        raise
    except (av.FFmpegError, StopIteration, ValueError, OSError) as exc:
        raise NotAVideo("That file isn't a video we can read (MP4, WebM or MOV).") from exc
    if "webm" in formats:
        return "video/webm"
    return "video/mp4" if "mp4" in formats else "video/quicktime"


def clip_inspect(data: bytes) -> ClipInspection:
    """Check a video, then read its credentials and watermark; NotAVideo when it isn't one."""
    mime = check_video(data)
    return ClipInspection(
        credentials=read_clip(data, mime), watermark=read_video_payload(io.BytesIO(data))
    )
