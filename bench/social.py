"""Notifications at scale: how fast one reaches an open page, and one clip's fan-out.

Creates a throwaway PostgreSQL database `riff_bench_social` on the server of DATABASE_URL
(dropped first if a previous run left it, dropped again at the end unless --keep), seeds
people with COPY, and prints:

(a) the time from a like's notification task starting to the liker's target's open page
    (a WebSocket on the Redis channel layer, as daphne serves it) receiving the new unread
    count: p50/p95, against the same page hearing a bare push (the count re-read, no write);
(b) the fan-out of one new clip to its author's followers (10,000 by default, one in 20
    with a page open): the whole `social.notify` task (who wants it, one INSERT per 2,000
    rows, a push to each open page), against a bare bulk_create of the same rows, with the
    pushes timed apart;
(c) clip search over 100,000 public clips (PostgreSQL full-text, social/search.py) for a
    signed-in viewer: p50/p99 of one- and two-word queries, against the bare query of the
    newest 24 public clips.

    .venv/bin/python bench/social.py [--followers 10000] [--deliveries 50] [--clips 100000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development run, as bin/run and bin/test are
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/riff")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

import numpy as np  # noqa: E402
from asgiref.sync import async_to_sync, sync_to_async  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from ranking_world import (  # noqa: E402
    bench_database,
    copy_rows,
    model_rows,
    percentile,
    reset_sequence,
    seed_users,
)

BENCH_DB = "riff_bench_social"


def seed_people(count: int) -> None:
    """`count` people with profiles (COPY); person 1 is followed by all the others."""
    from accounts.models import Follow, Profile

    joined = timezone.now()
    seed_users(count, handle="fan", joined=joined)
    columns, row = model_rows(
        Profile,
        {"id": lambda i: i + 1, "user_id": lambda i: i + 1, "follower_count": 0},
        count,
    )
    copy_rows(Profile._meta.db_table, columns, (row(i) for i in range(count)))
    reset_sequence(Profile._meta.db_table)
    copy_rows(
        Follow._meta.db_table,
        ["follower_id", "followee_id", "created"],
        ((i, 1, joined) for i in range(2, count + 1)),
    )


def a_clip(owner_id: int) -> Any:
    """A public post row with placeholder files (the fan-out reads rows, never the video)."""
    from feed.models import Post

    post = Post(owner_id=owner_id, prompt="a red ball bouncing", model_name="riff-house")
    post.video.save("bench.mp4", ContentFile(b"0"), save=False)
    post.save()
    return post


def bench_delivery(runs: int) -> None:
    """(a) a like's notification, from the task's start to the open page's new count."""
    from channels.routing import URLRouter
    from channels.testing import WebsocketCommunicator

    from accounts.models import User
    from config.routing import websocket_urlpatterns
    from social import fanout, services

    owner = User.objects.get(pk=1)
    post = a_clip(owner.pk)
    likers = list(User.objects.filter(pk__in=range(2, runs + 2)))

    async def measure() -> tuple[list[float], list[float]]:
        comm = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/notifications/")
        comm.scope["user"] = owner
        connected, _ = await comm.connect()
        assert connected, "the socket refused the owner"
        await comm.receive_json_from(timeout=10)
        full, bare = [], []
        for liker in likers:
            start = time.perf_counter()
            await sync_to_async(fanout.liked)(user_id=liker.pk, post_id=post.pk)
            await comm.receive_json_from(timeout=10)
            full.append((time.perf_counter() - start) * 1000)
            # The same page hearing a push with nothing new: a re-read, and no message, so
            # mark one read to make the count move.
            start = time.perf_counter()
            await sync_to_async(services.notifications_mark_read)(user=owner)
            await comm.receive_json_from(timeout=10)
            bare.append((time.perf_counter() - start) * 1000)
        await comm.disconnect()
        return full, bare

    full, bare = async_to_sync(measure)()
    print(f"\n(a) a like reaching its clip owner's open page, {runs} likes (Redis channel layer)")
    print(f"{'':<34}{'p50 ms':>9}{'p95 ms':>9}")
    print(
        f"{'notify task start -> new count':<34}"
        f"{statistics.median(full):>9.1f}{percentile(full, 95):>9.1f}"
    )
    print(
        f"{'baseline: mark read -> new count':<34}"
        f"{statistics.median(bare):>9.1f}{percentile(bare, 95):>9.1f}"
    )


def bench_fan_out(followers: int) -> None:
    """(b) one new clip to every follower of its author."""
    from django.db import transaction

    from social import fanout, presence, services
    from social.models import Notification

    post = a_clip(1)
    # Some followers have a page open: those are pushed to (social/presence.py).
    for pk in range(2, followers + 2, 20):
        presence.mark_present(pk)
    listening = len(presence.present_among(list(range(2, followers + 2))))
    pushes: list[float] = []
    real_push = services.unread_push

    def timed_push(*, user_ids: Any) -> None:
        start = time.perf_counter()
        real_push(user_ids=user_ids)
        pushes.append(time.perf_counter() - start)

    services.unread_push = timed_push  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        fanout.published(post_id=post.pk)
        task_s = time.perf_counter() - start
    finally:
        services.unread_push = real_push  # type: ignore[assignment]
    written = Notification.objects.filter(post=post, kind="new_post").count()

    rows = [
        Notification(recipient_id=pk, kind="new_post", actor_id=1, post=post, group_key="bench")
        for pk in range(2, followers + 2)
    ]
    start = time.perf_counter()
    with transaction.atomic():
        Notification.objects.bulk_create(rows, batch_size=services.BULK_BATCH)
    bulk_s = time.perf_counter() - start
    push_s = sum(pushes)
    print(f"\n(b) one new clip to its author's {followers} followers ({written} told)")
    print(f"{'social.notify task, whole':<34}{task_s * 1000:>9.0f} ms")
    print(f"{f'  of which pushes ({listening} pages open)':<34}{push_s * 1000:>9.0f} ms")
    print(f"{'baseline: bare bulk_create':<34}{bulk_s * 1000:>9.0f} ms")
    print(f"{'task / baseline':<34}{task_s / bulk_s:>9.1f}")


