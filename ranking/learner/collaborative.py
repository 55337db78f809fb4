"""Collaborative factors: clips' from ALS at each retrain, viewers' folded in online.

A mixin of `Learner`. Online factors learnt by one SGD step an event (which the learner
had before these) find the people who like the same things only slowly: on a simulated
population with hidden tastes their product barely correlated with the tastes (0.03 to
0.16). So a retrain factorises the window's showings by alternating least squares:

    cell(viewer, clip) ~ mu + bias_v + bias_i + P_v . Q_i

over the cells of showings only, a cell holding what the viewer did with the clip, summed
as `CF_SIGNAL` (a completion, a like, a share for, "not interested" against; shown and
nothing else is 0). Showings are observed: Riff knows what it showed that nothing came of.
One-class models (the `implicit` library's ALS, BPR and LMF) read every cell not engaged
with as a weak negative, shown or not, and lose that: on the simulated population of 300
viewers and 400 clips implicit's ALS ranked likes at AUC 0.60-0.64 over 27 settings, this
least-squares fit at 0.69 (popularity 0.55, the oracle 0.83). Its half-steps are numpy
(batched outer products summed with reduceat, batched solves): 0.6 s for 2 million cells.

With prompt embeddings, a clip's factors are drawn towards a projection of its prompt
(`factorise`), so a clip seen by few leans on what its prompt says and a clip posted after
the retrain gets factors from its prompt at once (`_content_factors`); without, it has
none (zeros) until the next retrain, and the other features rank it.

The clips' factors then stay as trained until the next retrain; each viewer's (`cf_P`) is
the exact least-squares solution for them fixed ("fold-in"), kept current online: every
event updates the inverse of the viewer's normal equations (`cf_M`, by Sherman-Morrison)
and their right-hand side (`cf_b`), O(k^2) each, so a like moves the viewer's factors at
once. The model reads the predicted cell above the mean as the feature "collaborative",
its weight per head learnt like any other's.
"""

from __future__ import annotations

import threading
from array import array
from typing import Any

import numpy as np

# What each event says of the viewer's liking of the clip, summed per (viewer, clip) cell.
# A showing opens its cell at 0 (so shown and skipped is a 0, not a missing cell).
CF_SIGNAL: dict[str, float] = {
    "complete": 1.0,
    "like": 1.0,
    "unlike": -1.0,
    "comment": 1.0,
    "share": 1.0,
    "remix": 1.0,
    "not_interested": -1.0,
    "report": -2.0,
}


class CellLog:
    """The summed (viewer row, clip row) cells of a pass's showings and events, for the ALS.

    Each showing and event is appended to flat buffers (24 bytes); when the buffers hold as
    many as the cells summed so far (or 65,536), they are summed into them. So a pass holds
    its distinct cells, about 16 bytes each, plus a bounded buffer: the log's length, and
    how often a viewer comes back to one clip, don't grow it.
    """

    def __init__(self) -> None:
        """Empty."""
        self._keys = np.zeros(0, dtype=np.int64)  # viewer row << 32 | clip row, sorted
        self._sums: np.ndarray = np.zeros(0)
        self._clear()

    def _clear(self) -> None:
        self._v, self._i, self._s = array("q"), array("q"), array("d")

    def add(self, v: int, i: int, signal: float) -> None:
        """A showing (signal 0) or an event's contribution to its cell."""
        self._v.append(v)
        self._i.append(i)
        self._s.append(signal)
        if len(self._s) >= max(65536, len(self._keys)):
            self._sum()

    def _sum(self) -> None:
        if not len(self._s):
            return
        keys = (np.frombuffer(self._v, dtype=np.int64) << 32) | np.frombuffer(
            self._i, dtype=np.int64
        )
        keys = np.concatenate([self._keys, keys])
        sums = np.concatenate([self._sums, np.frombuffer(self._s, dtype=np.float64)])
        self._keys, inverse = np.unique(keys, return_inverse=True)
        self._sums = np.bincount(inverse, weights=sums, minlength=len(self._keys))
        self._clear()

    def matrix(self, viewers: int, items: int) -> Any:
        """The summed cells as a (viewers x items) CSR matrix (scipy), zeros kept: a cell
        shown and not engaged with is an observed 0."""
        from scipy.sparse import csr_matrix

        self._sum()
        rows = self._keys >> 32
        indptr = np.searchsorted(rows, np.arange(viewers + 1))
        cells = csr_matrix((self._sums, self._keys & 0xFFFFFFFF, indptr), shape=(viewers, items))
        self._keys, self._sums = np.zeros(0, dtype=np.int64), np.zeros(0)
        return cells


