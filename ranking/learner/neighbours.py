"""The clips nearest a vector by prompt, without reading every clip: a faiss index.

The "similar" and "preference" candidates of For You are the clips whose prompt embeddings
are closest to the viewer's taste and to their written preference. A scan of every clip
(100,000 x 384 floats) takes about 13 ms a query on one core; an inverted-file index with
8-bit codes (faiss `IndexIVFScalarQuantizer`) looks in the `NPROBE` lists nearest the
query: about 0.5 ms, 99% of the scan's top 100 on clustered prompts, and a quarter of the
float embeddings' memory (a byte a number). It is built from the learner's embeddings when
a web process loads a version (on its updater thread, about 0.6 s for 100,000 clips) and
takes each clip told of afterwards; it is never saved (the embeddings are).
Catalogues under `MIN_CLIPS` are scanned: exact, and as quick as the index there.
"""

from __future__ import annotations

import numpy as np

# Below this many clips with embeddings, `nearest_items` scans them all.
MIN_CLIPS = 20_000
# Inverted lists searched per query.
NPROBE = 16


class NearestClips:
    """An approximate inner-product index of unit vectors, by the learner's clip rows."""

    def __init__(self, vectors: np.ndarray, rows: np.ndarray, seed: int = 0) -> None:
        """Index `vectors` (unit length, one per row of `rows`)."""
        import faiss

        # One query is a small job: OpenMP's threads would only add their start-up.
        faiss.omp_set_num_threads(1)
        n, dim = vectors.shape
        lists = int(min(1024, max(16, np.sqrt(n))))
        self._quantizer = faiss.IndexFlatIP(dim)  # kept: the index refers to it
        self.index = faiss.IndexIVFScalarQuantizer(
            self._quantizer, dim, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(n, size=min(n, 64 * lists), replace=False)]
        self.index.train(np.ascontiguousarray(sample, dtype=np.float32))
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), rows)
        self.index.nprobe = NPROBE

    def __len__(self) -> int:
        """Clips indexed."""
        return int(self.index.ntotal)

    def put(self, row: int, vector: np.ndarray, indexed: bool = False) -> None:
        """Index a clip; `indexed`: it was, with another embedding (that one goes)."""
        ids = np.array([row], dtype=np.int64)
        if indexed:
            # Reads every list: rare (a prompt changed). faiss takes the ids as they are.
            self.index.remove_ids(ids)  # type: ignore[arg-type]
        self.index.add_with_ids(np.ascontiguousarray(vector[None], dtype=np.float32), ids)

    def search(self, vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, similarities) of the `n` clips nearest `vector`, nearest first."""
        query = np.ascontiguousarray(vector[None], dtype=np.float32)
        sims, rows = self.index.search(query, n)
        found = rows[0] >= 0
        return rows[0][found], sims[0][found]

    def nbytes(self) -> int:
        """About what the index holds: a byte a number of each clip, and its id."""
        return len(self) * (self.index.d + 8) + self._quantizer.ntotal * self.index.d * 4
