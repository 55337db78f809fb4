"""The learner a web process ranks with: the active trained version plus every event since.

Every process keeps one `LiveLearner`. Before it ranks a page it syncs: if another model
version became active (a retrain, or an admin's rollback) it loads that version's state,
then it applies the events logged since, in id order. So a like recorded by any process is
in the next page any process ranks, without a broker in between (the log is the stream,
as in Monolith's online training, with the sync at every request instead of every minute).

Ids are taken in order, but a transaction can commit a smaller id after a larger one is
seen. The learner therefore re-reads the last `GRACE_S` seconds of ids and skips those it
has applied, so a late commit is learnt rather than lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import numpy as np
from django.core.files.storage import default_storage
from django.utils import timezone

from .learner import EVENT_KINDS, Event, ItemInfo, Learner
from .models import EngagementEvent, RankingModel

logger = logging.getLogger(__name__)

# At most this many events are applied in one sync (a few tenths of a second); a process
# far behind catches up over several pages rather than stalling one.
CATCH_UP_LIMIT = 20_000
# Events younger than this may still have smaller ids committing behind them.
GRACE_S = 10.0


def vector_from_bytes(data: bytes | memoryview | None) -> np.ndarray | None:
    """A float32 vector stored as bytes (a prompt or preference embedding), or None."""
    if not data:
        return None
    return np.frombuffer(bytes(data), dtype=np.float32)


def item_infos(post_ids: list[int]) -> dict[str, ItemInfo]:
    """Author, creation time and prompt embedding of posts, by learner item id."""
    from feed.models import Post

    infos: dict[str, ItemInfo] = {}
    for start in range(0, len(post_ids), 5000):
        rows = Post.objects.filter(pk__in=post_ids[start : start + 5000]).values_list(
            "pk", "owner_id", "created", "prompt_embedding"
        )
        for pk, owner_id, created, embedding in rows:
            infos[str(pk)] = ItemInfo(
                author=str(owner_id),
                created=created.timestamp(),
                embedding=vector_from_bytes(embedding),
            )
    return infos


def event_of(
    viewer_id: int | None, post_id: int | None, kind: str, value: float, created: Any
) -> Event:
    """The learner's event for one EngagementEvent row."""
    return Event(
        viewer="" if viewer_id is None else str(viewer_id),
        item="" if post_id is None else str(post_id),
        kind=kind,
        value=float(value),
        ts=created.timestamp(),
    )


class LiveLearner:
    """A learner kept in step with the active model version and the event log."""

    def __init__(self) -> None:
        """Empty until the first sync."""
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything; the next sync starts again from the active version."""
        with self._lock:
            self.learner = Learner()
            self.model_version: int | None = None
            self.settled = 0  # every event with an id up to this one is applied
            self.recent: set[int] = set()  # applied ids above `settled`
            self.applied = 0

    def sync(self) -> Learner:
        """Load a newly active version if there is one, apply new events, return the learner."""
        with self._lock:
            active = (
                RankingModel.objects.filter(is_active=True)
                .values_list("version", "state", "through_event")
                .first()
            )
            version = active[0] if active else None
            if version != self.model_version:
                self._load(active)
            self._catch_up()
            return self.learner

    def items_tell(self, infos: Mapping[str, ItemInfo]) -> None:
        """Record the infos of clips the learner holds no row for yet (see `for_you_serve`)."""
        if not infos:
            return
        with self._lock:
            for item, info in infos.items():
                if not self.learner.has_item(item):
                    self.learner.set_item_info(item, info)

    def _load(self, active: tuple[int, str, int] | None) -> None:
        learner = Learner()
        settled = 0
        if active is not None:
            with default_storage.open(active[1], "rb") as handle:
                learner = Learner.from_bytes(handle.read())
            settled = active[2]
        self.learner = learner
        self.model_version = active[0] if active else None
        self.settled = settled
        self.recent = set()

    def _catch_up(self) -> None:
        rows = list(
            EngagementEvent.objects.filter(pk__gt=self.settled)
            .order_by("pk")
            .values_list("pk", "viewer_id", "post_id", "kind", "value", "created")[:CATCH_UP_LIMIT]
        )
        # Only signed-in viewers teach the learner (a viewer-less row is an older version's:
        # the events API no longer takes them).
        fresh = [row for row in rows if row[0] not in self.recent]
        taught = [row for row in fresh if row[1] is not None and row[3] in EVENT_KINDS]
        unknown = sorted(
            {
                row[2]
                for row in taught
                if row[2] is not None and not self.learner.has_item(str(row[2]))
            }
        )
        for item, info in item_infos(unknown).items():
            self.learner.set_item_info(item, info)
        for _, viewer_id, post_id, kind, value, created in taught:
            self.learner.update(event_of(viewer_id, post_id, kind, value, created))
        self.recent.update(row[0] for row in fresh)
        self.applied += len(fresh)
        if not rows:
            return
        cutoff = timezone.now() - timedelta(seconds=GRACE_S)
        old = [pk for pk, *_, created in rows if created < cutoff]
        if len(rows) == CATCH_UP_LIMIT or old:
            # Everything up to the last old one has had time to commit (or, at the limit,
            # the next sync goes on from here).
            self.settled = max(
                self.settled, rows[-1][0] if len(rows) == CATCH_UP_LIMIT else old[-1]
            )
            self.recent = {pk for pk in self.recent if pk > self.settled}


live = LiveLearner()


def live_warm() -> None:
    """Load the active version and catch up now, so the first For You page doesn't wait.

    Run by the web server in a background thread at start (a version trained on millions
    of events takes seconds to load); a failure here only means the first page loads it.
    """
    from django.db import connection

    try:
        live.sync()
    except Exception:
        logger.exception("Warming the For You learner failed; the first page will load it.")
    finally:
        connection.close()  # this thread's own connection
