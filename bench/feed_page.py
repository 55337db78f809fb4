"""Feed page cost: latency and queries per page, against a bare ordered query, in one run.

Seeds a throwaway PostgreSQL test database (DATABASE_URL, default the local `riff`) with
users, posts, follows and likes, then times `feed.services.feed_serve` for For You and
Following at two page sizes. The baseline is the single ordered query a feed page cannot
do without (the newest visible posts), so the ratio is what Riff's page assembly costs.

    .venv/bin/python bench/feed_page.py [--users 2000] [--posts 20000] [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")  # a development run, as bin/run and bin/test are
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/riff")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402


def seed(users: int, posts: int, rng: random.Random) -> None:
    """Bulk-insert people, posts, follows and likes."""
    from accounts.models import Follow, Profile, User
    from feed.models import Like, Post

    people = User.objects.bulk_create(
        [User(username=f"bench{n}", email=f"bench{n}@example.com") for n in range(users)]
    )
    Profile.objects.bulk_create([Profile(user=u) for u in people])
    now = timezone.now()
    Post.objects.bulk_create(
        [
            Post(
                owner=rng.choice(people),
                video=f"posts/bench/{n}.mp4",
                poster=f"posts/bench/{n}.jpg",
                prompt=f"bench prompt {n}",
                model_name="bench",
                visibility=rng.choice(["public"] * 8 + ["followers", "private"]),
                created=now - timedelta(seconds=n * 7),
            )
            for n in range(posts)
        ],
        batch_size=5000,
    )
    post_ids = list(Post.objects.values_list("pk", flat=True))
    follows = {(rng.choice(people).pk, rng.choice(people).pk) for _ in range(users * 20)}
    Follow.objects.bulk_create(
        [Follow(follower_id=a, followee_id=b) for a, b in follows if a != b],
        batch_size=5000,
        ignore_conflicts=True,
    )
    likes = {(rng.choice(people).pk, rng.choice(post_ids)) for _ in range(posts * 3)}
    Like.objects.bulk_create(
        [Like(user_id=u, post_id=p) for u, p in likes], batch_size=5000, ignore_conflicts=True
    )


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, int]:
    """Median and p95 milliseconds of `fn`, and the queries one call makes."""
    with CaptureQueriesContext(connection) as ctx:
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], len(ctx)


def main() -> None:
    """Seed, measure, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    from accounts.models import User
    from feed.models import Post
    from feed.selectors import Feed
    from feed.services import feed_serve

    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        start = time.perf_counter()
        seed(args.users, args.posts, random.Random(7))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # planner statistics, as autovacuum would gather
        print(
            f"seeded {args.users} users, {args.posts} posts in {time.perf_counter() - start:.1f}s"
        )
        viewer = User.objects.order_by("?").first()

        def baseline(size: int) -> Callable[[], object]:
            return lambda: list(
                Post.objects.filter(visibility="public").order_by("-created", "-id")[:size]
            )

        print(f"{'page':<22}{'p50 ms':>8}{'p95 ms':>8}{'queries':>9}{'x baseline':>12}")
        for size in (8, 32):
            base_p50, _, _ = timed(baseline(size), args.runs)
            for feed in (Feed.FOR_YOU, Feed.FOLLOWING):
                p50, p95, queries = timed(
                    lambda feed=feed, size=size: feed_serve(
                        viewer=viewer, feed=feed, cursor=None, size=size
                    ),
                    args.runs,
                )
                label = f"{feed} x{size}"
                print(f"{label:<22}{p50:>8.2f}{p95:>8.2f}{queries:>9}{p50 / base_p50:>12.2f}")
            print(f"{'baseline x' + str(size):<22}{base_p50:>8.2f}")
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
