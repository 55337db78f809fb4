"""Retraining For You: a moving window streamed from the database, a held-out check against
the live version before a new one goes live, and the pruning of events past the window."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from feed.models import Post
from ranking.learner import Event, Learner, LearnerConfig, state_equal
from ranking.models import EngagementEvent, RankingModel
from ranking.services import engagement_events_prune, ranking_model_train
from ranking.tasks import ranking_retrain
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DIM = 8


class World:
    """Two topics of clips and two kinds of viewer, each liking one topic: the hidden
    tastes that events follow (or, as noise, contradict)."""

    def __init__(self, viewers: int = 12, clips: int = 20, seed: int = 0) -> None:
        """Viewers, their tastes, and clips with prompt embeddings near their topic's."""
        self.rng = np.random.default_rng(seed)
        authors = [UserFactory(username=f"author{i}") for i in range(4)]
        self.viewers = User.objects.bulk_create(
            [User(username=f"viewer{i}", email=f"viewer{i}@example.com") for i in range(viewers)]
        )
        self.taste = np.arange(viewers) % 2
        topics = np.eye(DIM)[:2]
        posts = []
        for i in range(clips):
            vector = topics[i % 2] + self.rng.normal(0.0, 0.1, DIM)
            posts.append(
                Post(
                    owner=authors[i % len(authors)],
                    video=f"posts/test/{i}.mp4",
                    prompt=f"clip {i} of topic {i % 2}",
                    model_name="test",
                    prompt_embedding=vector.astype(np.float32).tobytes(),
                    created=timezone.now() - timedelta(days=60),
                )
            )
        self.posts = Post.objects.bulk_create(posts)
        self.topic = np.arange(clips) % 2

    def log(self, *, when: datetime, rounds: int, noise: bool = False) -> None:
        """Each viewer is shown 10 clips a round (or every clip, if fewer), a second apart
        from `when` on, and likes those of their topic (or, as noise, the other one's)."""
        rows = []
        moment = when
        for _ in range(rounds):
            for v, viewer in enumerate(self.viewers):
                shown = min(10, len(self.posts))
                for c in self.rng.choice(len(self.posts), size=shown, replace=False):
                    moment += timedelta(seconds=1)
                    post = self.posts[c]
                    rows.append(EngagementEvent(viewer=viewer, post=post, kind="impression"))
                    rows[-1].created = moment
                    matches = (self.topic[c] == self.taste[v]) != noise
                    if self.rng.random() < (0.85 if matches else 0.05):
                        moment += timedelta(seconds=1)
                        rows.append(EngagementEvent(viewer=viewer, post=post, kind="like"))
                        rows[-1].created = moment
        EngagementEvent.objects.bulk_create(rows)


def _time_passes(days: float) -> None:
    """Every event so far grows `days` older (so a window moves past them)."""
    EngagementEvent.objects.update(created=F("created") - timedelta(days=days))


def _live() -> RankingModel:
    return RankingModel.objects.get(is_active=True)


def ranking_model_retrained() -> RankingModel:
    """What beat's scheduled retrain saved."""
    version = ranking_retrain()
    return RankingModel.objects.get(version=version)


def test_a_worse_retrain_stays_inactive_with_the_reason():
    world = World()
    world.log(when=timezone.now() - timedelta(days=10), rounds=4)
    good = ranking_model_train(note="good")
    assert good.is_active and good.inactive_reason == ""  # the first version goes live

    # The good events leave the window; the window's events contradict every taste, and
    # the newest (held-out) ones follow the tastes again.
    _time_passes(30)
    world.log(when=timezone.now() - timedelta(days=3), rounds=2, noise=True)
    world.log(when=timezone.now() - timedelta(hours=2), rounds=2)
    worse = ranking_model_retrained()

    assert not worse.is_active and _live() == good
    assert worse.holdout_compared_with == good.version
    assert worse.holdout_metric is not None and worse.holdout_active_metric is not None
    assert worse.holdout_metric < worse.holdout_active_metric
    assert worse.holdout_exposures == 12 * 10 * 2
    assert "below v1's" in worse.inactive_reason and "v1 stays live" in worse.inactive_reason
    assert "held-out exposures" in worse.holdout_summary


