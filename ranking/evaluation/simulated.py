"""Simulated populations with hidden tastes, and the ranker that knows them.

Viewers and clips get hidden topic vectors; what a viewer does with a clip shown follows a
logistic of their match (3 x taste . style + the clip's quality), so there is a right
answer to compare the learner with: `OracleRanker` ranks by the true match, popularity and
recency by what anyone can count, and the learner sits between. `KnownClipsRanker` knows
the clips' side alone, so the learner's distance from it is what its clips' factors miss.
`bench/ranking_tastes.py` prints them over several seeds and sizes;
tests/ranking/test_learner.py checks the margins.

With `prompts`, every clip also has an "embedding" as its prompt would give it: a fixed
random projection of its topic mix plus noise (`prompt_noise`; 0.5 a prompt that says what
the clip shows, 1 one that says it loosely), as Riff embeds each clip's prompt with MiniLM.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..learner import HEADS, Event, ItemInfo
from ..learner.collaborative import CF_SIGNAL

T0 = 1_700_000_000.0
DAY = 86400.0
PROMPT_DIM = 32


def _sigmoid(z: float) -> float:
    return float(1.0 / (1.0 + np.exp(-z)))


class Population:
    """Viewers and clips with hidden topic vectors; engagement is a logistic of their match.

    Each viewer comes `sessions` times over `days`, and is shown `per_session` clips at
    random among those posted by then that they have not seen.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        viewers: int = 300,
        items: int = 400,
        topics: int = 6,
        sessions: int = 6,
        per_session: int = 8,
        days: float = 10.0,
        prompts: bool = False,
        prompt_noise: float = 0.5,
    ) -> None:
        rng = np.random.default_rng(seed)
        self.taste = rng.normal(size=(viewers, topics))
        self.taste /= np.linalg.norm(self.taste, axis=1, keepdims=True)
        topic = rng.integers(0, topics, items)
        self.style = np.eye(topics)[topic] + 0.35 * rng.normal(size=(items, topics))
        self.style /= np.linalg.norm(self.style, axis=1, keepdims=True)
        self.quality = rng.normal(0.0, 0.4, items)
        self.quality[rng.random(items) < 0.08] += 1.5  # a few clips everyone likes
        author = rng.integers(0, 40, items)
        # Most clips exist at the start; the rest appear over the period.
        created = np.where(
            rng.random(items) < 0.6,
            T0 - rng.random(items) * 2 * DAY,
            T0 + rng.random(items) * 0.9 * days * DAY,
        )
        self.items = {
            f"i{i}": ItemInfo(author=f"a{author[i]}", created=float(created[i]))
            for i in range(items)
        }
        self.shown: dict[str, set[str]] = {}
        events: list[Event] = []
        for v in range(viewers):
            viewer = f"v{v}"
            seen = self.shown.setdefault(viewer, set())
            for start in np.sort(T0 + rng.random(sessions) * days * DAY):
                live = [i for i in np.flatnonzero(created <= start) if f"i{i}" not in seen]
                picks = rng.choice(live, size=min(per_session, len(live)), replace=False)
                for j, i in enumerate(picks):
                    events += self._watch(rng, v, int(i), start + 20.0 * j)
                    seen.add(f"i{i}")
        self.events = sorted(events, key=lambda event: event.ts)
        if prompts:
            # Drawn after the log, so a population with prompts has the same events.
            prompt_rng = np.random.default_rng([seed, 1])
            projection = prompt_rng.normal(size=(topics, PROMPT_DIM))
            noise = prompt_rng.normal(size=(items, PROMPT_DIM)) * np.sqrt(topics)
            embedding = self.style @ projection + prompt_noise * noise
            self.items = {
                item: ItemInfo(info.author, info.created, embedding[int(item[1:])])
                for item, info in self.items.items()
            }

    def _watch(self, rng: np.random.Generator, v: int, i: int, t: float) -> list[Event]:
        match = self.match(v, np.array([i]))[0]
        viewer, item = f"v{v}", f"i{i}"
        out = [Event(viewer, item, "impression", 1.0, t)]
        complete = rng.random() < _sigmoid(match - 0.3)
        if complete:
            out.append(Event(viewer, item, "complete", 1.0, t + 6))
        else:
            out.append(Event(viewer, item, "skip", float(rng.random() * 3), t + 2))
        if rng.random() < _sigmoid(match + complete - 2.5):
            out.append(Event(viewer, item, "like", 1.0, t + 7))
        if rng.random() < _sigmoid(match - 3.5):
            out.append(Event(viewer, item, "share", 1.0, t + 8))
        if rng.random() < _sigmoid(-match - 3.5):
            out.append(Event(viewer, item, "not_interested", 1.0, t + 3))
        return out

    def match(self, v: int, items: np.ndarray) -> np.ndarray:
        """The hidden match of viewer row `v` with clip rows `items`: every engagement's
        probability rises with it (skips and "not interested" fall)."""
        return 3.0 * self.style[items] @ self.taste[v] + self.quality[items]


