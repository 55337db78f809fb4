"""What serving asks the learner besides scores: candidates it can find, and explanations.

A mixin of `Learner` (kept apart from the model's arithmetic); everything here only reads.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .neighbours import MIN_CLIPS, NearestClips
from .vocabulary import _H, FEATURES, Infos, locked

if TYPE_CHECKING:
    from .overlay import ItemSide
    from .vocabulary import _Ids
    from .window import Affinity, Exposures


class LearnerReads:
    """Candidate lists, per-clip counters and the named features behind a score."""

    # Set by Learner; declared for the type checker.
    _viewers: _Ids
    _items: _Ids
    _authors: _Ids
    _dim: int
    _exposures: Exposures
    _affinity: Affinity
    _neighbours: NearestClips | None
    _ARRAYS: tuple[str, ...]
    _VIEWER_ARRAYS: tuple[str, ...]
    _ITEM_ARRAYS: tuple[str, ...]
    _AUTHOR_ARRAYS: tuple[str, ...]
    taste: np.ndarray
    taste_w: np.ndarray
    session: np.ndarray
    session_ts: np.ndarray
    item_emb: np.ndarray
    item_has_emb: np.ndarray
    item_imps: np.ndarray
    item_cnt: np.ndarray
    item_pop: np.ndarray
    item_pop_ts: np.ndarray
    _pop_changes: int
    _trending: tuple[tuple[int, int, int], list[str]] | None
    cf_P: np.ndarray
    cf_Q: np.ndarray
    config: Any
    lock: threading.RLock

    def _side(self, items: Sequence[str], extra: Infos | None) -> ItemSide:
        raise NotImplementedError

    def _features(self, v: int, side: ItemSide, now: float) -> np.ndarray:
        raise NotImplementedError

    def _now(self, now: float | None) -> float:
        raise NotImplementedError

    def _session_now(self, v: int, now: float) -> np.ndarray | None:
        """The viewer's session taste as it reads at `now`: the direction of what they
        engaged with lately, shrunk by how long ago that was (None: nothing lately)."""
        scale = self._session_scale(v, now)
        return self.session[v] * np.float32(scale) if scale else None

    def _session_scale(self, v: int, now: float) -> float:
        """What the viewer's session sum is multiplied by to read as `_session_now`: its
        fading over its length; 0 for nothing lately."""
        if not v or not self._dim or not self.session_ts[v]:
            return 0.0
        age = max(now - float(self.session_ts[v]), 0.0)
        fade = 2.0 ** (-age / self.config.session_half_life_s)
        if fade < 1e-3:
            return 0.0
        vector = self.session[v]
        norm = math.sqrt(float(vector @ vector))
        return fade / norm if norm > 0 else 0.0

    @locked
    def has_item(self, item: str) -> bool:
        """Whether the learner has a row for this clip (seen in an event or told about it)."""
        return item in self._items.index

    @locked
    def unknown_items(self, items: Sequence[str]) -> list[str]:
        """Those of `items` the learner has no row for (`has_item`, under one hold of its
        lock: a page asks about some 600 candidates)."""
        index = self._items.index
        return [item for item in items if item not in index]

    @locked
    def viewer_taste(self, viewer: str) -> np.ndarray | None:
        """The running mean of the prompt embeddings this viewer engaged with, if any."""
        v = self._viewers.index.get(viewer) if viewer else None
        if v is None or not self._dim or self.taste_w[v] <= 0:
            return None
        return self.taste[v].astype(np.float32)

    @locked
    def viewer_session(self, viewer: str, now: float | None = None) -> np.ndarray | None:
        """The direction of what this viewer engaged with lately, shrunk as it fades (see
        `Learner._signal`); None if nothing lately."""
        v = self._viewers.index.get(viewer) if viewer else None
        return None if v is None else self._session_now(v, self._now(now))

    @locked
    def nearest_items(self, vector: np.ndarray, n: int) -> list[str]:
        """The `n` clips whose prompt embeddings are closest to `vector` (cosine): from the
        index where one is built (neighbours.py), else by a scan of every clip."""
        if not self._dim or n <= 0 or vector.size != self._dim:
            return []
        unit = (vector / (np.linalg.norm(vector) + 1e-9)).astype(np.float32)
        if self._neighbours is not None:
            rows, sims = self._neighbours.search(unit, n)
            ids = self._items.ids
            return [ids[r] for r, sim in zip(rows.tolist(), sims.tolist(), strict=True) if sim > 0]
        count = len(self._items.ids)
        sims = self.item_emb[:count] @ unit
        sims[~self.item_has_emb[:count]] = -np.inf
        sims[0] = -np.inf
        return self._top(sims, n, floor=0.0)

    @locked
    def neighbours_build(self, min_clips: int = MIN_CLIPS) -> bool:
        """Index the clips' prompt embeddings for `nearest_items`, if there are at least
        `min_clips` of them (fewer are scanned); whether it did. About 0.6 s for 100,000
        clips: a web process does it on its updater thread, before pages read the learner."""
        count = len(self._items.ids)
        rows = np.flatnonzero(self.item_has_emb[:count])
        if not self._dim or rows.size < max(min_clips, 1):
            self._neighbours = None
            return False
        self._neighbours = NearestClips(self.item_emb[rows], rows, seed=self.config.seed)
        return True

    @locked
    def collaborative_items(self, viewer: str, n: int) -> list[str]:
        """The `n` clips with the highest predicted cell for this viewer (collaborative.py):
        what people with tastes like theirs engaged with. None before the viewer has any."""
        v = self._viewers.index.get(viewer) if viewer else None
        if v is None or n <= 0 or not self.cf_P[v].any():
            return []
        count = len(self._items.ids)
        q = self.cf_Q[:count]
        p = self.cf_P[v]
        predicted = q[:, :-1] @ p[:-1] + q[:, -1]
        # A clip with no factors predicts exactly 0, which the floor leaves out (no mask of
        # them needed: it took 1.5 of this read's 2.5 ms at 100,000 clips).
        predicted[0] = -np.inf
        return self._top(predicted, n, floor=0.0)

    @locked
    def trending_items(self, n: int, now: float | None = None) -> list[str]:
        """The `n` clips with the most engagement lately (the decayed popularity).

        Every clip's popularity decays at the same rate, so their order changes only when
        one of them gains some: the answer is kept until then (pages between two ticks of
        the updater share it; working it out takes 1 ms at 100,000 clips).
        """
        count = len(self._items.ids)
        key = (self._pop_changes, count, n)
        if self._trending is not None and self._trending[0] == key:
            return list(self._trending[1])
        when = self._now(now)
        age = np.maximum(when - self.item_pop_ts[:count], 0.0)
        pop = self.item_pop[:count] * np.exp2(-age / self.config.popularity_half_life_s)
        pop[0] = 0.0
        top = self._top(pop, n, floor=0.0)
        self._trending = (key, top)
        return list(top)

    def _top(self, values: np.ndarray, n: int, floor: float = -np.inf) -> list[str]:
        n = min(n, values.size - 1)
        if n <= 0:
            return []
        rows = np.argpartition(-values, n)[:n] if n < values.size else np.arange(values.size)
        rows = rows[np.argsort(-values[rows], kind="stable")]
        ids = self._items.ids
        return [ids[r] for r in rows.tolist() if values[r] > floor]

    @locked
    def item_counts(self, items: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(impressions, likes) of each clip so far; zeros for unknown clips."""
        rows = self._items.rows(items)
        imps = self.item_imps[rows].copy()
        likes = self.item_cnt[rows, _H["like"]].copy()
        imps[rows == 0] = 0.0
        likes[rows == 0] = 0.0
        return imps, np.maximum(likes, 0.0)

    @locked
    def explain(
        self, viewer: str, items: Sequence[str], now: float, extra: Infos | None = None
    ) -> list[dict[str, float]]:
        """The named features the model reads for this viewer and each clip (see FEATURES);
        `extra` as in `score`."""
        v = self._viewers.index.get(viewer, 0) if viewer else 0
        x = self._features(v, self._side(items, extra), now)
        return [
            {name: round(float(value), 4) for name, value in zip(FEATURES, row, strict=True)}
            for row in x
        ]

    @locked
    def item_embeddings(
        self, items: Sequence[str], extra: Infos | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (n, dim), whether each clip has one); unknown clips have none, but
        those with an `extra` info have its embedding (as in `score`)."""
        side = self._side(items, extra)
        has = side.take(self.item_has_emb, "item_has_emb") & side.held
        return side.take(self.item_emb, "item_emb"), has

    @locked
    def state_bytes(self) -> dict[str, int]:
        """Bytes the learner holds, by part, and their "total" (what a web process keeps).

        Tables count their allocated rows (they grow ahead of the ids); ids count their
        strings and both indexes; "showings" and "affinity" are the windowed pairs
        (window.py). Counts of each are under "n_...".
        """

        def ids_bytes(ids: _Ids) -> int:
            strings = sum(sys.getsizeof(key) for key in ids.ids)
            return strings + sys.getsizeof(ids.ids) + sys.getsizeof(ids.index)

        def tables(names: Sequence[str]) -> int:
            return sum(getattr(self, name).nbytes for name in names)

        grouped = {*self._VIEWER_ARRAYS, *self._ITEM_ARRAYS, *self._AUTHOR_ARRAYS}
        parts = {
            "viewers": tables(self._VIEWER_ARRAYS) + ids_bytes(self._viewers),
            "clips": tables(self._ITEM_ARRAYS) + ids_bytes(self._items),
            "creators": tables(self._AUTHOR_ARRAYS) + ids_bytes(self._authors),
            "model": tables([name for name in self._ARRAYS if name not in grouped]),
            "showings": self._exposures.nbytes(),
            "affinity": self._affinity.nbytes(),
            "index": 0 if self._neighbours is None else self._neighbours.nbytes(),
        }
        parts["total"] = sum(parts.values())
        parts.update(
            n_viewers=len(self._viewers.ids) - 1,
            n_clips=len(self._items.ids) - 1,
            n_showings=len(self._exposures),
            n_affinity=len(self._affinity),
        )
        return parts
