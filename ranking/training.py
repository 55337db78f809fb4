"""Retraining the For You learner: the events of a moving window, streamed from the database,
and a check on the newest of them against the live version before the new one may go live.

The window is the last RANKING_TRAIN_WINDOW_DAYS of settled events (older than the live
learner's grace period). Events are read through a server-side cursor (`QuerySet.iterator`
on PostgreSQL), afresh for each pass, so a retrain holds the model, never the log.

With a version live, the newest events are held out: those newer than both the live
version (its `through_event`) and the last RANKING_HOLDOUT_HOURS. The new learner trains
on the rest; the live one catches up on the same rest online, as every web process does;
then both predict each held-out exposure before learning it (evaluation/holdout.py), and
the new one may go live only if its like AUC is at least the live one's. Either way it has
learnt the held-out events by then, once, as serving would have.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max, QuerySet
from django.utils import timezone

from core.seconds import as_seconds, stream_with_seconds

from .evaluation.holdout import Holdout, holdout_compare
from .learner import Event, Learner, LearnerConfig
from .live import GRACE_S, item_infos
from .models import EngagementEvent, RankingModel

# Rows a server-side cursor fetches per round trip: the round trips cost little beside
# learning the rows (about 1 ms against 100), and a chunk is under 1 MB of Python objects.
READ_CHUNK = 2_000
# Clips whose infos (with their embeddings) are read and told to a learner at a time.
INFO_CHUNK = 5_000


@dataclass
class Retrained:
    """A learner trained on the window, and how it fared against the live version."""

    learner: Learner
    through: int  # the last event id of the window
    events: int  # events learnt (once each: the last pass, and the held-out part)
    holdout: Holdout | None  # None: no version was live to compare with
    compared_with: int | None  # the version live when the retrain started
    reason: str  # why it must not go live; empty if it may


def events_stream(query: QuerySet[EngagementEvent], count: list[int]) -> Iterator[Event]:
    """The learner's events of `query`, in time order, through a server-side cursor;
    `count[0]` is set to how many were read."""
    count[0] = 0
    # The times as seconds, the rows as psycopg reads them (core/seconds.py): 300,000 events
    # in 0.5 s, where Django's values_list took 2.3 (and datetimes to seconds 17 s more at 2
    # million events).
    rows = stream_with_seconds(
        query.order_by("created", "pk"),
        *("viewer_id", "post_id", "kind", "value"),
        chunk_size=READ_CHUNK,
    )
    for viewer_id, post_id, kind, value, when in rows:
        count[0] += 1
        yield Event(
            str(viewer_id),
            "" if post_id is None else str(post_id),
            kind,
            float(value),
            as_seconds(when),
        )


def window_events(now: datetime) -> tuple[QuerySet[EngagementEvent], int]:
    """(the settled events of the training window, the id of the last one)."""
    cutoff = now - timedelta(seconds=GRACE_S)
    through = (
        EngagementEvent.objects.filter(created__lt=cutoff).aggregate(last=Max("pk"))["last"] or 0
    )
    start = now - timedelta(days=settings.RANKING_TRAIN_WINDOW_DAYS)
    # Only signed-in viewers teach the learner (see live.py).
    window = EngagementEvent.objects.filter(
        pk__lte=through, created__gte=start, viewer__isnull=False
    )
    return window, through


def _tell(learner: Learner, post_ids: list[int]) -> None:
    """Tell the learner the author, creation time and prompt embedding of these clips."""
    for start in range(0, len(post_ids), INFO_CHUNK):
        for item, info in item_infos(post_ids[start : start + INFO_CHUNK]).items():
            learner.set_item_info(item, info)


def _load(model: RankingModel) -> Learner:
    """The learner a saved version holds (a version without a state: the defaults)."""
    if not model.state:
        return Learner()
    with model.state.open("rb") as handle:
        return Learner.from_bytes(handle.read())


def verdict(holdout: Holdout, compared_with: int) -> str:
    """Why the new version must not replace `compared_with`; empty if it may (at least as
    good a like AUC on the held-out events)."""
    new, old = holdout.metrics
    live = f"v{compared_with}"
    if not holdout.exposures:
        return f"No held-out impressions newer than {live} to check it on; {live} stays live."
    if new is None or old is None:
        return (
            f"The {holdout.exposures} held-out exposures cannot tell ({holdout.likes} liked); "
            f"{live} stays live."
        )
    if new < old:
        return (
            f"Held-out like AUC {new:.3f} is below {live}'s {old:.3f} "
            f"(on {holdout.exposures} exposures); {live} stays live."
        )
    return ""


def retrain(*, passes: int, now: datetime | None = None) -> Retrained:
    """Train a fresh learner on the window and, with a version live, check it on the
    held-out newest events against that version (see the module docstring)."""
    now = now or timezone.now()
    window, through = window_events(now)
    active = RankingModel.objects.filter(is_active=True).first()
    holdout_from = through
    if active is not None:
        hours = timedelta(hours=settings.RANKING_HOLDOUT_HOURS)
        cut = window.filter(created__lt=now - hours).aggregate(last=Max("pk"))["last"] or 0
        holdout_from = min(through, max(active.through_event, cut))

    learner = Learner(LearnerConfig(passes=passes))
    post_ids = sorted(window.exclude(post=None).values_list("post_id", flat=True).distinct())
    _tell(learner, post_ids)
    trained = [0]
    learner.fit_stream(lambda: events_stream(window.filter(pk__lte=holdout_from), trained))
    if active is None:
        return Retrained(learner, through, trained[0], None, None, "")

    held = [0]
    if holdout_from >= through:
        holdout = Holdout(metrics=[None, None], exposures=0, likes=0)
    else:
        incumbent = _load(active)
        _tell(incumbent, [pk for pk in post_ids if not incumbent.has_item(str(pk))])
        # What a web process would have learnt online since the version was trained.
        caught_up = [0]
        behind = window.filter(pk__gt=active.through_event, pk__lte=holdout_from)
        for event in events_stream(behind, caught_up):
            incumbent.update(event)
        holdout = holdout_compare(
            [learner, incumbent], events_stream(window.filter(pk__gt=holdout_from), held)
        )
        del incumbent
    return Retrained(
        learner=learner,
        through=through,
        events=trained[0] + held[0],
        holdout=holdout,
        compared_with=active.version,
        reason=verdict(holdout, active.version),
    )