def test_a_better_retrain_goes_live():
    world = World()
    world.log(when=timezone.now() - timedelta(days=10), rounds=4, noise=True)
    noisy = ranking_model_train(note="noise")
    assert noisy.is_active

    _time_passes(30)
    world.log(when=timezone.now() - timedelta(days=3), rounds=2)
    world.log(when=timezone.now() - timedelta(hours=2), rounds=2)
    better = ranking_model_retrained()

    assert better.is_active and better.inactive_reason == ""
    assert better.holdout_metric is not None and better.holdout_active_metric is not None
    assert better.holdout_metric > better.holdout_active_metric
    assert not RankingModel.objects.get(pk=noisy.pk).is_active


def test_an_equally_good_retrain_goes_live():
    """Trained on exactly what the live version learnt, it predicts the newer events the
    same: a tie, which is at least as good."""
    world = World()
    world.log(when=timezone.now() - timedelta(days=2), rounds=3)
    first = ranking_model_train()
    world.log(when=timezone.now() - timedelta(hours=1), rounds=1)
    second = ranking_model_train()
    assert second.holdout_metric == second.holdout_active_metric is not None
    assert second.is_active and not RankingModel.objects.get(pk=first.pk).is_active


def test_a_retrain_with_nothing_new_to_check_it_on_stays_inactive():
    world = World()
    world.log(when=timezone.now() - timedelta(days=2), rounds=2)
    first = ranking_model_train()
    # The window has moved past every event: the new version has learnt nothing, and
    # there is nothing newer than the live version to check it on.
    _time_passes(40)
    empty = ranking_model_train()
    assert empty.events == 0 and not empty.is_active and _live() == first
    assert empty.inactive_reason.startswith("No held-out impressions newer than v1")


def test_only_the_window_is_learnt(settings: Any):
    world = World()
    world.log(when=timezone.now() - timedelta(days=10), rounds=1)
    old = EngagementEvent.objects.count()
    world.log(when=timezone.now() - timedelta(days=2), rounds=1)
    settings.RANKING_TRAIN_WINDOW_DAYS = 5
    model = ranking_model_train()
    assert model.events == EngagementEvent.objects.count() - old > 0


