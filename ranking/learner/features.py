"""The features `Learner` reads for a (viewer, clip) pair: a page's candidates at once
(`_features`), and one clip at a time while it learns (`_features_one`, the same numbers in
plain floats: the training path's hot spot). The names are vocabulary.FEATURES.

A mixin of `Learner`, kept apart from its learning steps.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import numpy as np

from .collaborative import CellLog
from .overlay import ItemSide
from .reads import LearnerReads
from .vocabulary import _H, FEATURES, HEADS, _signed_log

_SEEN = FEATURES.index("seen")
_COLLABORATIVE = FEATURES.index("collaborative")
_SESSION = FEATURES.index("session")


class LearnerFeatures(LearnerReads):
    """`Learner`'s features; see the module docstring."""

    # Set by Learner; declared for the type checker.
    item_author: np.ndarray
    item_created: np.ndarray
    author_imps: np.ndarray
    author_cnt: np.ndarray
    tot_imps: float
    tot_cnt: np.ndarray
    _cells: CellLog | None
    _since: Callable[[], float]
    _collaborative: Callable[[int, np.ndarray], np.ndarray]

    def _lift(self, counts: np.ndarray, shown: np.ndarray) -> np.ndarray:
        """log(smoothed rate / global rate), per head: how much better than average."""
        alpha = self.config.prior_strength
        mean = (self.tot_cnt + 0.5) / (self.tot_imps + 1.0)
        rate = (counts + alpha * mean) / (shown[:, None] + alpha)
        return np.log(rate / mean)

    def _features(self, v: int, side: ItemSide, now: float) -> np.ndarray:
        cfg = self.config
        rows = side.rows
        n = rows.size
        x = np.zeros((n, len(FEATURES)))
        authors = side.take(self.item_author, "item_author")
        if v in self._affinity:
            x[:, 0] = _signed_log(self._affinity.values(v, authors, now))
        taste_on = bool(self._dim and self.taste_w[v] > 0)
        session = self._session_now(v, now)
        if taste_on or session is not None:
            embeddings = side.take(self.item_emb, "item_emb")
            if taste_on:
                taste = self.taste[v]
                x[:, 1] = (embeddings @ taste) / (np.linalg.norm(taste) + 1e-9)
            if session is not None:
                x[:, _SESSION] = embeddings @ session
        created = side.take(self.item_created, "item_created")
        age = np.maximum(now - created, 0.0)  # unknown creation: brand new
        x[:, 2] = np.exp(-age / cfg.freshness_s)
        pop = side.take(self.item_pop, "item_pop") * np.exp2(
            -np.maximum(now - side.take(self.item_pop_ts, "item_pop_ts"), 0)
            / cfg.popularity_half_life_s
        )
        x[:, 3] = np.log1p(pop) / 3.0
        x[:, 4 : 4 + len(HEADS)] = self._lift(
            side.take(self.item_cnt, "item_cnt"), side.take(self.item_imps, "item_imps")
        )
        author_lift = self._lift(
            side.take_author(self.author_cnt, authors), side.take_author(self.author_imps, authors)
        )
        x[:, 4 + len(HEADS)] = author_lift[:, _H["like"]]
        x[:, 5 + len(HEADS)] = author_lift[:, _H["negative"]]
        if v:
            x[:, _SEEN] = np.log1p(self._exposures.shown_of(v, rows.tolist(), self._since()))
        x[:, _COLLABORATIVE] = self._collaborative(v, side.take(self.cf_Q, "cf_Q"))
        return x

    def _features_one(self, v: int, i: int, now: float) -> np.ndarray:
        """`_features` for one clip, in plain Python: the training path's hot spot."""
        cfg = self.config
        a = int(self.item_author[i])
        decayed = self._affinity.value(v, a, now)
        affinity = math.copysign(math.log1p(abs(decayed)), decayed) if decayed else 0.0
        taste = session_match = 0.0
        if self._dim and self.item_has_emb[i]:
            embedding = self.item_emb[i]
            if self.taste_w[v] > 0:
                vector = self.taste[v]
                taste = float(embedding @ vector) / (math.sqrt(float(vector @ vector)) + 1e-9)
            scale = self._session_scale(v, now)
            if scale:
                session_match = float(embedding @ self.session[v]) * scale
        age = max(now - float(self.item_created[i]), 0.0)
        pop_age = max(now - float(self.item_pop_ts[i]), 0.0)
        pop = float(self.item_pop[i]) * 2.0 ** (-pop_age / cfg.popularity_half_life_s)
        alpha, total = cfg.prior_strength, self.tot_imps + 1.0
        means = [(c + 0.5) / total for c in self.tot_cnt.tolist()]
        shown = float(self.item_imps[i]) + alpha
        lifts = [
            math.log((c + alpha * m) / shown / m)
            for c, m in zip(self.item_cnt[i].tolist(), means, strict=True)
        ]
        author_shown = float(self.author_imps[a]) + alpha
        counts = self.author_cnt[a].tolist()
        like, negative = _H["like"], _H["negative"]
        slot = self._exposures.find(v, i, self._since()) if v else -1
        shown = int(self._exposures.shown[slot]) if slot >= 0 else 0
        # `_collaborative` for one clip, in floats: the factors' product and both biases (none
        # while a retrain's first pass logs the cells they are fitted from).
        collaborative = 0.0
        if self._cells is None:
            *q, q_bias = self.cf_Q[i].tolist()
            *p, p_bias = self.cf_P[v].tolist()
            collaborative = q_bias + p_bias + sum(map(operator.mul, q, p))
        return np.array(
            [
                affinity,
                taste,
                math.exp(-age / cfg.freshness_s),
                math.log1p(pop) / 3.0,
                *lifts,
                math.log((counts[like] + alpha * means[like]) / author_shown / means[like]),
                math.log(
                    (counts[negative] + alpha * means[negative]) / author_shown / means[negative]
                ),
                math.log1p(shown),
                collaborative,
                session_match,
            ]
        )
