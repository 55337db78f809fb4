"""Training batches drawn ahead by worker processes: the same sequence as drawn in-process."""

from __future__ import annotations

import numpy as np

from generation.house.loader import Batches, render_batch


def test_workers_draw_exactly_the_batches_one_process_draws():
    args = {"seed": 3, "batch_size": 4, "size": 32, "frames": 8}
    with Batches(**args, first=5) as alone:
        expected = [next(alone) for _ in range(5)]
    with Batches(**args, first=5, workers=2, ahead=3) as drawn:
        got = [next(drawn) for _ in range(5)]
    for (frames, captions, layouts), want in zip(got, expected, strict=True):
        assert captions == want[1]
        np.testing.assert_array_equal(frames, want[0])
        np.testing.assert_array_equal(layouts, want[2])
    # Batch n is batch n whoever draws it, and differs from batch n + 1.
    frames, captions, layouts = render_batch(3, 6, 4, 32, 8)
    np.testing.assert_array_equal(frames, expected[1][0])
    assert captions != expected[2][1]
    assert frames.shape == (4, 8, 32, 32, 3) and frames.dtype == np.uint8
    assert layouts.shape == (4, 2, 3)
