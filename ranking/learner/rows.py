"""How the learner gives ids rows: viewers, clips and authors, each a row of growing arrays.

A mixin of `Learner` (kept apart from the model's arithmetic). Rows are never shared: a new
id gets the next row, so a state reloads and re-trains identically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .neighbours import NearestClips
from .vocabulary import EMBEDDING, ItemInfo, _Ids, locked


class LearnerRows:
    """Rows for ids, and what the learner is told about clips."""

    # Set by Learner; declared for the type checker.
    _viewers: _Ids
    _items: _Ids
    _authors: _Ids
    _dim: int
    config: Any
    lock: threading.RLock
    taste: np.ndarray
    session: np.ndarray
    item_author: np.ndarray
    item_created: np.ndarray
    item_given_created: np.ndarray
    item_emb: np.ndarray
    item_has_emb: np.ndarray
    _forget_folds: Callable[[int], None]
    _content_factors: Callable[[int], None]
    _neighbours: NearestClips | None

    _VIEWER_ARRAYS: tuple[str, ...] = (
        "bu",
        "taste",
        "taste_w",
        "session",
        "session_ts",
        "cf_P",
        "cf_M",
        "cf_b",
    )
    _ITEM_ARRAYS: tuple[str, ...] = (
        "bi",
        "item_author",
        "item_created",
        "item_given_created",
        "item_emb",
        "item_has_emb",
        "item_imps",
        "item_cnt",
        "item_pop",
        "item_pop_ts",
        "cf_Q",
    )
    _AUTHOR_ARRAYS: tuple[str, ...] = ("author_imps", "author_cnt")

    def _grow(self, names: Sequence[str], rows: int) -> None:
        for name in names:
            array = getattr(self, name)
            if array.shape[0] < rows:
                # By an eighth (not double): a table of 100,000 clips' embeddings is 150 MB,
                # and a first new clip after loading one must not make it 300. Growing stays
                # amortised constant time per row.
                size = max(rows, array.shape[0] + max(256, array.shape[0] // 8))
                extra = np.zeros((size - array.shape[0], *array.shape[1:]))
                if name == "item_created":
                    extra[:] = np.inf
                setattr(self, name, np.concatenate([array, extra.astype(array.dtype)]))

    def _new_row(self, ids: _Ids, key: str, arrays: Sequence[str]) -> int:
        """Give `key` the next row of `ids`, growing `arrays` to hold it."""
        row = len(ids.ids)
        ids.index[key] = row
        ids.ids.append(key)
        self._grow(arrays, row + 1)
        return row

    def _viewer_row(self, viewer: str) -> int:
        if not viewer:
            return 0  # signed out: item statistics learn, no personal parameters do
        row = self._viewers.index.get(viewer)
        if row is None:
            row = self._new_row(self._viewers, viewer, self._VIEWER_ARRAYS)
            self._forget_folds(row)  # the inverse of its collaborative normal equations
        return row

    def _author_row(self, author: str) -> int:
        row = self._authors.index.get(author)
        if row is None:
            row = self._new_row(self._authors, author, self._AUTHOR_ARRAYS)
        return row

    def _item_row(self, item: str, author: str | None = None) -> int:
        row = self._items.index.get(item)
        if row is None:
            row = self._new_row(self._items, item, self._ITEM_ARRAYS)
            # Until told otherwise, a clip is its own author (so creator standing is its own);
            # a clip told of with its author never takes a row of its own there.
            self.item_author[row] = self._author_row("\0" + item if author is None else author)
        return row

    @locked
    def set_item_info(self, item: str, info: ItemInfo) -> None:
        """Record a clip's author, creation time and prompt embedding (each optional)."""
        row = self._item_row(item, info.author)
        if info.author is not None:
            self.item_author[row] = self._author_row(info.author)
        if info.created is not None:
            self.item_created[row] = float(info.created)
            self.item_given_created[row] = True
        if info.embedding is not None:
            vector = np.asarray(info.embedding, dtype=np.float64).ravel()
            if self._dim == 0:
                self._dim = vector.size
                # float16 (unit vectors: three decimals, ample for a cosine): a catalogue of
                # 100,000 clips keeps 77 MB of embeddings, not 154 (float32) or 307.
                self.item_emb = np.zeros((self.item_emb.shape[0], self._dim), dtype=EMBEDDING)
                self.taste = np.zeros((self.taste.shape[0], self._dim), dtype=np.float32)
                self.session = np.zeros((self.session.shape[0], self._dim), dtype=np.float32)
            if vector.size != self._dim:
                raise ValueError(f"embedding of {item!r} has {vector.size} values, not {self._dim}")
            norm = float(np.linalg.norm(vector))
            if norm > 0:
                indexed = bool(self.item_has_emb[row])
                self.item_emb[row] = vector / norm
                self.item_has_emb[row] = True
                self._content_factors(row)
                if self._neighbours is not None:
                    self._neighbours.put(row, self.item_emb[row], indexed)

    @property
    @locked
    def viewers(self) -> list[str]:
        """Known viewer ids."""
        return self._viewers.ids[1:]

    @property
    @locked
    def items(self) -> list[str]:
        """Known clip ids."""
        return self._items.ids[1:]
