"""The For You retrain: time and peak Python memory (tracemalloc) of ranking_model_train.

Creates a throwaway PostgreSQL database `riff_bench_retrain` on the server of DATABASE_URL
(dropped first if a previous run left it, dropped again at the end unless --keep), seeds it
with bench/ranking_world.py's users, clips and engagement log (hidden tastes, the last 30
days), then runs the retrain as it was before the moving window (every event read into a Python
list, then fit), and as it is: the first version (nothing live yet), and a scheduled
retrain beside it (checked against the live one on held-out recent events). Each is timed
once as is, and once more under tracemalloc for its peak memory (tracemalloc slows Python,
so the time of that run is not the one printed).

    .venv/bin/python bench/ranking_retrain.py [--users 2000] [--posts 20000] [--events 200000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/riff")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.db import connection  # noqa: E402
from ranking_world import World, prompt_vectors, seed_events, seed_people, seed_posts  # noqa: E402

BENCH_DB = "riff_bench_retrain"


@contextlib.contextmanager
def bench_database(keep: bool) -> Iterator[None]:
    """A freshly created and migrated `riff_bench_retrain`, dropped afterwards."""
    connection.settings_dict.setdefault("TEST", {})["NAME"] = BENCH_DB
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        if not keep:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def measured(label: str, run: Callable[[], Any], *, undo: Callable[[], None]) -> None:
    """Time `run`, undo it, run it again under tracemalloc for its peak; print both."""
    start = time.perf_counter()
    result = run()
    took = time.perf_counter() - start
    undo()
    tracemalloc.start()
    tracemalloc.reset_peak()
    run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label}: {took:.1f} s, peak {peak / 2**20:.0f} MiB (tracemalloc) -> {result}")


def main() -> None:
    """Seed, retrain, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help=f"keep {BENCH_DB} afterwards")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    with bench_database(args.keep):
        from ranking.models import RankingModel
        from ranking.services import ranking_model_train

        start = time.perf_counter()
        world = World(args.users, args.posts, rng)
        seed_people(world, rng)
        seed_posts(world, prompt_vectors(world))
        seed_events(world, args.events, rng)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"seeded {args.users} users, {args.posts} clips, {args.events} events "
            f"in {time.perf_counter() - start:.1f}s"
        )

        def describe(model: Any) -> str:
            reason = getattr(model, "inactive_reason", "")
            metric = getattr(model, "holdout_metric", None)
            return (
                f"{model}: {model.events} events, {model.size_bytes / 1e6:.1f} MB, "
                f"{'live' if model.is_active else 'inactive'}"
                + (f", held-out like AUC {metric:.3f}" if metric is not None else "")
                + (f" ({reason})" if reason else "")
            )

        def first() -> str:
            return describe(ranking_model_train(note="bench: first"))

        def undo_first() -> None:
            for model in RankingModel.objects.all():
                model.state.delete(save=False)
            RankingModel.objects.all().delete()

        def legacy() -> str:
            # The retrain before the moving window: every event into a Python list, then fit.
            from ranking.learner import Event, Learner, LearnerConfig
            from ranking.live import item_infos
            from ranking.models import EngagementEvent

            rows = (
                EngagementEvent.objects.filter(viewer__isnull=False)
                .order_by("pk")
                .values_list("viewer_id", "post_id", "kind", "value", "created")
                .iterator(chunk_size=20_000)
            )
            events = [
                Event(str(v), str(p or ""), k, float(x), c.timestamp()) for v, p, k, x, c in rows
            ]
            learner = Learner(LearnerConfig(passes=2))
            for item, info in item_infos(sorted({int(e.item) for e in events if e.item})).items():
                learner.set_item_info(item, info)
            learner.fit(events)
            return f"{len(events)} events, {len(learner.to_bytes()) / 1e6:.1f} MB"

        measured("legacy retrain (whole log in a list, then fit)", legacy, undo=lambda: None)
        measured("first retrain (nothing live)", first, undo=undo_first)

        # As if the live version had been trained one beat (6 hours) ago: the scheduled
        # retrain holds out the events since, and checks both versions on them. (The live
        # state has in fact learnt them, which only flatters it; the work is the same.)
        from datetime import timedelta

        from django.db.models import Max
        from django.utils import timezone

        from ranking.models import EngagementEvent

        beat = timezone.now() - timedelta(hours=6)
        last = EngagementEvent.objects.filter(created__lt=beat).aggregate(last=Max("pk"))["last"]
        RankingModel.objects.filter(is_active=True).update(through_event=last)

        def again() -> str:
            return describe(ranking_model_train(note="bench: scheduled"))

        def undo_again() -> None:
            newest = RankingModel.objects.order_by("-version").first()
            assert newest is not None
            if newest.is_active:
                previous = RankingModel.objects.exclude(pk=newest.pk).order_by("-version").first()
                assert previous is not None
                RankingModel.objects.filter(pk=newest.pk).update(is_active=False)
                RankingModel.objects.filter(pk=previous.pk).update(is_active=True)
            newest.state.delete(save=False)
            newest.delete()

        measured("scheduled retrain (one live)", again, undo=undo_again)


if __name__ == "__main__":
    main()
