"""The learner a web process ranks with: the active trained version plus every event since.

Every process keeps one `LiveLearner`, and an updater thread keeps it current: every
RANKING_SYNC_INTERVAL_S (half a second) it loads a version that became active (a retrain,
an admin's rollback) and applies the events logged since, in id order. So a like recorded
by any process is in any process's pages within about a second, without a broker in
between (the log is the stream, as in Monolith's online training). A page request never
syncs: it scores with the learner as it stands (`serving`), so no page waits for a catch-up
or a version load.

The learner is shared by the request threads and the updater; each of its methods holds its
lock (learner/vocabulary.py `locked`). The updater reads the log and looks clips up with
no lock held, applies events a few hundred at a time (a page waits at most that long), and
loads a new version into a learner of its own, brought up to date before it replaces the
one pages read.

The updater also writes what pages served (ServedItem) a tick later, in one insert for all
the pages of the tick, so a page does not wait on that write either (`served_queue`); with
no updater running (tests, a management command) a page writes its own at once.

Ids are taken in order, but a transaction can commit a smaller id after a larger one is
seen. The updater notes such gaps and looks for them again for `GRACE_S` seconds, so a late
commit is learnt rather than lost, and each row is read once.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from core.seconds import as_seconds, read_with_seconds

from .event_log import served_write
from .learner import EVENT_KINDS, Event, ItemInfo, Learner, LearnerConfig
from .models import EngagementEvent, RankingConfig, RankingModel

logger = logging.getLogger(__name__)

# At most this many events are read in one query; a process far behind catches up over
# several ticks of the updater (a version it loads, before any page reads it).
CATCH_UP_LIMIT = 20_000
# Events applied in one hold of the learner's lock: a few ms, all a page may wait for it.
APPLY_CHUNK = 50
# Events younger than this may still have smaller ids committing behind them.
GRACE_S = 10.0
# Ids missing below the newest seen (rolled back, or still committing) looked for again.
GAPS_MAX = 10_000
# The longest a thread of a process with an updater runs before the interpreter offers
# another thread its turn (Python's default: 5 ms). A request thread back from the database
# waits that long for the updater to let go while it learns a burst of events: through
# /api/v1/events/, in a process whose updater took in the events it was sent, a batch of
# 200 took 22 ms on average at the default and 18 at 0.5 ms (the same 14.6 ms median).
SWITCH_INTERVAL_S = 0.0005
# Clips pages told of, kept for the updater (more are dropped: events bring them too).
TOLD_MAX = 10_000


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
    """The learner's event for one EngagementEvent row (its time a datetime, or seconds as
    core/seconds.py reads it)."""
    return Event(
        "" if viewer_id is None else str(viewer_id),
        "" if post_id is None else str(post_id),
        kind,
        float(value),
        as_seconds(created),
    )


def exposure_window_s() -> float:
    """How long a showing stays open to engagement in this process (learner/window.py)."""
    return float(settings.RANKING_EXPOSURE_WINDOW_H) * 3600.0


@dataclass
class _Position:
    """How far into the log a learner is: every id up to `high` applied, but `gaps`."""

    high: int = 0
    gaps: dict[int, float] = field(default_factory=dict)  # id -> when first missed


_Row = tuple[int, int | None, int | None, str, float, Any]


class LiveLearner:
    """A learner kept in step with the active model version and the event log."""

    def __init__(self) -> None:
        """Empty until the first sync; its updater starts on the first page served."""
        self._locks()
        self._thread: threading.Thread | None = None
        # Whether `serving` starts the updater; tests run its ticks themselves (sync_now).
        self.background = True
        self.reset()

    def _locks(self) -> None:
        self._sync_lock = threading.Lock()  # one sync at a time: the updater's or a test's
        self._start_lock = threading.Lock()
        self._told_lock = threading.Lock()
        self._served_lock = threading.Lock()
        self._served: list[Any] = []
        self._stop = threading.Event()
        self._synced = threading.Condition()

    def after_fork(self) -> None:
        """In a forked child: no updater runs there (the first page starts one), and no
        lock is held by a thread that did not come along."""
        self._locks()
        self._thread = None

    def reset(self) -> None:
        """Stop the updater and forget everything; the next sync starts from the active
        version again."""
        self.stop()
        with self._sync_lock:
            self._current: tuple[Learner, int | None] = (self._blank(), None)
            self._position = _Position()
            self._loaded = False
            self._told: set[str] = set()
            self._config: RankingConfig | None = None
            self.applied = 0  # events read from the log by this process
            self.syncs = 0  # syncs completed

    @property
    def learner(self) -> Learner:
        """The learner pages score with now."""
        return self._current[0]

    @property
    def model_version(self) -> int | None:
        """The trained version `learner` started from (None: none was active)."""
        return self._current[1]

    def serving(self) -> tuple[Learner, int | None]:
        """The learner to rank a page with and its version, as they stand: never syncs.

        Starts this process's updater on first use.
        """
        if self.background:
            self.start()
        return self._current

    def start(self) -> None:
        """Start the updater thread of this process, unless it runs."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._start_lock:
            thread = self._thread
            if thread is not None and thread.is_alive():
                return  # another request started it meanwhile
            self._stop.clear()
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
            self._thread = threading.Thread(target=self._run, name="for-you-updater", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the updater thread, once its sync in progress ends."""
        thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None

    def sync_now(self) -> Learner:
        """One tick of the updater, here and now (tests, warm-up); the learner after it."""
        with self._sync_lock:
            self._sync()
        return self.learner

    def sync(self) -> Learner:
        """`sync_now`, by its older name."""
        return self.sync_now()

    def items_tell(self, items: Iterable[str]) -> None:
        """Note clips a page scored without the learner holding them; the updater reads their
        infos (`item_infos`) and records them, so later pages find them by their prompts too."""
        with self._told_lock:
            for item in items:
                if len(self._told) >= TOLD_MAX:
                    break
                self._told.add(item)

    def config(self) -> RankingConfig:
        """The active ranking settings: as the updater last read them (every tick), or
        read now where no updater runs (or it has not read them yet)."""
        config = self._config
        if config is None or not self._updating():
            config = _active_config()
        return config

    def config_forget(self) -> None:
        """Read the settings again on the next page (this process activated a version)."""
        self._config = None

    def _updating(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def served_queue(self, rows: list[Any]) -> bool:
        """Leave a page's ServedItem rows to the updater, which writes them on its next
        tick; False (nothing queued) when no updater runs here to write them."""
        if not self._updating():
            return False
        with self._served_lock:
            self._served.extend(rows)
        return True

    def served_flush(self) -> int:
        """Write the queued ServedItem rows now; how many."""
        with self._served_lock:
            rows, self._served = self._served, []
        if rows:
            served_write(rows)
        return len(rows)

    def state_bytes(self) -> dict[str, Any]:
        """What this process's learner holds, in bytes by part (Learner.state_bytes), with
        its version, the events applied and the syncs done."""
        learner, version = self._current
        return {
            **learner.state_bytes(),
            "model_version": version,
            "applied": self.applied,
            "syncs": self.syncs,
        }

    # --- the updater ------------------------------------------------------------------

    def _run(self) -> None:
        interval = float(settings.RANKING_SYNC_INTERVAL_S)
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    with self._sync_lock:
                        if self._stop.is_set():
                            break
                        self._sync()
                    self._config = _active_config()
                    self.served_flush()
                    failures = 0
                except Exception:
                    failures += 1
                    logger.exception("The For You updater failed a sync; it tries again.")
                    connection.close()  # a broken connection is opened afresh
                # After failures, back off up to a minute rather than hammer the database.
                self._stop.wait(min(interval * 2**failures, 60.0) if failures else interval)
        finally:
            try:
                self.served_flush()  # what pages served before the stop
            except Exception:
                logger.exception("The For You updater could not write the last pages served.")
            connection.close()  # this thread's own connection

    def _blank(self) -> Learner:
        return Learner(LearnerConfig(exposure_window_s=exposure_window_s()))

    def _sync(self) -> None:
        active = (
            RankingModel.objects.filter(is_active=True)
            .values_list("version", "state", "through_event")
            .first()
        )
        version = active[0] if active else None
        learner, current = self._current
        if version != current or not self._loaded:
            # A learner of the updater's own, brought up to date before pages read it.
            learner, position = self._load(active)
            while self._catch_up(learner, position):
                pass
            self._apply_told(learner)
            learner.neighbours_build()  # the index of prompts, for a large catalogue
            size = learner.state_bytes()["total"]  # before pages read it: this takes its lock
            self._current, self._position, self._loaded = (learner, version), position, True
            # The learner's tables hold hundreds of thousands of objects that live as long as
            # the version: out of the collector's generations, a full collection no longer
            # walks them in the middle of a page (65 ms each, at 100,000 clips). They are
            # still freed when the next version replaces this one (reference counts).
            gc.freeze()
            logger.info("For You learner: version %s loaded, %.0f MB.", version, size / 1e6)
        else:
            self._apply_told(learner)
            self._catch_up(learner, self._position)
        with self._synced:
            self.syncs += 1
            self._synced.notify_all()

    def wait_synced(self, beyond: int, timeout: float) -> bool:
        """Wait until more than `beyond` syncs are done (tests, the bench); whether they are."""
        with self._synced:
            return self._synced.wait_for(lambda: self.syncs > beyond, timeout)

    def _load(self, active: tuple[int, str, int] | None) -> tuple[Learner, _Position]:
        if active is None:
            return self._blank(), _Position()
        with default_storage.open(active[1], "rb") as handle:
            learner = Learner.from_bytes(handle.read())
        # The window is this process's memory to keep (RANKING_EXPOSURE_WINDOW_H).
        learner.config = replace(learner.config, exposure_window_s=exposure_window_s())
        return learner, _Position(high=active[2])

    def _catch_up(self, learner: Learner, position: _Position) -> bool:
        """Apply the events logged since `position`; whether more may be waiting."""
        fields = ("pk", "viewer_id", "post_id", "kind", "value")  # and the time (seconds)
        rows: list[_Row] = read_with_seconds(
            EngagementEvent.objects.filter(pk__gt=position.high).order_by("pk"),
            *fields,
            limit=CATCH_UP_LIMIT,
        )
        now = time.monotonic()
        late: list[_Row] = []
        if position.gaps:
            late = read_with_seconds(
                EngagementEvent.objects.filter(pk__any_of=list(position.gaps)).order_by("pk"),
                *fields,
            )
            for row in late:
                del position.gaps[row[0]]
        # From scratch, ids before the first one seen are none of ours to wait for.
        expected = position.high + 1 if position.high else (rows[0][0] if rows else 1)
        for row in rows:
            # Ids skipped may still commit (or never will: a rollback, a duplicate).
            for missing in range(max(expected, row[0] - GAPS_MAX), row[0]):
                position.gaps[missing] = now
            expected = row[0] + 1
        if rows:
            position.high = rows[-1][0]
        for pk in [pk for pk, seen in position.gaps.items() if now - seen > GRACE_S]:
            del position.gaps[pk]
        while len(position.gaps) > GAPS_MAX:
            del position.gaps[next(iter(position.gaps))]
        self._apply(learner, late + rows)
        return len(rows) == CATCH_UP_LIMIT

    def _apply(self, learner: Learner, rows: list[_Row]) -> None:
        # Only signed-in viewers teach the learner (a viewer-less row is an older version's:
        # the events API no longer takes them).
        taught = [row for row in rows if row[1] is not None and row[3] in EVENT_KINDS]
        infos = _unknown_infos(learner, {row[2] for row in taught if row[2] is not None})
        for start in range(0, max(len(taught), 1), APPLY_CHUNK):
            with learner.lock:
                if start == 0:
                    for item, info in infos.items():
                        learner.set_item_info(item, info)
                for _, viewer_id, post_id, kind, value, created in taught[
                    start : start + APPLY_CHUNK
                ]:
                    learner.update(event_of(viewer_id, post_id, kind, value, created))
            time.sleep(0)  # let a page waiting for the lock take it before the next chunk
        self.applied += len(rows)

    def _apply_told(self, learner: Learner) -> None:
        with self._told_lock:
            told, self._told = self._told, set()
        if not told:
            return
        infos = _unknown_infos(learner, {int(item) for item in told if item.isdigit()})
        with learner.lock:
            for item, info in infos.items():
                learner.set_item_info(item, info)


def _unknown_infos(learner: Learner, post_ids: Iterable[int]) -> dict[str, ItemInfo]:
    """The infos of those of these posts the learner holds no row for (the updater's own
    reads: only it adds rows), read with no lock held, so pages go on meanwhile."""
    unknown = learner.unknown_items([str(pk) for pk in sorted(post_ids)])
    return item_infos([int(item) for item in unknown])


def _active_config() -> RankingConfig:
    from .selectors import active_config  # selectors reads the live learner: imported late

    return active_config()


live = LiveLearner()
os.register_at_fork(after_in_child=live.after_fork)


def live_learner() -> LiveLearner:
    """This process's live learner."""
    return live


def live_warm() -> None:
    """Start this process's updater at server start, so that it loads the active version
    (seconds, for one trained on millions of events) before the first For You page."""
    live.start()
