"""Make demo people, clips, follows, likes and comments so a new instance has a living feed."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any, NamedTuple

import numpy as np
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from accounts.services import follow_create, profile_update
from feed.media import demo_clip_frames
from feed.models import Post
from feed.services import comment_create, like_create, post_create
from generation.backends import WeightsMissing
from generation.video import encode_mp4, poster_jpeg

PEOPLE = [
    ("mira", "Mira Okafor", "Sunsets, seas and soft light.", (255, 138, 101)),
    ("jonas", "Jonas Berg", "I prompt, therefore I am.", (120, 200, 255)),
    ("lena", "Lena Park", "Tiny worlds in motion.", (170, 230, 140)),
    ("tomas", "Tomás Reyes", "Night owl. Neon everything.", (250, 240, 170)),
    ("aiko", "Aiko Tanaka", "Candy-coloured physics experiments.", (150, 90, 200)),
]


class Clip(NamedTuple):
    """A made demo clip: MP4 bytes, JPEG poster bytes and what made it."""

    video: bytes
    poster: bytes
    model: str


class DemoClip(NamedTuple):
    """One demo post; `remix_of` is the index of the clip it remixes."""

    handle: str
    prompt: str
    caption: str
    remix_of: int | None = None
    followers_only: bool = False


# Prompts in words the house model was trained on (generation/house/captions.py): one
# coloured shape, how it moves, and where.
CLIPS = [
    DemoClip("mira", "a golden ball sinking over the sea", "golden hour ✨"),
    DemoClip("jonas", "a red ball bouncing on the beach", "boing"),
    DemoClip("lena", "a red circle bouncing on the grass", "tiny bounce"),
    DemoClip("tomas", "a white circle drifting left at night", "night walk", None, True),
    DemoClip("aiko", "a pink star spinning in the sky", "star spin"),
    DemoClip("mira", "an orange ball sinking in the desert", "desert light"),
    DemoClip("jonas", "a blue ball moving right on the sand", "summer again"),
    DemoClip("lena", "a red circle moving left on a green lawn", "meadow friends", None, True),
    DemoClip("tomas", "a yellow circle bouncing over the waves", "moonbounce"),
    DemoClip("aiko", "a purple square spinning in the sky", "dance dance"),
    DemoClip("mira", "a golden ball rising over the sea", "remix of my own sunset", 0),
    DemoClip("aiko", "a pink ball bouncing on the beach", "remixed @jonas", 1),
]
# Used when the house model's weights are missing, or with --model procedural.
PROCEDURAL = "riff-demo"
PROCEDURAL_FPS = 24
COMMENTS = [
    "this is so smooth",
    "how many steps did you use?",
    "the colours!!",
    "remixing this tonight",
    "love the motion here",
    "looped it ten times",
]


def avatar_png(handle: str, colour: tuple[int, int, int]) -> bytes:
    """A round monogram avatar."""
    image = Image.new("RGB", (128, 128), colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse((14, 14, 114, 114), fill=tuple(max(0, c - 70) for c in colour))
    draw.text((52, 50), handle[0].upper(), fill=(255, 255, 255), font_size=32)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


class Command(BaseCommand):
    """seed_demo: a living feed for a new instance."""

    help = "Create demo users, clips, follows, likes and comments (skipped if already there)."

    def add_arguments(self, parser: CommandParser) -> None:
        """--password lets people log in as the demo users; --reset makes them anew."""
        parser.add_argument("--password", help="Give every demo user this password.")
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo users and make them again."
        )
        parser.add_argument("--seconds", type=float, default=2.0, help="Length of each clip.")
        parser.add_argument(
            "--model",
            default="riff-house",
            help=f"Model that makes the clips (a RIFF_MODELS key), or {PROCEDURAL!r} to draw "
            "them procedurally. The house model makes clips of at most 2 seconds.",
        )
        parser.add_argument("--steps", type=int, default=20, help="Denoising steps per clip.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Seed, unless the demo people are already there."""
        handles = [handle for handle, *_ in PEOPLE]
        existing = User.objects.filter(username__in=handles)
        if existing.exists() and not options["reset"]:
            self.stdout.write("Demo users already exist; use --reset to make them again.")
            return
        # Made first, outside the transaction: generating takes a while, needs no database,
        # and a failure here leaves any old demo users as they were.
        clips = self._clips(options["model"], seconds=options["seconds"], steps=options["steps"])
        if options["reset"]:
            for user in existing:
                for post in Post.objects.filter(owner=user):
                    for field in (post.video, post.poster):
                        if field and field.name:
                            field.storage.delete(field.name)
            existing.delete()
        with transaction.atomic():
            people = self._people(options.get("password"))
            posts = self._posts(people, clips)
            self._engagement(people, posts)
        self.stdout.write(
            self.style.SUCCESS(f"Made {len(people)} demo users and {len(posts)} demo clips.")
        )

    def _people(self, password: str | None) -> dict[str, User]:
        people = {}
        for handle, name, bio, colour in PEOPLE:
            user = User.objects.create_user(
                username=handle, email=f"{handle}@demo.riff.invalid", password=password
            )
            avatar = ContentFile(avatar_png(handle, colour), name=f"{handle}.png")
            profile_update(user=user, display_name=name, bio=bio, avatar=avatar)
            people[handle] = user
        return people

    def _clips(self, model: str, seconds: float, steps: int) -> list[Clip]:
        """Each demo clip's video and poster, made by `model` (procedurally if it is missing)."""
        if model != PROCEDURAL:
            try:
                return [
                    self._generated(model, clip, n, seconds, steps) for n, clip in enumerate(CLIPS)
                ]
            except WeightsMissing as exc:
                self.stderr.write(f"{exc}\nDrawing the demo clips procedurally instead.")
        clips = []
        for n in range(len(CLIPS)):
            frames: np.ndarray = demo_clip_frames(seed=n, seconds=seconds, fps=PROCEDURAL_FPS)
            clips.append(
                Clip(encode_mp4(frames, fps=PROCEDURAL_FPS), poster_jpeg(frames[0]), PROCEDURAL)
            )
        return clips

    def _generated(self, model: str, clip: DemoClip, n: int, seconds: float, steps: int) -> Clip:
        """One clip made the way a job makes it: the job's spec, the warm backend, encoding."""
        from generation.backends import get_backend
        from generation.runner import spec_for

        backend = get_backend(model)
        spec = backend.fit(
            spec_for(
                model_key=model,
                prompt=clip.prompt,
                aspect="9:16",
                duration_s=seconds,
                steps=steps,
                guidance=4.0,
                seed=n,
            )
        )
        frames = backend.generate(spec, lambda done, total: None)
        self.stdout.write(f"  {n + 1}/{len(CLIPS)} {clip.prompt}")
        return Clip(encode_mp4(frames, fps=spec.fps), poster_jpeg(frames[0]), model)

    def _posts(self, people: dict[str, User], clips: list[Clip]) -> list[Post]:
        posts: list[Post] = []
        now = timezone.now()
        for n, (clip, made) in enumerate(zip(CLIPS, clips, strict=True)):
            post = post_create(
                owner=people[clip.handle],
                video=ContentFile(made.video, name="clip.mp4"),
                poster=ContentFile(made.poster, name="poster.jpg"),
                prompt=clip.prompt,
                caption=clip.caption,
                model_name=made.model,
                visibility=(
                    Post.Visibility.FOLLOWERS if clip.followers_only else Post.Visibility.PUBLIC
                ),
                remix_of=None if clip.remix_of is None else posts[clip.remix_of],
            )
            # Spread the clips over the last two days so the feed reads like a real one.
            created = now - timedelta(hours=4 * (len(CLIPS) - n))
            Post.objects.filter(pk=post.pk).update(created=created)
            posts.append(post)
        return posts

    def _engagement(self, people: dict[str, User], posts: list[Post]) -> None:
        users = list(people.values())
        for i, follower in enumerate(users):
            for followee in users[i + 1 :] + users[: i % 2]:
                if followee != follower:
                    follow_create(follower=follower, followee=followee)
        for n, post in enumerate(posts):
            for k, user in enumerate(users):
                if user.pk != post.owner_id and (n + k) % 3 != 0:
                    like_create(user=user, post=post)
            commenter = users[(n + 1) % len(users)]
            if commenter.pk != post.owner_id:
                comment_create(author=commenter, post=post, body=COMMENTS[n % len(COMMENTS)])
