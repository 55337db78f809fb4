"""Training batches for the house model, drawn ahead in worker processes.

Batch `n` of a run is a pure function of the run's seed and `n` (`render_batch`), so any
number of processes can draw batches out of order and the trainer still sees exactly the
sequence one process would give: a run's weights do not depend on how many workers drew its
data. Drawing is numpy (no torch): a 64x64x16 batch of 32 takes about 0.3 s on one core,
several times a GPU's training step, so without workers the GPU would mostly wait.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from .scenes import train_batches
from .specs import Array

Batch = tuple[Array, list[str], Array]


def step_seed(seed: int, step: int, stream: int) -> int:
    """A seed for one random stream of one step, independent of every other."""
    return int(np.random.SeedSequence([seed, step, stream]).generate_state(1)[0])


def render_batch(seed: int, step: int, batch_size: int, size: int, frames: int) -> Batch:
    """The training batch of step `step` of a run seeded `seed` (its own stream of scenes,
    so any step can be drawn alone): frames (B, T, H, W, 3) uint8, captions and layouts."""
    return next(train_batches(step_seed(seed, step, 0), batch_size, size, frames))


class Batches:
    """Batches `first`, `first + 1`, ... of a run, drawn by `workers` processes, at most
    `ahead` batches in advance (0 workers: drawn in this process when asked for)."""

    def __init__(
        self,
        *,
        seed: int,
        batch_size: int,
        size: int,
        frames: int,
        first: int = 0,
        workers: int = 0,
        ahead: int | None = None,
    ) -> None:
        """Start the workers and queue the first batches."""
        self._args = (seed, batch_size, size, frames)
        self._next = first  # the next step to hand out
        self._queued = first  # the next step to queue
        self._ahead = max(1, ahead if ahead is not None else 2 * workers)
        self._pending: deque[Future[Batch]] = deque()
        self._pool = (
            # "spawn": the trainer holds torch's threads, which a fork would copy half-made.
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            if workers > 0
            else None
        )
        self._fill()

    def _fill(self) -> None:
        if self._pool is None:
            return
        while len(self._pending) < self._ahead:
            seed, batch_size, size, frames = self._args
            job = self._pool.submit(render_batch, seed, self._queued, batch_size, size, frames)
            self._pending.append(job)
            self._queued += 1

    def __iter__(self) -> Iterator[Batch]:
        """Endless batches, in step order."""
        return self

    def __next__(self) -> Batch:
        """The next step's batch."""
        step = self._next
        self._next += 1
        if self._pool is None:
            seed, batch_size, size, frames = self._args
            return render_batch(seed, step, batch_size, size, frames)
        batch = self._pending.popleft().result()
        self._fill()
        return batch

    def close(self) -> None:
        """Stop the workers (batches drawn ahead are dropped)."""
        if self._pool is not None:
            for future in self._pending:
                future.cancel()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._pending.clear()

    def __enter__(self) -> Batches:
        """Itself; closed on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close it."""
        self.close()
