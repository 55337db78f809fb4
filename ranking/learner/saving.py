"""Saving and loading a learner: its whole state as numpy arrays, and as one .npz file.

A mixin of `Learner` (kept apart from the model's arithmetic). A saved state loads back
into exactly the learner it was taken from, bit for bit (`state_equal`), with no pickles.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from typing import Any, Self

import numpy as np

from .neighbours import NearestClips
from .vocabulary import EMBEDDING, FEATURES, LearnerConfig, _Ids, locked, prior_weights
from .window import Affinity, Exposures


class LearnerSaving:
    """`state_dict` / `load_state_dict`, and `to_bytes` / `from_bytes` for a saved version."""

    # Set by Learner; declared for the type checker.
    config: LearnerConfig
    _ARRAYS: tuple[str, ...]
    _VIEWER_ARRAYS: tuple[str, ...]
    _ITEM_ARRAYS: tuple[str, ...]
    _AUTHOR_ARRAYS: tuple[str, ...]
    _viewers: _Ids
    _items: _Ids
    _authors: _Ids
    _affinity: Affinity
    _exposures: Exposures
    lock: threading.RLock
    _dim: int
    taste: np.ndarray
    session: np.ndarray
    session_ts: np.ndarray
    item_emb: np.ndarray
    W: np.ndarray
    _gW: np.ndarray
    _reset_collaborative: Callable[[int, int], None]
    _neighbours: NearestClips | None
    tot_imps: float
    clock: float
    _pop_changes: int

    @locked
    def state_dict(self) -> dict[str, np.ndarray]:
        """Everything the learner knows, as numpy arrays (see `to_bytes`)."""
        sizes = {
            "v": len(self._viewers.ids),
            "i": len(self._items.ids),
            "a": len(self._authors.ids),
        }
        table = dict.fromkeys(self._VIEWER_ARRAYS, "v")
        table.update(dict.fromkeys(self._ITEM_ARRAYS, "i"))
        table.update(dict.fromkeys(self._AUTHOR_ARRAYS, "a"))
        state: dict[str, np.ndarray] = {}
        for name in self._ARRAYS:
            array = getattr(self, name)
            state[name] = array[: sizes[table[name]]].copy() if name in table else array.copy()
        state.update(self._affinity.arrays())
        # Only the showings still within the window (window.py), with when they were made.
        state.update(self._exposures.arrays(self.clock - self.config.exposure_window_s))
        state["viewer_ids"] = np.array(self._viewers.ids, dtype=str)
        state["item_ids"] = np.array(self._items.ids, dtype=str)
        state["author_ids"] = np.array(self._authors.ids, dtype=str)
        state["scalars"] = np.array([self.tot_imps, self.clock, self._dim], dtype=np.float64)
        state["config"] = np.array(json.dumps(asdict(self.config), sort_keys=True))
        return state

    @locked
    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Become exactly the learner that `state_dict` was taken from."""
        self.config = _config(json.loads(str(state["config"])))
        self._neighbours = None  # of the clips it held before
        for name in self._ARRAYS:
            if name in state:
                setattr(self, name, np.array(state[name], copy=True))
        self._viewers = _Ids(ids=[str(x) for x in state["viewer_ids"]])
        self._items = _Ids(ids=[str(x) for x in state["item_ids"]])
        self._authors = _Ids(ids=[str(x) for x in state["author_ids"]])
        for ids in (self._viewers, self._items, self._authors):
            ids.index = {key: row for row, key in enumerate(ids.ids) if row}
        self.tot_imps, self.clock, dim = (float(x) for x in state["scalars"])
        self._dim = int(dim)
        cfg = self.config
        self._affinity = Affinity.from_arrays(
            state["affinity_keys"].reshape(-1, 2),
            state["affinity_vals"].reshape(-1, 2),
            cfg.affinity_half_life_s,
            cfg.affinity_per_viewer,
            self.clock,
        )
        if "cf_Q" not in state:
            # Saved before the collaborative factors: none yet (the next retrain fits them).
            self._reset_collaborative(len(self._viewers.ids), len(self._items.ids))
        if "session" not in state:
            # Saved before the session's taste: nobody has one yet.
            viewers = len(self._viewers.ids)
            self.session = np.zeros((viewers, self._dim), dtype=np.float32)
            self.session_ts = np.zeros(viewers)
        # Weights saved before the later features: theirs start at the prior.
        known = self.W.shape[1]
        self.W = np.hstack([self.W, prior_weights(FEATURES[known:])])
        self._gW = np.hstack([self._gW, np.full((self._gW.shape[0], len(FEATURES) - known), 1e-6)])
        if "exposure_ts" in state:
            ts = state["exposure_ts"]
            self._exposures = Exposures.from_arrays(
                state["exposure_keys"].reshape(-1, 2),
                state["exposure_vals"].reshape(-1, 2),
                _showings_x(state["exposure_x"], len(ts)),
                ts,
            )
        else:
            # Saved before showings had times (and held every showing ever made): none is
            # known to be recent, so none is kept; the next retrain saves them with times.
            self._exposures = Exposures(len(FEATURES))
        self._pop_changes += 1  # its popularity, not the one trending_items answered from
        # The taste and embeddings of a state saved before they were kept so small.
        self.taste = self.taste.astype(np.float32)
        self.item_emb = self.item_emb.astype(EMBEDDING)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled or deep-copied without its lock (a copy gets its own) or its index."""
        state = self.__dict__.copy()
        state.pop("lock", None)
        state["_neighbours"] = None  # a faiss index does not pickle; built again on demand
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """See `__getstate__`."""
        self.__dict__.update(state)
        self.lock = threading.RLock()

    def to_bytes(self) -> bytes:
        """The state as one .npz file's bytes (no pickles), for saving a version.

        Uncompressed: at 10,000 viewers and 100,000 clips, 153 MB written in 0.2 s and read
        in 0.2, where compressing took 5.3 s to reach 112 MB and every process loading the
        version 1.6 s to read it back (most of it is float embeddings, which compress little).
        """
        buffer = io.BytesIO()
        np.savez(buffer, **self.state_dict())  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """A learner from `to_bytes` output."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            state = {name: npz[name] for name in npz.files}
        learner = cls()
        learner.load_state_dict(state)
        return learner


def _config(saved: Mapping[str, Any]) -> LearnerConfig:
    """The config a state was saved with, less the settings of parts the learner no longer
    has (an older state's online factors: `factors`, `lr_factors`, `lr_gate`, `init_scale`;
    their arrays are not loaded either)."""
    known = {f.name for f in fields(LearnerConfig)}
    return LearnerConfig(**{name: value for name, value in saved.items() if name in known})


def _showings_x(x: np.ndarray, n: int) -> np.ndarray:
    """The saved showings' features, a row each (of a state with fewer features: widened)."""
    if not n:
        return np.zeros((0, len(FEATURES)))
    return _widen(np.asarray(x).reshape(n, -1))


def _widen(table: np.ndarray) -> np.ndarray:
    """Columns per feature, for a table saved when there were fewer features (they are
    only ever added at the end of FEATURES)."""
    missing = len(FEATURES) - table.shape[1]
    if missing <= 0:
        return table
    return np.hstack([table, np.zeros((table.shape[0], missing), dtype=table.dtype)])


def state_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two state dicts hold the same arrays, bit for bit."""
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