class OracleRanker:
    """Knows the hidden tastes: every head ranks by the true match (the ceiling)."""

    def __init__(self, population: Population) -> None:
        """The ranker of this population."""
        self.population = population

    def fit(self, events: Iterable[Event]) -> OracleRanker:
        """Nothing to learn."""
        return self

    def update(self, event: Event) -> bool:
        """Nothing to learn."""
        return True

    def value(self, viewer: str, items: Sequence[str], now: float | None = None) -> np.ndarray:
        """The true match (0 for a signed-out viewer, who has no taste)."""
        rows = np.array([int(item[1:]) for item in items], dtype=np.int64)
        if not viewer:
            return self.population.quality[rows]
        return self.population.match(int(viewer[1:]), rows)

    def score(
        self, viewer: str, items: Sequence[str], now: float | None = None
    ) -> dict[str, np.ndarray]:
        """The match for the heads that rise with it, its negative for those that fall."""
        match = self.value(viewer, items, now)
        return {head: -match if head in ("skip", "negative") else match for head in HEADS}


class KnownClipsRanker:
    """Knows every clip's hidden style and quality, but no viewer's taste: it learns each
    viewer's from what they did, online, as the learner folds a viewer's factors in against
    its clips' factors (collaborative.py), which the learner has to learn as well.

    A viewer's predicted cell (the summed `CF_SIGNAL` of a showing) is a ridge regression on
    the clip's [style, quality, 1], drawn towards the whole population's fit: the learner
    with exact clip factors. Between the learner and the oracle, the learner's distance
    from this one is what its clips' factors miss, and this one's from the oracle what the
    viewers' few showings can't tell.
    """

    def __init__(self, population: Population, regularization: float = 1.0) -> None:
        """The ranker of this population; `regularization` weighs the population's fit."""
        self.population = population
        self.regularization = regularization
        self._prior = np.zeros(population.style.shape[1] + 2)
        self._normal: dict[str, np.ndarray] = {}
        self._right: dict[str, np.ndarray] = {}
        self._open: set[tuple[str, str]] = set()

    def _clips(self, rows: np.ndarray) -> np.ndarray:
        quality = self.population.quality[rows, None]
        return np.hstack([self.population.style[rows], quality, np.ones_like(quality)])

    def fit(self, events: Iterable[Event]) -> KnownClipsRanker:
        """The population's fit over the events' cells, then every viewer's, event by event."""
        ordered = list(events)
        cells: dict[tuple[str, str], float] = {}
        for event in ordered:
            if event.viewer and event.item:
                key = (event.viewer, event.item)
                cells[key] = cells.get(key, 0.0) + CF_SIGNAL.get(event.kind, 0.0)
        if cells:
            rows = np.array([int(item[1:]) for _, item in cells], dtype=np.int64)
            self._prior = np.linalg.lstsq(
                self._clips(rows), np.fromiter(cells.values(), float), rcond=None
            )[0]
        for event in ordered:
            self.update(event)
        return self

    def update(self, event: Event) -> bool:
        """A showing opens the viewer's cell with the clip; a signal adds to it."""
        if not event.viewer or not event.item:
            return True
        clip = self._clips(np.array([int(event.item[1:])]))[0]
        key = (event.viewer, event.item)
        if event.kind == "impression" or key not in self._open:
            self._open.add(key)
            width = len(self._prior)
            normal = self._normal.setdefault(event.viewer, self.regularization * np.eye(width))
            normal += np.outer(clip, clip)
            self._right.setdefault(event.viewer, self.regularization * self._prior)
        self._right[event.viewer] += CF_SIGNAL.get(event.kind, 0.0) * clip
        return True

    def value(self, viewer: str, items: Sequence[str], now: float | None = None) -> np.ndarray:
        """The viewer's predicted cell with each clip (the population's for a stranger)."""
        rows = np.array([int(item[1:]) for item in items], dtype=np.int64)
        weights = self._prior
        if viewer in self._normal:
            weights = np.linalg.solve(self._normal[viewer], self._right[viewer])
        return self._clips(rows) @ weights

    def score(
        self, viewer: str, items: Sequence[str], now: float | None = None
    ) -> dict[str, np.ndarray]:
        """The predicted cell for the heads that rise with it, its negative for the others."""
        cell = self.value(viewer, items, now)
        return {head: -cell if head in ("skip", "negative") else cell for head in HEADS}
