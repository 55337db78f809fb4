"""Saving and loading a learner: its whole state as numpy arrays, and as one .npz file.

A mixin of `Learner` (kept apart from the model's arithmetic). A saved state loads back
into exactly the learner it was taken from, bit for bit (`state_equal`), with no pickles.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, Self

import numpy as np

from .vocabulary import FEATURES, LearnerConfig, _Exposure, _Ids


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
    _affinity: dict[int, dict[int, list[float]]]
    _exposures: dict[tuple[int, int], _Exposure]
    _dim: int
    tot_imps: float
    clock: float

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
        affinity = [
            (v, a, val, ts) for v, d in self._affinity.items() for a, (val, ts) in d.items()
        ]
        state["affinity_keys"] = np.array(
            [(v, a) for v, a, _, _ in affinity], dtype=np.int64
        ).reshape(-1, 2)
        state["affinity_vals"] = np.array([(val, ts) for _, _, val, ts in affinity]).reshape(-1, 2)
        state["exposure_keys"] = np.array(list(self._exposures), dtype=np.int64).reshape(-1, 2)
        state["exposure_vals"] = np.array(
            [(e.mask, e.shown) for e in self._exposures.values()], dtype=np.int64
        ).reshape(-1, 2)
        state["exposure_x"] = np.array(
            [e.x for e in self._exposures.values()], dtype=np.float64
        ).reshape(-1, len(FEATURES))
        state["viewer_ids"] = np.array(self._viewers.ids, dtype=str)
        state["item_ids"] = np.array(self._items.ids, dtype=str)
        state["author_ids"] = np.array(self._authors.ids, dtype=str)
        state["scalars"] = np.array([self.tot_imps, self.clock, self._dim], dtype=np.float64)
        state["config"] = np.array(json.dumps(asdict(self.config), sort_keys=True))
        return state

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Become exactly the learner that `state_dict` was taken from."""
        self.config = LearnerConfig(**json.loads(str(state["config"])))
        for name in self._ARRAYS:
            setattr(self, name, np.array(state[name], copy=True))
        self._viewers = _Ids(ids=[str(x) for x in state["viewer_ids"]])
        self._items = _Ids(ids=[str(x) for x in state["item_ids"]])
        self._authors = _Ids(ids=[str(x) for x in state["author_ids"]])
        for ids in (self._viewers, self._items, self._authors):
            ids.index = {key: row for row, key in enumerate(ids.ids) if row}
        self.tot_imps, self.clock, dim = (float(x) for x in state["scalars"])
        self._dim = int(dim)
        self._affinity = {}
        for (v, a), (val, ts) in zip(
            state["affinity_keys"].tolist(), state["affinity_vals"].tolist(), strict=True
        ):
            self._affinity.setdefault(v, {})[a] = [val, ts]
        self._exposures = {
            (v, i): _Exposure(x=x.copy(), mask=mask, shown=shown)
            for (v, i), (mask, shown), x in zip(
                state["exposure_keys"].tolist(),
                state["exposure_vals"].tolist(),
                state["exposure_x"],
                strict=True,
            )
        }

    def to_bytes(self) -> bytes:
        """The state as one .npz file's bytes (no pickles), for saving a version."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **self.state_dict())  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """A learner from `to_bytes` output."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            state = {name: npz[name] for name in npz.files}
        learner = cls()
        learner.load_state_dict(state)
        return learner


def state_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two state dicts hold the same arrays, bit for bit."""
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