def test_the_retrain_streams_the_log_through_a_server_side_cursor():
    world = World()
    world.log(when=timezone.now() - timedelta(days=2), rounds=2)
    ranking_model_train()
    world.log(when=timezone.now() - timedelta(hours=1), rounds=1)
    reads: list[tuple[str, str | None]] = []

    def spy(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        reads.append((sql, getattr(context["cursor"].cursor, "name", None)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        ranking_model_train()
    streamed = [
        name
        for sql, name in reads
        if 'FROM "ranking_engagementevent"' in sql and "ORDER BY" in sql and '"created"' in sql
    ]
    # A pass over the training part (RANKING_TRAIN_PASSES), the live version's catch-up,
    # the held-out part: each through its own named (server-side) cursor, none fetched whole.
    assert len(streamed) == 2 + settings.RANKING_TRAIN_PASSES and all(streamed)


def _retrain_peak() -> int:
    """Peak Python memory (tracemalloc) of a first retrain, on one pass over the events."""
    RankingModel.objects.all().delete()
    tracemalloc.start()
    try:
        ranking_model_train(activate=False, passes=1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_retrain_memory_does_not_grow_with_the_log():
    """The same viewers and clips, four times the events: a retrain that held the log in
    Python would need some 250 bytes more for each (3 MB here)."""
    world = World(viewers=10, clips=20)
    start = timezone.now() - timedelta(days=20)
    world.log(when=start, rounds=1)
    _retrain_peak()  # the first imports what a retrain uses (scipy: megabytes of modules)
    peaks = []
    for size in (4_000, 16_000):
        while (count := EngagementEvent.objects.count()) < size:
            world.log(when=start + timedelta(hours=count / 100), rounds=1)
        peaks.append(_retrain_peak())
    assert peaks[1] - peaks[0] < 2**20, peaks


def test_fit_stream_learns_as_fit_does():
    rng = np.random.default_rng(3)
    events = [
        Event(
            viewer=f"v{rng.integers(8)}",
            item=f"i{rng.integers(12)}",
            kind=str(rng.choice(["impression", "like", "complete", "skip"])),
            ts=float(t),
        )
        for t in range(400)
    ]
    config = LearnerConfig(passes=2)
    reads = []

    def read() -> Any:
        reads.append(1)
        return iter(events)

    streamed = Learner(config).fit_stream(read)
    assert len(reads) == 2  # read afresh for each pass
    assert state_equal(streamed.state_dict(), Learner(config).fit(events).state_dict())


def test_old_events_are_pruned_in_batches(settings: Any):
    world = World(viewers=2, clips=4)
    world.log(when=timezone.now() - timedelta(days=60), rounds=1)
    old = EngagementEvent.objects.count()
    world.log(when=timezone.now() - timedelta(days=20), rounds=1)
    recent = EngagementEvent.objects.count() - old
    settings.RANKING_TRAIN_WINDOW_DAYS = 30
    settings.RANKING_EVENTS_MARGIN_DAYS = 7
    settings.RANKING_PRUNE_BATCH = 5
    with CaptureQueriesContext(connection) as queries:
        assert engagement_events_prune() == old
    deletes = [q for q in queries if q["sql"].startswith('DELETE FROM "ranking_engagementevent"')]
    assert len(deletes) == -(-old // 5)  # one DELETE of at most five per batch
    assert EngagementEvent.objects.count() == recent
    assert not EngagementEvent.objects.filter(created__lt=timezone.now() - timedelta(days=37))
    assert engagement_events_prune() == 0


def test_beat_prunes_events(settings: Any):
    entry = settings.CELERY_BEAT_SCHEDULE["prune-engagement-events"]
    assert entry["task"] == "ranking.tasks.engagement_events_prune"
    from ranking.tasks import engagement_events_prune as task

    assert task() == 0


def test_the_command_retrains_and_says_what_came_of_it():
    World().log(when=timezone.now() - timedelta(days=1), rounds=1)
    out = StringIO()
    call_command("ranking_retrain", stdout=out)
    assert out.getvalue().startswith("model v1: ") and out.getvalue().rstrip().endswith("live")
    call_command("ranking_retrain", "--keep", stdout=out)
    assert "kept inactive: Trained to be kept" in out.getvalue()
    with pytest.raises(CommandError, match="--passes must be between 1 and 20"):
        call_command("ranking_retrain", "--passes", "0")


def test_the_window_streams_each_events_time_to_the_microsecond():
    """Read as seconds since the epoch by PostgreSQL, times are the events' own."""
    from ranking.training import events_stream

    viewer, author = UserFactory(), UserFactory()
    post = Post.objects.create(owner=author, video="posts/test/t.mp4", prompt="p", model_name="t")
    base = timezone.now() - timedelta(hours=3)
    times = [base + timedelta(seconds=n * 7, microseconds=123_457 * n) for n in range(5)]
    EngagementEvent.objects.bulk_create(
        EngagementEvent(viewer=viewer, post=post, kind="view", value=1.5 + n, created=when)
        for n, when in enumerate(times)
    )
    count = [0]
    events = list(events_stream(EngagementEvent.objects.all(), count))
    assert count == [5]
    assert [e.ts for e in events] == pytest.approx([t.timestamp() for t in times], abs=1e-6)
    assert events[1] == Event(str(viewer.pk), str(post.pk), "view", 2.5, events[1].ts)