def _solve_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    other: np.ndarray,
    lam: float,
    prior: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row of a CSR pattern, the ridge solution x of
    sum (t - x . other[j])^2 + lam |x - prior|^2.

    `other` holds the other side's factors with a column of ones (the bias); `prior` is
    each row's prior mean (zeros if None). Returns the solutions (rows x (k+1)) and the
    normal equations, A x = B without the ridge, so that a viewer's can go on being
    updated online.

    Both sides of the normal equations are sparse-dense products (scipy's, in C): A's
    upper triangle is the pattern times each pair of columns of `other` multiplied, B the
    targets times `other`. For 1 million cells of 8 factors that is 0.1 s, where summing
    each cell's outer product took 1.3 s.
    """
    from scipy.sparse import csr_matrix

    n, m, width = len(indptr) - 1, other.shape[0], other.shape[1]
    upper = np.triu_indices(width)
    pattern = csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, m))
    products = pattern @ (other[:, upper[0]] * other[:, upper[1]])
    A = np.empty((n, width, width), dtype=np.float64)
    A[:, upper[0], upper[1]] = products
    A[:, upper[1], upper[0]] = products
    B = np.asarray(csr_matrix((targets, indices, indptr), shape=(n, m)) @ other, np.float64)
    right = B if prior is None else B + lam * prior
    return np.linalg.solve(A + lam * np.eye(width), right[..., None])[..., 0], A, B


def factorise(
    cells: Any,
    factors: int,
    lam: float,
    iterations: int,
    seed: int,
    content: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray | None]:
    """ALS with biases over the cells: (mu, viewers' [P, bias], clips' [Q, bias], C).

    With `content` (a row per clip: its prompt embedding, zeros for none), a clip's
    factors are drawn towards its embedding's projection `content @ C` rather than
    towards zero, C fitted by ridge regression to the factors of the clips that have
    cells: a clip seen by few leans on what its prompt says, and one seen by none (posted
    after the retrain) gets its factors from its prompt alone.
    """
    n_v, n_i = cells.shape
    mu = float(cells.data.mean()) if cells.nnz else 0.0
    rng = np.random.default_rng(seed)
    items = np.hstack([rng.normal(0.0, 0.1, (n_i, factors)), np.zeros((n_i, 1))])
    by_item = cells.tocsc()
    ones_v, ones_i = np.ones((n_v, 1)), np.ones((n_i, 1))
    projection = None
    prior = None
    fitted = np.diff(by_item.indptr) > 0
    if content is not None:
        content = content[:n_i].astype(np.float32)
        fitted &= content.any(axis=1)
        seen = content[fitted]
        # The ridge's normal matrix is the same every iteration: formed once (at 100,000
        # clips it is a second's work; each iteration's right-hand side, in float32, 50 ms).
        gram = (seen.T @ seen).astype(np.float64) + np.eye(content.shape[1])
    for _ in range(max(iterations, 1)):
        # Each side: factors and its own bias against the other's factors and a 1.
        targets = cells.data - mu - items[cells.indices, -1]
        viewers, _, _ = _solve_rows(
            cells.indptr, cells.indices, targets, np.hstack([items[:, :-1], ones_i]), lam
        )
        targets = by_item.data - mu - viewers[by_item.indices, -1]
        items, _, _ = _solve_rows(
            by_item.indptr,
            by_item.indices,
            targets,
            np.hstack([viewers[:, :-1], ones_v]),
            lam,
            prior,
        )
        if content is not None and fitted.any():
            right = seen.T @ items[fitted, :-1].astype(np.float32)
            projection = np.linalg.solve(gram, right).astype(np.float32)
            prior = np.hstack([content @ projection, np.zeros((n_i, 1), np.float32)])
    if prior is not None:
        unseen = np.diff(by_item.indptr) == 0
        items[unseen] = prior[unseen]
    return mu, viewers, items, projection


class LearnerCollaborative:
    """The ALS factors of `Learner`: fitted between passes, folded in per event."""

    # Set by Learner; declared for the type checker.
    config: Any
    lock: threading.RLock
    cf_P: np.ndarray
    cf_M: np.ndarray
    cf_b: np.ndarray
    cf_Q: np.ndarray
    cf_mu: np.ndarray
    cf_C: np.ndarray
    item_emb: np.ndarray
    _dim: int

    def _content_factors(self, row: int) -> None:
        """A clip told of after the retrain: its factors from its prompt (see `factorise`)."""
        if self.cf_C.shape[0] == self.item_emb.shape[1] and not self.cf_Q[row].any():
            self.cf_Q[row, :-1] = self.item_emb[row] @ self.cf_C

    def content_factors(self, embeddings: np.ndarray) -> np.ndarray:
        """What `_content_factors` gives clips of these embeddings (rows; zeros if none)."""
        out = np.zeros((embeddings.shape[0], self.cf_Q.shape[1]), dtype=np.float32)
        if self.cf_C.shape[0] == embeddings.shape[1]:
            out[:, :-1] = embeddings @ self.cf_C
        return out

    def _reset_collaborative(self, viewers: int, items: int) -> None:
        self.cf_Q = np.zeros((items, self.config.cf_factors + 1), dtype=np.float32)
        self.cf_C = np.zeros((0, self.config.cf_factors), dtype=np.float32)
        self.cf_mu = np.zeros(1)
        self._reset_folds(viewers)

    def _reset_folds(self, viewers: int) -> None:
        width = self.config.cf_factors + 1
        self.cf_P = np.zeros((viewers, width), dtype=np.float32)
        self.cf_M = np.zeros((viewers, width, width))
        self.cf_M[:] = self._prior_inverse()
        self.cf_b = np.zeros((viewers, width))

    def _prior_inverse(self) -> np.ndarray:
        """The inverse normal equations of a viewer with no cells: the ridge's alone."""
        width = self.config.cf_factors + 1
        return np.eye(width) / self.config.cf_regularization

    def _forget_folds(self, v: int) -> None:
        self.cf_P[v] = 0.0
        self.cf_M[v] = self._prior_inverse()
        self.cf_b[v] = 0.0

    def _fold(self, v: int, i: int, opened: bool, signal: float) -> None:
        """A showing opened the viewer's cell with the clip, or `signal` was added to it:
        the viewer's normal equations take it in, and are solved again."""
        q = self.cf_Q[i]
        if not v or not q.any():
            return  # signed out, or a clip with no factors: nothing to fold
        bias = float(q[-1])
        g = q.astype(np.float64)  # a copy: the clip's factors, then 1 in place of its bias
        g[-1] = 1.0
        inverse = self.cf_M[v]
        if opened:
            mg = inverse @ g
            inverse -= np.outer(mg, mg) / (1.0 + g @ mg)
            self.cf_b[v] += (signal - float(self.cf_mu[0]) - bias) * g
        else:
            self.cf_b[v] += signal * g
        self.cf_P[v] = inverse @ self.cf_b[v]

    def _factorise(self, cells: Any) -> None:
        """ALS over the window's cells: the clips' factors, and every viewer's folded in."""
        cfg = self.config
        content = self.item_emb if self._dim else None
        mu, viewers, items, projection = factorise(
            cells, cfg.cf_factors, cfg.cf_regularization, cfg.cf_iterations, cfg.seed, content
        )
        self.cf_mu[0] = mu
        self.cf_C = (
            np.zeros((0, cfg.cf_factors), np.float32)
            if projection is None
            else projection.astype(np.float32)
        )
        self.cf_Q[: items.shape[0]] = items
        self.cf_Q[0] = 0.0
        self._fold_all(cells)

    def _fold_all(self, cells: Any) -> None:
        """Every viewer's normal equations and factors from their cells, for the clips'
        factors fixed (what `_fold` would have reached event by event)."""
        q = self.cf_Q[: cells.shape[1]].astype(np.float64)
        targets = cells.data - float(self.cf_mu[0]) - q[cells.indices, -1]
        other = np.hstack([q[:, :-1], np.ones((q.shape[0], 1))])
        solved, A, B = _solve_rows(
            cells.indptr, cells.indices, targets, other, self.config.cf_regularization
        )
        n = cells.shape[0]
        self.cf_M[:n] = np.linalg.inv(A + self.config.cf_regularization * np.eye(other.shape[1]))
        self.cf_b[:n] = B
        self.cf_P[:n] = solved
        self._forget_folds(0)

    def _collaborative(self, v: int, q: np.ndarray) -> np.ndarray:
        """The viewer's predicted cell with each clip (rows of `cf_Q`) above the mean one:
        0 says nothing (no factors yet), 1 is a clip a whole like or completion above."""
        p = self.cf_P[v]
        return q[..., -1] + p[-1] + q[..., :-1] @ p[:-1]
