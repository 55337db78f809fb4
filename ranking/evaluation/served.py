"""For You's serving log as off-policy evaluation reads it (ranking/evaluation/ope.py): each
clip served to a signed-in viewer, with its page, the propensity and score terms logged with
it, and the gain its viewer gave it afterwards."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from ..learner import HEAD_OF_EVENT, HEADS
from .replay import GAINS

# A viewer's events about a clip count as its outcome this long after it was served.
OUTCOME_HORIZON_S = 24 * 3600.0
# At most this many served clips (the newest) are read.
MAX_SERVED = 200_000

_HIDING = frozenset({"not_interested", "report"})
_OUTCOME_KINDS = frozenset(HEAD_OF_EVENT) | {"unlike"}


@dataclass
class ServedLog:
    """For You's served clips in a window, one row each, in session and page order, with
    the gain each got from its viewer afterwards."""

    viewer: np.ndarray
    post: np.ndarray
    session: np.ndarray  # index of the session
    page: np.ndarray  # index of the page; a session's pages are in serving order
    created: np.ndarray  # unix seconds the page was made
    explored: np.ndarray
    propensity: np.ndarray
    heads: np.ndarray  # (rows, HEADS): the predictions it was ranked by
    age_s: np.ndarray
    match: np.ndarray  # preference match, NaN where the viewer had none
    author: np.ndarray
    parent: np.ndarray  # the clip it remixes, -1 if none
    exploration_share: np.ndarray  # of the config version that served it
    config_version: np.ndarray  # -1: the unsaved defaults
    model_version: np.ndarray  # -1: none
    reward: np.ndarray

    @property
    def size(self) -> int:
        """How many served clips."""
        return int(self.post.size)

    @property
    def sessions(self) -> int:
        """How many viewing sessions."""
        return int(np.unique(self.session).size) if self.size else 0


def gain_of(kinds: Sequence[str]) -> float:
    """The gain a viewer's events on one served clip add up to (the replay's NDCG gains)."""
    heads: set[str] = set()
    for kind in kinds:
        if kind in _HIDING:
            return 0.0
        if kind == "unlike":
            heads.discard("like")
        elif kind in HEAD_OF_EVENT:
            heads.add(HEAD_OF_EVENT[kind])
    return sum(GAINS.get(head, 0.0) for head in heads)


def read_served(
    *, since: datetime, until: datetime | None = None, limit: int = MAX_SERVED
) -> ServedLog:
    """The newest `limit` clips served to signed-in viewers since `since`, with outcomes."""
    from ..models import EngagementEvent, RankingConfig, ServedItem

    served = ServedItem.objects.filter(created__gte=since, viewer__isnull=False)
    if until is not None:
        served = served.filter(created__lt=until)
    rows = list(
        served.order_by("-created").values_list(
            "viewer_id",
            "post_id",
            "session",
            "position",
            "explored",
            "propensity",
            "terms__heads",
            "terms__age_hours",
            "terms__preference_match",
            "config_version",
            "model_version",
            "created",
            "post__owner_id",
            "post__remix_of_id",
        )[:limit]
    )
    rows.sort(key=lambda row: (row[2], row[11], row[3]))
    versions = {row[9] for row in rows if row[9] is not None}
    shares: dict[int, float] = dict(
        RankingConfig.objects.filter(version__in=versions).values_list(
            "version", "exploration_share"
        )
    )
    default_share = RankingConfig().exploration_share
    session_of: dict[str, int] = {}
    sessions, pages = [], []
    page = -1
    last: tuple[str, datetime] | None = None
    for row in rows:
        if (row[2], row[11]) != last:
            page += 1
            last = (row[2], row[11])
        sessions.append(session_of.setdefault(row[2], len(session_of)))
        pages.append(page)

    def head_p(terms: Any, head: str) -> float:
        try:
            return float(terms[head]["p"])
        except (KeyError, TypeError, ValueError):
            return 0.0

    log = ServedLog(
        viewer=np.array([row[0] for row in rows], dtype=np.int64),
        post=np.array([row[1] for row in rows], dtype=np.int64),
        session=np.array(sessions, dtype=np.int64),
        page=np.array(pages, dtype=np.int64),
        created=np.array([row[11].timestamp() for row in rows], dtype=np.float64),
        explored=np.array([bool(row[4]) for row in rows], dtype=bool),
        propensity=np.array([max(float(row[5]), 1e-6) for row in rows], dtype=np.float64),
        heads=np.array(
            [[head_p(row[6], head) for head in HEADS] for row in rows], dtype=np.float64
        ).reshape(len(rows), len(HEADS)),
        age_s=np.array([float(row[7] or 0.0) * 3600.0 for row in rows], dtype=np.float64),
        match=np.array(
            [np.nan if row[8] is None else float(row[8]) for row in rows], dtype=np.float64
        ),
        author=np.array([row[12] for row in rows], dtype=np.int64),
        parent=np.array([-1 if row[13] is None else row[13] for row in rows], dtype=np.int64),
        exploration_share=np.array(
            [
                default_share if row[9] is None else shares.get(row[9], default_share)
                for row in rows
            ],
            dtype=np.float64,
        ),
        config_version=np.array([-1 if row[9] is None else row[9] for row in rows], np.int64),
        model_version=np.array([-1 if row[10] is None else row[10] for row in rows], np.int64),
        reward=np.zeros(len(rows)),
    )
    if rows:
        end = (until or max(row[11] for row in rows)) + timedelta(seconds=OUTCOME_HORIZON_S)
        events = (
            EngagementEvent.objects.filter(
                created__gte=since, created__lt=end, viewer__isnull=False, kind__in=_OUTCOME_KINDS
            )
            .order_by("created", "id")
            .values_list("viewer_id", "post_id", "kind", "created")
            .iterator(chunk_size=20_000)
        )
        log.reward = _outcomes(log, ((v, p, k, c.timestamp()) for v, p, k, c in events))
    return log


def _outcomes(log: ServedLog, events: Any) -> np.ndarray:
    """Each served clip's gain from its viewer's events after it was served (before the
    pair's next serving, within OUTCOME_HORIZON_S); `events` in time order."""
    served: dict[tuple[int, int], list[tuple[float, int]]] = defaultdict(list)
    for row in np.argsort(log.created, kind="stable").tolist():
        served[(int(log.viewer[row]), int(log.post[row]))].append((float(log.created[row]), row))
    kinds: dict[int, list[str]] = defaultdict(list)
    for viewer, post, kind, ts in events:
        times = served.get((viewer, post))
        if not times:
            continue
        at = bisect.bisect_right(times, (ts, math.inf)) - 1
        if at >= 0 and ts - times[at][0] <= OUTCOME_HORIZON_S:
            kinds[times[at][1]].append(kind)
    reward = np.zeros(log.size)
    for row, row_kinds in kinds.items():
        reward[row] = gain_of(row_kinds)
    return reward
