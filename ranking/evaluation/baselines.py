"""The baselines every evaluation runs beside the learner: random, recency and popularity."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, Self

import numpy as np

from ..learner import (
    DEFAULT_WEIGHTS,
    HEAD_OF_EVENT,
    HEADS,
    Event,
    ItemInfo,
    LearnerConfig,
)


class Ranker(Protocol):
    """What evaluation needs of a model: learn online, and score candidates."""

    def fit(self, events: Iterable[Event]) -> object: ...

    def update(self, event: Event) -> bool: ...

    def score(
        self, viewer: str, items: Sequence[str], now: float | None = None
    ) -> dict[str, np.ndarray]: ...

    def value(self, viewer: str, items: Sequence[str], now: float | None = None) -> np.ndarray: ...


class _Online:
    """A baseline that only counts: fitting it is updating it on each event in order."""

    def fit(self, events: Iterable[Event]) -> Self:
        """Learn from events in order."""
        for event in events:
            self.update(event)
        return self

    def update(self, event: Event) -> bool:
        raise NotImplementedError


class RecencyBaseline(_Online):
    """Newest first: every head's score is the clip's creation (or first-seen) time."""

    def __init__(self, items: dict[str, ItemInfo] | None = None) -> None:
        self.created = {
            item: info.created for item, info in (items or {}).items() if info.created is not None
        }
        self.clock = 0.0

    def update(self, event: Event) -> bool:
        """Note the clip's first sighting, for clips of unknown creation time."""
        self.clock = max(self.clock, event.ts)
        if event.item:  # a reset is about no clip
            self.created.setdefault(event.item, event.ts)
        return True

    def value(self, viewer: str, items: Sequence[str], now: float | None = None) -> np.ndarray:
        """Creation times; a clip never seen is as new as it gets."""
        when = self.clock if now is None else now
        return np.array([self.created.get(item, when) for item in items], dtype=np.float64)

    def score(
        self, viewer: str, items: Sequence[str], now: float | None = None
    ) -> dict[str, np.ndarray]:
        """The same ordering for every head."""
        values = self.value(viewer, items, now)
        return dict.fromkeys(HEADS, values)


class PopularityBaseline(_Online):
    """Most engaged-with recently: per head, the clip's count of it, decaying with time."""

    def __init__(self, half_life_s: float = LearnerConfig.popularity_half_life_s) -> None:
        self.half_life_s = half_life_s
        self.counts: dict[str, np.ndarray] = {}
        self.stamp: dict[str, float] = {}
        self.clock = 0.0

    def update(self, event: Event) -> bool:
        """Count a positive of one head (an unlike takes a like back)."""
        self.clock = max(self.clock, event.ts)
        head = "like" if event.kind == "unlike" else HEAD_OF_EVENT.get(event.kind)
        if head is None:
            return True
        counts = self._decayed(event.item, event.ts)
        counts[HEADS.index(head)] += -1.0 if event.kind == "unlike" else 1.0
        return True

    def _decayed(self, item: str, now: float) -> np.ndarray:
        counts = self.counts.setdefault(item, np.zeros(len(HEADS)))
        last = self.stamp.get(item, now)
        counts *= 2.0 ** (-max(now - last, 0.0) / self.half_life_s)
        self.stamp[item] = max(last, now)
        return counts

    def _table(self, items: Sequence[str], now: float | None) -> np.ndarray:
        when = self.clock if now is None else now
        zero = np.zeros(len(HEADS))
        rows = np.array([self.counts.get(item, zero) for item in items]).reshape(-1, len(HEADS))
        ages = np.array([when - self.stamp.get(item, when) for item in items])
        return rows * np.exp2(-np.maximum(ages, 0.0) / self.half_life_s)[:, None]

    def score(
        self, viewer: str, items: Sequence[str], now: float | None = None
    ) -> dict[str, np.ndarray]:
        """Each head's decayed count."""
        table = self._table(items, now)
        return {head: table[:, index] for index, head in enumerate(HEADS)}

    def value(self, viewer: str, items: Sequence[str], now: float | None = None) -> np.ndarray:
        """Decayed engagement, weighted as the learner weighs its predictions (positives only)."""
        table = self._table(items, now)
        weights = np.array([max(DEFAULT_WEIGHTS[head], 0.0) for head in HEADS])
        return table @ weights


class RandomBaseline(_Online):
    """No knowledge at all: every clip a random score, drawn afresh for each read."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def update(self, event: Event) -> bool:
        """Nothing to learn."""
        return True

    def value(self, viewer: str, items: Sequence[str], now: float | None = None) -> np.ndarray:
        """Uniform draws."""
        return self.rng.random(len(items))

    def score(
        self, viewer: str, items: Sequence[str], now: float | None = None
    ) -> dict[str, np.ndarray]:
        """Independent draws per head."""
        return {head: self.rng.random(len(items)) for head in HEADS}