# Words prompts are made of (subject, action, place, look), so queries hit 1-20% of clips.
SUBJECTS = [
    "koi",
    "fox",
    "robot",
    "dancer",
    "boat",
    "dragon",
    "city",
    "forest",
    "owl",
    "astronaut",
    "cat",
    "violin",
]
ACTIONS = ["swimming", "running", "glowing", "dancing", "drifting", "flying", "melting", "spinning"]
PLACES = [
    "rain",
    "desert",
    "ocean",
    "neon",
    "snow",
    "market",
    "temple",
    "canyon",
    "garden",
    "orbit",
]
LOOKS = ["watercolor", "cinematic", "pixel", "claymation", "noir", "pastel"]


def seed_clips(count: int, owners: int) -> None:
    """`count` public clips with prompts and captions drawn from the word lists (COPY)."""
    from feed.models import Post

    rng = np.random.default_rng(3)
    picks = [rng.integers(0, len(words), count) for words in (SUBJECTS, ACTIONS, PLACES, LOOKS)]
    now = timezone.now()

    def prompt(i: int) -> str:
        s, a, p, look = (
            words[int(pick[i])]
            for words, pick in zip((SUBJECTS, ACTIONS, PLACES, LOOKS), picks, strict=True)
        )
        return f"a {s} {a} through the {p}, {look} style, take {i}"

    columns, row = model_rows(
        Post,
        {
            "owner_id": lambda i: i % owners + 1,
            "video": lambda i: f"posts/bench/{i + 1}.mp4",
            "caption": lambda i: f"clip {i} #{SUBJECTS[int(picks[0][i])]}",
            "prompt": prompt,
            "model_name": "riff-house",
            "visibility": Post.Visibility.PUBLIC,
            "standing": Post.Standing.OK,
            "created": lambda i: now - timedelta(seconds=count - i),
        },
        count,
    )
    copy_rows(Post._meta.db_table, columns, (row(i) for i in range(count)))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # planner statistics, as autovacuum would make


def bench_search(runs: int) -> None:
    """(c) clip search against the newest-24 query, both for a signed-in viewer."""
    from accounts.models import User
    from feed.models import Post
    from feed.selectors import visible_posts
    from social.search import CLIPS_MAX, search_clips

    viewer = User.objects.get(pk=2)
    rng = np.random.default_rng(5)
    queries = [
        str(rng.choice(SUBJECTS)) if n % 2 else f"{rng.choice(SUBJECTS)} {rng.choice(PLACES)}"
        for n in range(runs)
    ]
    search_clips(viewer=viewer, query=queries[0])  # warm up
    found, bare = [], []
    for query in queries:
        start = time.perf_counter()
        search_clips(viewer=viewer, query=query)
        found.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        list(visible_posts(viewer=viewer).order_by("-created", "-id")[:CLIPS_MAX])
        bare.append((time.perf_counter() - start) * 1000)
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM feed_post WHERE to_tsvector('simple'::regconfig, "
            "COALESCE(caption, '') || ' ' || COALESCE(prompt, '')) @@ "
            "websearch_to_tsquery('simple'::regconfig, 'koi rain')"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    print(f"\n(c) clip search over {Post.objects.count()} clips, {runs} queries (signed in)")
    print(f"{'':<34}{'p50 ms':>9}{'p99 ms':>9}")
    print(
        f"{'search_clips (full text)':<34}"
        f"{statistics.median(found):>9.1f}{percentile(found, 99):>9.1f}"
    )
    print(
        f"{'baseline: newest 24 visible':<34}"
        f"{statistics.median(bare):>9.1f}{percentile(bare, 99):>9.1f}"
    )
    print(f"{'uses the full-text index':<34}{'yes' if 'post_search_simple' in plan else 'NO':>9}")


def main() -> None:
    """Seed, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--deliveries", type=int, default=50)
    parser.add_argument("--clips", type=int, default=100_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help=f"keep {BENCH_DB} afterwards")
    args = parser.parse_args()
    with bench_database(args.keep, BENCH_DB):
        start = time.perf_counter()
        seed_people(max(args.followers, args.deliveries) + 1)
        print(f"seeded {args.followers + 1} people in {time.perf_counter() - start:.1f}s")
        bench_delivery(args.deliveries)
        bench_fan_out(args.followers)
        start = time.perf_counter()
        seed_clips(args.clips, owners=args.followers + 1)
        print(f"\nseeded {args.clips} clips in {time.perf_counter() - start:.1f}s")
        bench_search(args.searches)


if __name__ == "__main__":
    main()
