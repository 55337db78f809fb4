"""Frame-to-frame tracking of the house model's clips against the real rendered ones."""

from __future__ import annotations

import numpy as np
import pytest

from generation.house.render import render
from generation.house.specs import ObjectSpec, Sample, SceneSpec
from generation.house.tracking import TrackingTally, compare, track

RIGHT = SceneSpec("sky", (ObjectSpec("red", "square", "small"),), "right", seed=1)
GROWING = SceneSpec("grass", (ObjectSpec("blue", "circle"),), "growing", seed=2)


def test_a_real_clip_travels_the_captioned_way_and_matches_itself() -> None:
    real = render(RIGHT)

    figures = compare(real, real, RIGHT)

    assert figures["travel"] == figures["real_travel"]
    assert figures["travel"] is not None and figures["travel"] > 8
    assert figures["area_ratio"] == 1.0
    assert figures["change"] == figures["real_change"]
    # Reversed in time, the same clip goes the wrong way.
    backwards = compare(real[::-1], real, RIGHT)
    assert backwards["travel"] == pytest.approx(-figures["travel"])


def test_a_still_clip_neither_travels_nor_changes() -> None:
    real = render(RIGHT)
    still = np.repeat(real[:1], len(real), axis=0)

    figures = compare(still, real, RIGHT)

    assert figures["travel"] == 0.0
    assert figures["change"] == 0.0
    assert figures["real_change"] is not None and figures["real_change"] > 0


def test_a_growing_object_grows_and_an_empty_clip_has_no_object() -> None:
    real = render(GROWING)

    figures = compare(real, real, GROWING)
    assert figures["growth"] is not None and figures["growth"] > 2
    assert figures["travel"] is None  # growing has no direction

    background = np.broadcast_to(real[:, :, :1], real.shape).copy()
    assert np.isnan(track(background).centroids).all()
    assert compare(background, real, GROWING)["found"] == 0.0


def test_the_tally_leaves_two_object_clips_out_and_sums_up() -> None:
    tally = TrackingTally()
    real = render(RIGHT)
    two = SceneSpec("sky", (ObjectSpec("red", "square"), ObjectSpec("white", "circle")), "up")

    tally.add(real, Sample(real, "a red square moving right", RIGHT))
    tally.add(render(two), Sample(render(two), "two", two))
    summary = tally.summary()

    assert summary["clips"] == 1
    assert summary["travel"] == summary["real_travel"] > 8
    assert summary["right_way"] == 1.0
    assert summary["area_ratio"] == 1.0
