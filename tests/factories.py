"""factory_boy factories that write through Riff's services, with real tiny clips."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import av
import factory
import numpy as np
from django.core.files.base import ContentFile

from accounts.models import User
from feed import services as feed_services
from feed.media import demo_clip_frames
from feed.models import Post
from generation.video import encode_mp4, poster_jpeg


@functools.cache
def tiny_clip(seed: int = 0) -> tuple[bytes, bytes]:
    """A real 0.5 s H.264 clip and its poster, encoded once per test session."""
    frames = demo_clip_frames(seed=seed, width=90, height=160, seconds=0.5, fps=12)
    return encode_mp4(frames, fps=12), poster_jpeg(frames[0])


@functools.cache
def tiny_clip_with_sound(seconds: float = 1.0, fps: int = 12) -> bytes:
    """A real H.264 clip with an AAC sound track (a 440 Hz tone); Riff's encoder writes none."""
    frames = demo_clip_frames(seed=0, width=90, height=160, seconds=seconds, fps=fps)
    tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(44100 * seconds)) / 44100)).astype(
        np.float32
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sound.mp4"
        with av.open(str(path), "w") as container:
            video = container.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = 90, 160, "yuv420p"
            audio = container.add_stream("aac", rate=44100)
            audio.layout = "mono"
            for frame in frames:
                container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(video.encode())
            for start in range(0, len(tone), 1024):
                piece = av.AudioFrame.from_ndarray(
                    tone[None, start : start + 1024], format="fltp", layout="mono"
                )
                piece.sample_rate = 44100
                container.mux(audio.encode(piece))
            container.mux(audio.encode())
        return path.read_bytes()


class UserFactory(factory.django.DjangoModelFactory):
    """A person with a usable password ("pass-word-123")."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pass-word-123")


class PostFactory(factory.Factory):
    """A published post, made by feed.services.post_create."""

    class Meta:
        model = Post

    owner = factory.SubFactory(UserFactory)
    prompt = factory.Sequence(lambda n: f"a paper boat drifting on a pond, take {n}")
    caption = factory.Sequence(lambda n: f"clip number {n}")
    model_name = "riff-demo"
    visibility = Post.Visibility.PUBLIC

    @classmethod
    def _create(cls, model_class: type[Post], *args: Any, **kwargs: Any) -> Post:
        video, poster = tiny_clip()
        created = kwargs.pop("created", None)
        post = feed_services.post_create(
            video=ContentFile(video, name="clip.mp4"),
            poster=ContentFile(poster, name="poster.jpg"),
            **kwargs,
        )
        if created is not None:
            Post.objects.filter(pk=post.pk).update(created=created)
            post.created = created
        return post
