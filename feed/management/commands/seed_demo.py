"""Make demo people, clips, follows, likes and comments so a new instance has a living feed.

Every demo clip is made the way anyone's is: a generation job (the prompt policy, the
model, the moving AI label, the watermark and signed content credentials), run by this
command itself, then posted from the finished draft. So the verify page knows each one,
as it knows every clip made here.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, NamedTuple

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from PIL import Image, ImageDraw

from accounts.models import User
from accounts.services import follow_create, profile_update
from feed.models import Post
from feed.services import comment_create, like_create, post_publish, remix_source
from generation.backends.registry import check_weights, model_config
from generation.models import GenerationJob
from generation.runner import InfrastructureError, job_run
from generation.selectors import model_longest
from generation.services import RemixSource, generation_job_create

PEOPLE = [
    ("mira", "Mira Okafor", "Sunsets, seas and soft light.", (255, 138, 101)),
    ("jonas", "Jonas Berg", "I prompt, therefore I am.", (120, 200, 255)),
    ("lena", "Lena Park", "Tiny worlds in motion.", (170, 230, 140)),
    ("tomas", "Tomás Reyes", "Night owl. Neon everything.", (250, 240, 170)),
    ("aiko", "Aiko Tanaka", "Candy-coloured physics experiments.", (150, 90, 200)),
]


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
# How long to wait for a demo clip that a running worker took before this command did.
WORKER_WAIT_S = 600.0
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


def _delete_people(users: Iterable[User]) -> None:
    """Delete demo people with their files: avatars, clips, posters, their jobs' files."""
    users = list(users)
    files: list[FieldFile] = [user.profile.avatar for user in users]
    for post in Post.objects.filter(owner__in=users):
        files += [post.video, post.poster]
    for job in GenerationJob.objects.filter(owner__in=users):
        files += [job.video, job.poster]
    for field in files:
        if field and field.name and field.storage.exists(field.name):
            field.storage.delete(field.name)
    User.objects.filter(pk__in=[user.pk for user in users]).delete()


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
            help="Model that makes the clips (a RIFF_MODELS key). The house model makes clips "
            "of at most 2 seconds.",
        )
        parser.add_argument("--steps", type=int, default=20, help="Denoising steps per clip.")

    def handle(self, *args: Any, **options: Any) -> None:
        """Seed, unless the demo people are already there."""
        handles = [handle for handle, *_ in PEOPLE]
        existing = User.objects.filter(username__in=handles)
        if existing.exists() and not options["reset"]:
            self.stdout.write("Demo users already exist; use --reset to make them again.")
            return
        params = self._params(options["model"], options["seconds"], options["steps"])
        if options["reset"]:
            _delete_people(existing)
        people = self._people(options.get("password"))
        try:
            posts = self._posts(people, params)
            with transaction.atomic():
                self._engagement(people, posts)
        except BaseException:
            # Nothing half-made is left: the new demo people go, with their jobs and files.
            _delete_people(User.objects.filter(pk__in=[user.pk for user in people.values()]))
            raise
        self.stdout.write(
            self.style.SUCCESS(f"Made {len(people)} demo users and {len(posts)} demo clips.")
        )

    def _params(self, model: str, seconds: float, steps: int) -> dict[str, Any]:
        """A job's parameters, checked before anything is deleted or made."""
        try:
            check_weights(model_config(model))
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        longest = model_longest(model)
        if longest is not None and seconds > longest:
            raise CommandError(f"{model} makes clips of at most {longest:g} seconds.")
        return {
            "model_key": model,
            "aspect": "9:16",
            "duration_s": seconds,
            "steps": steps,
            "guidance": 4.0,
        }

    @transaction.atomic
    def _people(self, password: str | None) -> dict[str, User]:
        people: dict[str, User] = {}
        for handle, name, bio, colour in PEOPLE:
            user = User.objects.create_user(
                username=handle, email=f"{handle}@demo.riff.invalid", password=password
            )
            avatar = ContentFile(avatar_png(handle, colour), name=f"{handle}.png")
            profile_update(user=user, display_name=name, bio=bio, avatar=avatar)
            people[handle] = user
        return people

    def _posts(self, people: dict[str, User], params: dict[str, Any]) -> list[Post]:
        """Each demo clip made by a job and posted from its draft, oldest first."""
        posts: list[Post] = []
        now = timezone.now()
        for n, clip in enumerate(CLIPS):
            owner = people[clip.handle]
            source = None if clip.remix_of is None else remix_source(post=posts[clip.remix_of])
            job = self._made(owner, clip.prompt, {**params, "seed": n}, source)
            self.stdout.write(f"  {n + 1}/{len(CLIPS)} {clip.prompt}")
            post = post_publish(
                job=job,
                actor=owner,
                caption=clip.caption,
                visibility=(
                    Post.Visibility.FOLLOWERS if clip.followers_only else Post.Visibility.PUBLIC
                ),
            )
            # Spread the clips over the last two days so the feed reads like a real one.
            created = now - timedelta(hours=4 * (len(CLIPS) - n))
            Post.objects.filter(pk=post.pk).update(created=created)
            posts.append(post)
        return posts

    def _made(
        self, owner: User, prompt: str, params: dict[str, Any], source: RemixSource | None
    ) -> GenerationJob:
        """Queue a job and run it here (or wait for a worker that took it first)."""
        try:
            job = generation_job_create(owner=owner, prompt=prompt, params=params, source=source)
            job_run(job_id=str(job.pk), worker="seed_demo")
        except ValidationError as exc:  # refused by the policy, the allowance or the model
            reason = " ".join(exc.messages)
            raise CommandError(f"The demo clip “{prompt}” could not be made: {reason}") from exc
        except InfrastructureError as exc:
            raise CommandError(f"The demo clip “{prompt}” could not be made: {exc}") from exc
        deadline = time.monotonic() + WORKER_WAIT_S
        job.refresh_from_db()
        while job.is_active and time.monotonic() < deadline:
            time.sleep(0.5)
            job.refresh_from_db()
        if job.state != GenerationJob.State.SUCCEEDED:
            reason = job.failure_message or f"it is still {job.get_state_display().lower()}"
            raise CommandError(f"The demo clip “{prompt}” could not be made: {reason}")
        return job

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
