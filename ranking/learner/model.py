"""The For You learner: per-(viewer, clip) engagement probabilities, updated on every event.

Python and numpy (scipy for a retrain's sparse matrix, faiss for the prompt index), no ORM:
it learns from the live EngagementEvent table and from logs exported elsewhere alike, with
ids as opaque strings.

The model, one logistic head per engagement kind in `HEADS`, sharing everything but the
last layer::

    logit_h = b_h + W_h . x(viewer, item) + bi[item, h] + bu[viewer, h]

`x` are hand-made features read from running counters (viewer-author affinity, viewer taste
against the clip's prompt embedding, freshness, decayed popularity, the clip's completion,
like, share, skip rates, its creator's standing, whether the viewer saw it already, the
session's taste against the clip's prompt: what the viewer engaged with in the last half
hour or so, which one like moves at once, where it moves a long-standing viewer's taste by a
fiftieth; and the viewer's predicted cell from the collaborative factors, which each retrain
fits by ALS and every event folds in: collaborative.py). The collaborative factors let the
model learn from opaque ids with no side information at all. (Online factors learnt by one
SGD step an event, as the learner had before them, added nothing beside them: the same like
AUC and NDCG on every simulated population, and 40% of the time of each learning step.)

Labels follow the "fake negative" scheme of Twitter's continuous training (Ktena et al.,
RecSys 2019): an impression is a negative for every head at once, and a later like (or
complete, share...) of the same exposure is one more positive update. So a like moves the
viewer's scores at once, without waiting for a window to close. The model then learns
q = p / (1 + p) rather than p; `score` returns p = q / (1 - q), which ranks the same.

Ids map to rows of growing numpy arrays through dicts (collisionless, as in Monolith):
a self-hosted catalogue is thousands to millions of clips, so exact rows cost little,
and no two clips or viewers ever share (and corrupt) each other's factors, which a fixed
hashed table would do and which would make a state hard to inspect or roll back.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
from scipy.special import expit

from .collaborative import CF_SIGNAL, CellLog, LearnerCollaborative
from .features import LearnerFeatures
from .neighbours import NearestClips
from .overlay import ItemSide, item_side
from .rows import LearnerRows
from .saving import LearnerSaving
from .vocabulary import (
    _H,
    EMBEDDING,
    EVENT_KINDS,
    FEATURES,
    HEAD_OF_EVENT,
    HEADS,
    SIGNAL,
    Event,
    Infos,
    ItemInfo,
    LearnerConfig,
    _Ids,
    _sigmoid,
    locked,
    prior_weights,
    weighted_value,
)
from .window import Affinity, Exposures


class Learner(LearnerRows, LearnerFeatures, LearnerSaving, LearnerCollaborative):
    """Online multi-task engagement model; see the module docstring."""

    def __init__(
        self, config: LearnerConfig | None = None, items: Mapping[str, ItemInfo] | None = None
    ) -> None:
        self.lock = threading.RLock()  # see `locked`
        self.config = config or LearnerConfig()
        # Counts every change of popularity (never goes back), for trending_items' answer.
        self._pop_changes = 0
        self._trending: tuple[tuple[int, int, int], list[str]] | None = None
        self._reset_params()
        self._reset_stats()
        for item, info in (items or {}).items():
            self.set_item_info(item, info)

    # --- tables -------------------------------------------------------------------------

    def _reset_params(self) -> None:
        h, f = len(HEADS), len(FEATURES)
        self._viewers = _Ids()
        self._items = _Ids()
        self._authors = _Ids()
        self._dim = 0  # embedding length, set by the first embedding seen
        self.bu = np.zeros((1, h))
        self.bi = np.zeros((1, h))
        # A prior, not a blank: people want more of what resembles what they engaged with.
        # Learning moves it; starting at zero, a small site's few thousand events would
        # hardly personalise anything.
        self.W = prior_weights(FEATURES)
        self.b = np.full(h, -2.0)
        self._gW = np.full((h, f), 1e-6)
        self._gb = np.full(h, 1e-6)
        # Side information belongs with the ids, so it lives through a re-fit.
        self.item_author = np.zeros(1, dtype=np.int64)
        self.item_created = np.full(1, np.inf)
        self.item_emb = np.zeros((1, 0), dtype=EMBEDDING)
        self.item_has_emb = np.zeros(1, dtype=bool)
        self.item_given_created = np.zeros(1, dtype=bool)
        self._neighbours: NearestClips | None = None  # built by neighbours_build
        self._reset_collaborative(1, 1)
        self._cells: CellLog | None = None  # set while a pass logs cells for the ALS

    def _reset_stats(self) -> None:
        """Forget the counters read by the features (not the learnt weights)."""
        n_v, n_i, n_a, h = (
            len(self._viewers.ids),
            len(self._items.ids),
            len(self._authors.ids),
            len(HEADS),
        )
        self.taste = np.zeros((n_v, self._dim), dtype=np.float32)
        self.taste_w = np.zeros(n_v)
        self.session = np.zeros((n_v, self._dim), dtype=np.float32)
        self.session_ts = np.zeros(n_v)
        self.item_imps = np.zeros(n_i)
        self.item_cnt = np.zeros((n_i, h))
        self.item_pop = np.zeros(n_i)
        self.item_pop_ts = np.zeros(n_i)
        self._pop_changes += 1  # popularity changed: see trending_items
        self.author_imps = np.zeros(n_a)
        self.author_cnt = np.zeros((n_a, h))
        self.tot_imps = 0.0
        self.tot_cnt = np.zeros(h)
        cfg = self.config
        self._affinity = Affinity(cfg.affinity_half_life_s, cfg.affinity_per_viewer)
        self._exposures = Exposures(len(FEATURES))
        self._reset_folds(n_v)
        self.clock = -math.inf
        # Items whose creation time is unknown were "created" when first seen in this pass.
        unknown = ~self.item_given_created
        unknown[0] = False
        self.item_created[unknown] = np.inf

    # --- features and prediction --------------------------------------------------------

    def _since(self) -> float:
        """The oldest showing still open to engagement (window.py), in the events' clock."""
        return self.clock - self.config.exposure_window_s

    def _side(self, items: Sequence[str], extra: Infos | None) -> ItemSide:
        """Where the tables hold each clip's rows (with `extra` clips overlaid: `overlay`)."""
        return item_side(self, items, extra)

    def _logits(self, v: int, side: ItemSide, x: np.ndarray) -> np.ndarray:
        return self.b + x @ self.W.T + side.take(self.bi, "bi") + self.bu[v]

    @locked
    def score(
        self,
        viewer: str,
        items: Sequence[str],
        now: float | None = None,
        extra: Infos | None = None,
    ) -> dict[str, np.ndarray]:
        """Probability of each head's engagement for each candidate, if shown now.

        `now` is in the events' clock (unix seconds); by default the last event's time.
        Unknown viewers and clips get the population's figures, but a clip with an
        `extra` info is scored as it will be once told about (see `overlay`). Reads only:
        nothing changes.
        """
        v = self._viewers.index.get(viewer, 0) if viewer else 0
        side = self._side(items, extra)
        when = self._now(now)
        q = _sigmoid(self._logits(v, side, self._features(v, side, when)))
        p = np.clip(q / (1.0 - q), 0.0, 1.0)  # undo the fake-negative bias
        return {head: p[:, index] for index, head in enumerate(HEADS)}

    @locked
    def value(
        self,
        viewer: str,
        items: Sequence[str],
        now: float | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """One number per candidate to rank by: the weighted sum of predicted engagements."""
        return weighted_value(self.score(viewer, items, now), weights)

    def _now(self, now: float | None) -> float:
        if now is not None:
            return float(now)
        return self.clock if math.isfinite(self.clock) else 0.0

    # --- learning -----------------------------------------------------------------------

    def _step_shown(self, v: int, i: int, x: np.ndarray) -> None:
        """One SGD step of the log loss on every head, each labelled 0: a showing's
        negatives. In place, one numpy operation at a time: 12 µs a step, where the same
        arithmetic written as formulas (an array allocated at each operation) took 20."""
        cfg = self.config
        bi, bu = self.bi[i], self.bu[v]  # rows: views
        err = self.W @ x
        err += self.b
        err += bi
        err += bu
        # The sigmoid (scipy's, one call that can't overflow: 0.5 µs, where through tanh
        # it took three and 3 µs), less the label 0.
        expit(err, out=err)
        grad_w = err[:, None] * x
        scaled = grad_w * grad_w
        self._gW += scaled
        np.sqrt(self._gW, out=scaled)
        np.divide(grad_w, scaled, out=grad_w)
        grad_w *= cfg.lr_dense
        self.W -= grad_w
        self._gb += err * err
        self.b -= cfg.lr_dense * err / np.sqrt(self._gb)
        keep = 1.0 - cfg.lr_bias * cfg.l2
        err *= cfg.lr_bias
        bi *= keep
        bi -= err
        if v:
            bu *= keep
            bu -= err

    def _step_head(self, v: int, i: int, x: np.ndarray, h: int, label: float) -> None:
        """One SGD step of the log loss on the one head `h`, labelled `label`, for the
        events that label one head (a like, a complete): `_step_shown`'s update with the
        other heads' gradients zero, without computing theirs."""
        cfg = self.config
        z = self.b[h] + self.W[h] @ x + self.bi[i, h] + self.bu[v, h]
        err = 1.0 / (1.0 + math.exp(-min(max(float(z), -30.0), 30.0))) - label
        grad_w = err * x
        self._gW[h] += grad_w * grad_w
        self.W[h] -= cfg.lr_dense * grad_w / np.sqrt(self._gW[h])
        self._gb[h] += err * err
        self.b[h] -= cfg.lr_dense * err / math.sqrt(self._gb[h])
        self.bi[i] *= 1.0 - cfg.lr_bias * cfg.l2
        self.bi[i, h] -= cfg.lr_bias * err
        if v:
            self.bu[v] *= 1.0 - cfg.lr_bias * cfg.l2
            self.bu[v, h] -= cfg.lr_bias * err

    @locked
    def update(self, event: Event) -> bool:
        """Learn from one event, at once; False (and nothing learnt) for an unknown kind."""
        return self._learn(event)

    def _learn(self, event: Event) -> bool:
        """`update`, the lock held by the caller (a retrain's pass holds it throughout)."""
        kind = event.kind
        if kind not in EVENT_KINDS:
            return False
        ts = float(event.ts)
        if ts > self.clock:
            self.clock = ts
            self._exposures.evict(self._since())
        if kind == "reset":
            self.forget_viewer(event.viewer)
            return True
        v = self._viewer_row(event.viewer)
        i = self._item_row(event.item)
        if not math.isfinite(self.item_created[i]):
            self.item_created[i] = ts
        a = int(self.item_author[i])
        # Signed-out viewers share row 0: their exposures pair up per clip, roughly. An
        # event about a showing past the window (or never logged) is learnt as a new one.
        exposures = self._exposures
        slot = exposures.find(v, i, self._since())
        opened = kind == "impression" or slot < 0
        if opened:
            slot = self._expose(v, i, a, ts)
        head = HEAD_OF_EVENT.get(kind)
        mask = int(exposures.mask[slot])
        if kind == "unlike":
            bit = 1 << _H["like"]
            if mask & bit:
                exposures.mask[slot] = mask & ~bit
                self._count(i, a, _H["like"], -1.0)
                self._step_head(v, i, exposures.features(slot), _H["like"], 0.0)
        elif head is not None and not mask & (1 << _H[head]):
            exposures.mask[slot] = mask | 1 << _H[head]
            self._step_head(v, i, exposures.features(slot), _H[head], 1.0)
            self._count(i, a, _H[head], 1.0)
        signal = SIGNAL.get(kind, 0.0)
        if signal:
            self._signal(v, i, a, ts, signal)
        cell = CF_SIGNAL.get(kind, 0.0)
        if v and (opened or cell):
            if self._cells is not None:
                self._cells.add(v, i, cell)  # no factors yet to fold into (fit_stream)
            else:
                self._fold(v, i, opened, cell)
        return True

    @locked
    def forget_viewer(self, viewer: str) -> None:
        """Start this viewer afresh: their factors, biases, taste, affinities and exposures.

        What they did still counts for the clips and creators (popularity, rates); only
        what the model knew of the viewer personally is gone.
        """
        v = self._viewers.index.get(viewer) if viewer else None
        if v is None:
            return
        self.bu[v] = 0.0
        self.taste[v] = 0.0
        self.taste_w[v] = 0.0
        self.session[v] = 0.0
        self.session_ts[v] = 0.0
        self._affinity.forget(v)
        self._exposures.forget_viewer(v)
        self._forget_folds(v)

    def _expose(self, v: int, i: int, a: int, ts: float) -> int:
        """A new showing: a negative for every head, then count it; its slot."""
        x = self._features_one(v, i, ts)
        self._step_shown(v, i, x)
        slot = self._exposures.add(v, i, x, ts, self._since())
        self.item_imps[i] += 1
        self.author_imps[a] += 1
        self.tot_imps += 1
        return slot

    def _count(self, i: int, a: int, h: int, delta: float) -> None:
        self.item_cnt[i, h] += delta
        self.author_cnt[a, h] += delta
        self.tot_cnt[h] += delta

    def _signal(self, v: int, i: int, a: int, ts: float, signal: float) -> None:
        cfg = self.config
        if signal > 0:
            decay = 2.0 ** (-max(ts - float(self.item_pop_ts[i]), 0.0) / cfg.popularity_half_life_s)
            self.item_pop[i] = self.item_pop[i] * decay + signal
            self.item_pop_ts[i] = ts
            self._pop_changes += 1
        if not v:
            return
        self._affinity.add(v, a, signal, ts)
        if not self._dim or not self.item_has_emb[i]:
            return
        if signal > 0:
            weight = min(self.taste_w[v] + signal, cfg.taste_memory)
            self.taste[v] += (signal / weight) * (self.item_emb[i] - self.taste[v])
            self.taste_w[v] = weight
        # The session: every signal, either way, summed and fading with time; a like moves
        # it at once, where it moves the taste of a viewer with a long history by a fiftieth
        # (taste_memory).
        if self.session_ts[v]:
            age = max(ts - float(self.session_ts[v]), 0.0)
            self.session[v] *= np.float32(2.0 ** (-age / cfg.session_half_life_s))
        self.session[v] += np.float32(signal) * self.item_emb[i]
        self.session_ts[v] = ts

    @locked
    def fit(self, events: Iterable[Event], passes: int | None = None) -> Learner:
        """Train from scratch: passes over the events in time order (one by default).

        The collaborative factors are fitted after the first (collaborative.py). Learnt
        weights carry from pass to pass; the counters behind the features restart each
        pass, so that after the last one they describe the stream seen exactly once.
        """
        ordered = sorted(events, key=lambda event: event.ts)
        return self.fit_stream(lambda: ordered, passes)

    @locked
    def fit_stream(self, read: Callable[[], Iterable[Event]], passes: int | None = None) -> Learner:
        """`fit` for a log too big to hold: `read()` yields the events in time order, afresh
        for each pass (a database cursor, say), so memory holds the model, never the log."""
        if math.isfinite(self.clock) or len(self._viewers.ids) > 1:
            # It has learnt before: start afresh, keeping what it was told of the clips. (A
            # fresh learner skips this, which copies every clip's embedding once more.)
            infos = self._side_information()
            self._reset_params()
            for item, info in infos.items():
                self.set_item_info(item, info)
        passes = passes or self.config.passes
        for number in range(passes):
            self._reset_stats()
            # The first pass also logs the cells of the ALS, fitted after it: later passes
            # (and serving) read its factors.
            logging = number == 0 and self.config.cf_factors > 0
            if logging:
                # No factors while the pass logs the cells they are fitted from: nothing to
                # fold, and the collaborative feature reads 0 (neither is worked out).
                self._reset_collaborative(len(self._viewers.ids), len(self._items.ids))
            self._cells = CellLog() if logging else None
            learn = self._learn
            try:
                for event in read():
                    learn(event)
            finally:
                cells, self._cells = self._cells, None
            if cells is not None:
                self._factorise(cells.matrix(len(self._viewers.ids), len(self._items.ids)))
        return self

    def _side_information(self) -> dict[str, ItemInfo]:
        infos = {}
        for row, item in enumerate(self._items.ids[1:], start=1):
            author = self._authors.ids[int(self.item_author[row])]
            infos[item] = ItemInfo(
                author=None if author.startswith("\0") else author,
                created=float(self.item_created[row]) if self.item_given_created[row] else None,
                embedding=self.item_emb[row].copy() if self.item_has_emb[row] else None,
            )
        return infos

    # Everything `state_dict` saves (saving.py): the per-viewer, per-clip and per-author
    # rows, and the model's own.
    _ARRAYS = (
        *LearnerRows._VIEWER_ARRAYS,
        *LearnerRows._ITEM_ARRAYS,
        *LearnerRows._AUTHOR_ARRAYS,
        *("W", "b", "_gW", "_gb", "tot_cnt", "cf_mu", "cf_C"),
    )
