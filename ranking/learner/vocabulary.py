"""What the learner speaks: its heads and event kinds, events, clip facts, settings, and
the small helpers the model is built from."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Concatenate, ParamSpec, Protocol, TypeVar

import numpy as np

# The engagement kinds the model predicts, in the order of its heads.
HEADS: tuple[str, ...] = ("like", "complete", "share", "comment", "skip", "negative")
_H = {name: index for index, name in enumerate(HEADS)}

# Every event kind of ranking.models.EngagementEvent.Kind (kept in sync by a test).
EVENT_KINDS: frozenset[str] = frozenset(
    {
        "impression",
        "view",
        "complete",
        "replay",
        "skip",
        "like",
        "unlike",
        "comment",
        "share",
        "follow",
        "remix",
        "not_interested",
        "report",
        "reset",
    }
)

# Which head an event is a positive of; impression, view, follow, unlike and reset (the
# viewer asked to start afresh: about no clip) are no head's.
HEAD_OF_EVENT: dict[str, str] = {
    "like": "like",
    "complete": "complete",
    "replay": "complete",
    "share": "share",
    "remix": "share",
    "comment": "comment",
    "skip": "skip",
    "not_interested": "negative",
    "report": "negative",
}

# How much an event says the viewer wants more like this: feeds taste, affinity, popularity.
SIGNAL: dict[str, float] = {
    "like": 1.0,
    "unlike": -1.0,
    "share": 2.0,
    "remix": 2.0,
    "comment": 1.0,
    "complete": 0.5,
    "replay": 0.5,
    "follow": 3.0,
    "skip": -0.25,
    "not_interested": -2.0,
    "report": -4.0,
}

# The value of a clip to a viewer, as a weighted sum of predicted probabilities (X-style).
DEFAULT_WEIGHTS: dict[str, float] = {
    "like": 1.0,
    "complete": 0.5,
    "share": 2.0,
    "comment": 1.0,
    "skip": -0.5,
    "negative": -5.0,
}

FEATURES: tuple[str, ...] = (
    "affinity",
    "taste",
    "freshness",
    "popularity",
    *(f"item_{head}_lift" for head in HEADS),
    "author_like_lift",
    "author_negative_lift",
    "seen",
    "collaborative",
    "session",
)

# How the clips' prompt embeddings are kept (rows.py `set_item_info`).
EMBEDDING = np.float16

# The starting weight of the taste feature in each head (see Learner).
TASTE_PRIOR: dict[str, float] = {
    "like": 3.0,
    "complete": 1.5,
    "share": 2.0,
    "comment": 2.0,
    "skip": -1.5,
    "negative": -2.0,
}

# The starting weight of the session feature in each head: the taste of the last half hour
# or so (see Learner._signal), which a like moves at once.
SESSION_PRIOR: dict[str, float] = {
    "like": 2.0,
    "complete": 1.0,
    "share": 1.5,
    "comment": 1.5,
    "skip": -1.0,
    "negative": -1.5,
}

# The starting weight of the collaborative feature (collaborative.py) in each head: it
# reads about 1 for a clip the viewer's neighbours engaged with, about 0 otherwise.
COLLABORATIVE_PRIOR: dict[str, float] = {
    "like": 3.0,
    "complete": 3.0,
    "share": 3.0,
    "comment": 3.0,
    "skip": -3.0,
    "negative": -3.0,
}

# The features whose weights start at a prior rather than at zero, in a fresh learner and
# in a state saved before the feature existed.
PRIORS: dict[str, dict[str, float]] = {
    "taste": TASTE_PRIOR,
    "collaborative": COLLABORATIVE_PRIOR,
    "session": SESSION_PRIOR,
}

_HOUR = 3600.0
_DAY = 24 * _HOUR


@dataclass(frozen=True, slots=True)
class Event:
    """One engagement event: who, which clip, what, how much (seconds for views), when."""

    viewer: str
    item: str
    kind: str
    value: float = 1.0
    ts: float = 0.0


@dataclass(frozen=True)
class ItemInfo:
    """What is known about a clip beyond its id; any part may be missing."""

    author: str | None = None
    created: float | None = None
    embedding: np.ndarray | None = None


# Infos of clips a read scores without the learner holding them (see `overlay`), by id.
Infos = Mapping[str, ItemInfo]


@dataclass(frozen=True)
class LearnerConfig:
    """Hyperparameters; saved with the state so that a version reloads as it was."""

    seed: int = 0
    passes: int = 1  # the collaborative factors (ALS) do what a second pass did, better
    lr_dense: float = 0.05  # Adagrad, for the shared weights W and b
    lr_bias: float = 0.03  # SGD, per item and per viewer biases
    l2: float = 1e-2
    freshness_s: float = 2 * _DAY
    popularity_half_life_s: float = 12 * _HOUR
    affinity_half_life_s: float = 14 * _DAY
    taste_memory: float = 50.0  # the running mean of taste forgets beyond this much signal
    # The session's taste (signals summed, decaying) halves in this time.
    session_half_life_s: float = 30 * 60.0
    prior_strength: float = 5.0  # pseudo-impressions behind every smoothed rate
    # How long a showing stays open to engagement (see window.py).
    exposure_window_s: float = 6 * _HOUR
    affinity_per_viewer: int = 64  # creators whose affinity each viewer keeps (window.py)
    # ALS factors of each retrain (collaborative.py); 0 factors turns them off.
    cf_factors: int = 8
    cf_regularization: float = 5.0
    cf_iterations: int = 15


def prior_weights(features: Sequence[str]) -> np.ndarray:
    """Starting weights of these features in each head (a row a head): PRIORS, else 0."""
    weights = np.zeros((len(HEADS), len(features)))
    for column, name in enumerate(features):
        prior = PRIORS.get(name)
        if prior is not None:
            weights[:, column] = [prior[head] for head in HEADS]
    return weights


def weighted_value(
    heads: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None
) -> np.ndarray:
    """The value of each clip: its predicted engagements, weighted (by default as
    DEFAULT_WEIGHTS; a head with no weight counts nothing).

    The one place a weighting is applied: For You, the admin's preview and the offline
    evaluation all rank by it.
    """
    weights = weights or DEFAULT_WEIGHTS
    return np.sum([weights.get(head, 0.0) * heads[head] for head in HEADS], axis=0)


class _Shared(Protocol):
    lock: threading.RLock


_S = TypeVar("_S", bound=_Shared)
_P = ParamSpec("_P")
_R = TypeVar("_R")


def locked(method: Callable[Concatenate[_S, _P], _R]) -> Callable[Concatenate[_S, _P], _R]:
    """Run the method holding the learner's lock.

    A web process's learner is read by every request thread and written by its updater
    (ranking/live.py): each public method holds the lock, so no read sees a half-applied
    event or a table half grown. Re-entrant: methods call one another.
    """

    @functools.wraps(method)
    def run(self: _S, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.lock:
            return method(self, *args, **kwargs)

    return run


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def _signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass
class _Ids:
    """A collisionless id -> row map; row 0 is reserved for "unknown" and never trained."""

    index: dict[str, int] = field(default_factory=dict)
    ids: list[str] = field(default_factory=lambda: [""])

    def rows(self, keys: Sequence[str]) -> np.ndarray:
        get = self.index.get
        return np.fromiter((get(key, 0) for key in keys), dtype=np.int64, count=len(keys))
