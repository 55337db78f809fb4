"""factory_boy factories that write through Riff's services, with real tiny clips."""

from __future__ import annotations

import functools
from typing import Any

import factory
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
