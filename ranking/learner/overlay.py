"""Scoring clips the learner holds no row for, without giving them one.

`Learner.set_item_info` gives a new clip a row, which writes to the learner; a read (a For
You page, "why am I seeing this?") must not, yet should score a clip posted since the last
event exactly as it will be scored once it has a row. So the rows such clips would get are
built here, as `set_item_info` builds them, and read in place of row 0 ("unknown").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .vocabulary import Infos

if TYPE_CHECKING:
    from .model import Learner


class ItemSide:
    """The item tables' rows one read takes, per candidate, with overlaid clips filled in."""

    def __init__(
        self, rows: np.ndarray, at: Sequence[int] = (), fills: dict[str, np.ndarray] | None = None
    ) -> None:
        """`rows` of the learner's tables; the candidates at `at` read `fills` instead."""
        self.rows = rows
        self.at = np.asarray(at, dtype=np.int64)
        self.fills = fills or {}

    def take(self, table: np.ndarray, name: str) -> np.ndarray:
        """`table[rows]` (a copy), with the overlaid candidates' values of `name` in place."""
        values = table[self.rows]
        if self.at.size:
            fill = self.fills[name]
            if values.shape[1:] != fill.shape[1:]:
                # Embeddings, when the learner has seen none yet: its own rows have none.
                values = np.zeros((self.rows.size, *fill.shape[1:]), dtype=values.dtype)
            values[self.at] = fill
        return values

    def take_author(self, table: np.ndarray, authors: np.ndarray) -> np.ndarray:
        """`table[authors]`, with zeros for authors the learner has not seen (row -1)."""
        if not self.at.size:
            return table[authors]
        values = table[np.maximum(authors, 0)]
        values[authors < 0] = 0
        return values

    @property
    def held(self) -> np.ndarray:
        """Whether each candidate has a row, in the learner or in the overlay."""
        held = self.rows > 0
        held[self.at] = True
        return held


def item_side(learner: Learner, items: Sequence[str], extra: Infos | None) -> ItemSide:
    """The rows of `items` in the learner; `extra` infos of clips it has none for fill in."""
    rows = learner._items.rows(items)
    if not extra:
        return ItemSide(rows)
    at = [p for p, row in enumerate(rows.tolist()) if row == 0 and items[p] in extra]
    if not at:
        return ItemSide(rows)
    n, dim = len(at), learner._dim
    vectors: list[np.ndarray | None] = []
    for p in at:
        embedding = extra[items[p]].embedding
        vector = None if embedding is None else np.asarray(embedding, dtype=np.float64).ravel()
        if vector is not None:
            dim = dim or vector.size
            if vector.size != dim:
                raise ValueError(f"embedding of {items[p]!r} has {vector.size} values, not {dim}")
        vectors.append(vector)
    fills = {
        "item_author": np.full(n, -1, dtype=np.int64),  # -1: an author with no row either
        "item_created": np.full(n, np.inf),  # unknown creation: brand new, as a new row
        "item_emb": np.zeros((n, dim), dtype=learner.item_emb.dtype),
        "item_has_emb": np.zeros(n, dtype=bool),
    }
    for name in ("bi", "item_imps", "item_cnt", "item_pop", "item_pop_ts", "cf_Q"):
        table = getattr(learner, name)
        fills[name] = np.zeros((n, *table.shape[1:]), dtype=table.dtype)
    for k, (p, vector) in enumerate(zip(at, vectors, strict=True)):
        info = extra[items[p]]
        if info.author is not None:
            fills["item_author"][k] = learner._authors.index.get(info.author, -1)
        if info.created is not None:
            fills["item_created"][k] = float(info.created)
        norm = 0.0 if vector is None else float(np.linalg.norm(vector))
        if vector is not None and norm > 0:
            fills["item_emb"][k] = vector / norm
            fills["item_has_emb"][k] = True
            fills["cf_Q"][k] = learner.content_factors(fills["item_emb"][k : k + 1])[0]
    return ItemSide(rows, at, fills)
