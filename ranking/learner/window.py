"""The learner's per-pair memory, bounded: recent showings, and each viewer's creators.

What the learner keeps per (viewer, clip) and per (viewer, creator) pair would otherwise grow
with history, not with the population: a record for every showing ever made (about 790
bytes each, 1.5 GB a process at 2 million events). So:

- `Exposures` keeps a showing only while it can still be engaged with: for the config's
  `exposure_window_s` of the event clock, 6 hours by default. The player sends a showing's
  events within seconds (every 5 s, and again while the page is open if a send fails), so
  a For You session's events all fall well within it; the events API takes them for a day
  (ranking/intake.py), and one that comes later than the window (a like from a profile
  page hours on) is learnt as a fresh showing, as one about a showing never logged always
  was. Rows of numpy arrays and one small dict entry each: about 230 bytes a showing, so
  1 million showings a day keep about 60 MB.
- `Affinity` keeps, per viewer, at most `affinity_per_viewer` creators (a new one takes
  the place of the one with the weakest decayed engagement), as one small array per
  viewer: 24 bytes a pair. The cap changes neither like AUC nor NDCG measurably (the
  bench's log, the simulated population of tests/ranking/test_learner.py).

Both are deterministic in the event stream (the clock is the events', never the wall's),
so a retrain and a web process that read the same events hold the same state.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator

import numpy as np

# Bits of a (viewer row, clip row) key: rows stay far below 2**32.
_SHIFT = 32


def _key(v: int, i: int) -> int:
    return (v << _SHIFT) | i


class Exposures:
    """Showings still open to engagement: (viewer row, clip row) -> the features the clip
    had when shown, the heads counted positive since, and how many times it was shown."""

    def __init__(self, features: int) -> None:
        """Empty; rows are allocated as showings come."""
        self._slot: dict[int, int] = {}
        # Slots in the order they were filled (about time order); a superseded slot stays
        # until it reaches the front, then it is free for reuse.
        self._order: deque[int] = deque()
        self._free: list[int] = []
        self._used = 0
        self.key = np.zeros(0, dtype=np.int64)  # -1: free or superseded
        self.ts = np.zeros(0)
        self.mask = np.zeros(0, dtype=np.int64)
        self.shown = np.zeros(0, dtype=np.int64)
        # float32: the features a later like corrects; half the bytes, same learning.
        self.x = np.zeros((0, features), dtype=np.float32)

    def __len__(self) -> int:
        """Showings held (some may be past the window until the next eviction)."""
        return len(self._slot)

    def find(self, v: int, i: int, since: float) -> int:
        """The slot of the viewer's showing of the clip at or after `since`, or -1."""
        slot = self._slot.get(_key(v, i))
        if slot is None or self.ts[slot] < since:
            return -1
        return slot

    def shown_of(self, v: int, rows: list[int], since: float) -> np.ndarray:
        """How many times each clip (by row) was shown to the viewer, within the window."""
        get, ts, shown = self._slot.get, self.ts, self.shown
        out = np.zeros(len(rows))
        base = v << _SHIFT
        for n, row in enumerate(rows):
            slot = get(base | row)
            if slot is not None and ts[slot] >= since:
                out[n] = shown[slot]
        return out

    def add(self, v: int, i: int, x: np.ndarray, ts: float, since: float) -> int:
        """Record a new showing (counting an earlier one within the window); its slot."""
        key = _key(v, i)
        previous = self._slot.get(key)
        shown = 1
        if previous is not None:
            if self.ts[previous] >= since:
                shown += int(self.shown[previous])
            self.key[previous] = -1  # superseded: freed when it reaches the front
        slot = self._take()
        self.key[slot] = key
        self.ts[slot] = ts
        self.mask[slot] = 0
        self.shown[slot] = shown
        self.x[slot] = x
        self._slot[key] = slot
        self._order.append(slot)
        return slot

    def features(self, slot: int) -> np.ndarray:
        """The features the clip had when shown (float64, as the model computes)."""
        return self.x[slot].astype(np.float64)

    def evict(self, since: float) -> None:
        """Forget the showings made before `since`, oldest first."""
        order, key, ts = self._order, self.key, self.ts
        while order:
            slot = order[0]
            k = int(key[slot])
            if k != -1 and ts[slot] >= since:
                return
            order.popleft()
            if k != -1:
                del self._slot[k]
                key[slot] = -1
            self._free.append(slot)

    def forget_viewer(self, v: int) -> None:
        """Forget every showing to this viewer (a reset)."""
        for k in [k for k in self._slot if k >> _SHIFT == v]:
            self.key[self._slot.pop(k)] = -1

    def _take(self) -> int:
        if self._free:
            return self._free.pop()
        slot = self._used
        self._used += 1
        if slot >= self.key.size:
            grow = max(1024, self.key.size // 2)
            self.key = np.concatenate([self.key, np.full(grow, -1, dtype=np.int64)])
            self.ts = np.concatenate([self.ts, np.zeros(grow)])
            self.mask = np.concatenate([self.mask, np.zeros(grow, dtype=np.int64)])
            self.shown = np.concatenate([self.shown, np.zeros(grow, dtype=np.int64)])
            self.x = np.concatenate([self.x, np.zeros((grow, self.x.shape[1]), np.float32)])
        return slot

    def _live(self, since: float) -> Iterator[int]:
        for slot in self._order:
            if self.key[slot] != -1 and self.ts[slot] >= since:
                yield slot

    def arrays(self, since: float) -> dict[str, np.ndarray]:
        """The showings within the window, in the order made, as arrays (for saving)."""
        slots = np.fromiter(self._live(since), dtype=np.int64)
        keys = self.key[slots]
        return {
            "exposure_keys": np.stack([keys >> _SHIFT, keys & ((1 << _SHIFT) - 1)], axis=1),
            "exposure_vals": np.stack([self.mask[slots], self.shown[slots]], axis=1),
            "exposure_x": self.x[slots].astype(np.float64),
            "exposure_ts": self.ts[slots].copy(),
        }

    @classmethod
    def from_arrays(
        cls, keys: np.ndarray, vals: np.ndarray, x: np.ndarray, ts: np.ndarray
    ) -> Exposures:
        """The showings `arrays` gave."""
        exposures = cls(x.shape[1])
        n = len(keys)
        exposures._used = n
        exposures.key = (keys[:, 0].astype(np.int64) << _SHIFT) | keys[:, 1].astype(np.int64)
        exposures.ts = np.asarray(ts, dtype=np.float64).copy()
        exposures.mask = vals[:, 0].astype(np.int64)
        exposures.shown = vals[:, 1].astype(np.int64)
        exposures.x = x.astype(np.float32)
        exposures._slot = dict(zip(exposures.key.tolist(), range(n), strict=True))
        exposures._order = deque(range(n))
        return exposures

    def nbytes(self) -> int:
        """Bytes held: the arrays, the index and the order."""
        arrays = sum(a.nbytes for a in (self.key, self.ts, self.mask, self.shown, self.x))
        # Each index entry also holds its key and slot as Python ints.
        index = sys.getsizeof(self._slot) + len(self._slot) * (2 * sys.getsizeof(2**40))
        return arrays + index + sys.getsizeof(self._order) + sys.getsizeof(self._free)


def _find(rows: np.ndarray, a: int) -> int:
    """The row of creator `a` in a viewer's affinity rows, or -1 (a list's index is the
    quickest look-up in a few dozen)."""
    try:
        return rows[:, 0].tolist().index(a)
    except ValueError:
        return -1


class Affinity:
    """Each viewer's decayed engagement with creators: rows of (creator row, value, time)
    in one small array per viewer, at most `cap` creators each."""

    def __init__(self, half_life_s: float, cap: int) -> None:
        """Empty."""
        self.half_life_s = half_life_s
        self.cap = cap
        self._rows: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        """(viewer, creator) pairs held."""
        return sum(len(rows) for rows in self._rows.values())

    def __contains__(self, v: int) -> bool:
        """Whether the viewer has engaged with any creator."""
        return v in self._rows

    def _decayed(self, rows: np.ndarray, now: float) -> np.ndarray:
        return rows[:, 1] * np.exp2(-np.maximum(now - rows[:, 2], 0.0) / self.half_life_s)

    def values(self, v: int, authors: np.ndarray, now: float) -> np.ndarray:
        """The viewer's affinity with each creator (by row), decayed to `now`."""
        out = np.zeros(len(authors))
        rows = self._rows.get(v)
        if rows is None:
            return out
        match = np.asarray(authors, dtype=np.float64)[:, None] == rows[None, :, 0]
        return match.astype(np.float64) @ self._decayed(rows, now)

    def value(self, v: int, a: int, now: float) -> float:
        """`values` for one creator."""
        rows = self._rows.get(v)
        at = -1 if rows is None else _find(rows, a)
        if rows is None or at < 0:
            return 0.0
        value, ts = rows[at, 1:].tolist()
        return float(value * 2.0 ** (-max(now - ts, 0.0) / self.half_life_s))

    def add(self, v: int, a: int, signal: float, ts: float) -> None:
        """Decay the viewer's affinity with the creator to `ts`, then add `signal`."""
        rows = self._rows.get(v)
        if rows is None:
            self._rows[v] = np.array([[a, signal, ts]], dtype=np.float64)
            return
        at = _find(rows, a)
        if at >= 0:
            value, then = rows[at, 1:].tolist()
            decay = 2.0 ** (-max(ts - then, 0.0) / self.half_life_s)
            rows[at, 1:] = (value * decay + signal, ts)
            return
        if len(rows) >= self.cap:
            # The weakest goes, never the one just engaged with: the next page must show it.
            rows = np.delete(rows, int(np.argmin(np.abs(self._decayed(rows, ts)))), axis=0)
        self._rows[v] = np.concatenate([rows, [[a, signal, ts]]])

    def forget(self, v: int) -> None:
        """Forget the viewer's creators (a reset)."""
        self._rows.pop(v, None)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every pair as arrays (for saving), viewer by viewer in the order first seen."""
        if not self._rows:
            return {
                "affinity_keys": np.zeros((0, 2), dtype=np.int64),
                "affinity_vals": np.zeros((0, 2)),
            }
        viewers = np.concatenate([np.full(len(r), v) for v, r in self._rows.items()])
        rows = np.concatenate(list(self._rows.values()))
        return {
            "affinity_keys": np.stack([viewers, rows[:, 0]], axis=1).astype(np.int64),
            "affinity_vals": rows[:, 1:].copy(),
        }

    @classmethod
    def from_arrays(
        cls, keys: np.ndarray, vals: np.ndarray, half_life_s: float, cap: int, now: float
    ) -> Affinity:
        """The pairs `arrays` gave (a state saved before the cap keeps its strongest)."""
        affinity = cls(half_life_s, cap)
        if not len(keys):
            return affinity
        viewers = keys[:, 0]
        starts = np.flatnonzero(np.r_[True, viewers[1:] != viewers[:-1]])
        ends = np.r_[starts[1:], len(viewers)]
        table = np.column_stack([keys[:, 1].astype(np.float64), vals])
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            v = int(viewers[start])
            rows = table[start:end]
            if v in affinity._rows:
                rows = np.concatenate([affinity._rows[v], rows])
            if len(rows) > cap:
                strongest = np.argsort(-np.abs(affinity._decayed(rows, now)), kind="stable")
                rows = rows[np.sort(strongest[:cap])]
            affinity._rows[v] = rows.copy()
        return affinity

    def nbytes(self) -> int:
        """Bytes held: the arrays and the index."""
        return sys.getsizeof(self._rows) + sum(
            sys.getsizeof(rows) + sys.getsizeof(2**40) for rows in self._rows.values()
        )
