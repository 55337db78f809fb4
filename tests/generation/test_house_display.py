"""House clips for display: frame counts per duration, blending in time, upscaling and framing."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings

from generation.backends.house import display_fit
from generation.house.display import (
    display_frames,
    interpolate_frames,
    max_display_frames,
    model_frames,
)
from generation.house.render import render
from generation.house.specs import ObjectSpec, SceneSpec
from generation.runner import spec_for


def clip() -> np.ndarray:
    """A rendered 32x32x8 training scene: a red square moving right in the sky."""
    return render(SceneSpec("sky", (ObjectSpec("red", "square", "big"),), "right", seed=1))


def job_spec(**overrides: Any) -> Any:
    """The spec a riff-house job with these settings runs, fitted for the house model."""
    params: dict[str, Any] = {
        "model_key": "riff-house",
        "prompt": "a red square moving right",
        "aspect": "9:16",
        "duration_s": 2.0,
        "steps": 20,
        "guidance": 4.0,
        "seed": 0,
        **overrides,
    }
    return display_fit(spec_for(**params), 8)


def test_a_two_second_job_is_eight_model_frames_shown_at_24_fps() -> None:
    spec = job_spec()

    assert settings.RIFF_DEFAULT_MODEL == "riff-house"
    assert (spec.width, spec.height, spec.fps, spec.num_frames) == (512, 912, 24, 48)
    assert model_frames(spec.num_frames, spec.fps, 8) == 8
    # Longer requests are cut to the model's 2 seconds; shorter ones sample fewer frames.
    assert job_spec(duration_s=10.0).num_frames == 48 == max_display_frames(8, 24)
    assert model_frames(job_spec(duration_s=1.0).num_frames, 24, 8) == 4
    assert model_frames(job_spec(duration_s=0.5).num_frames, 24, 8) == 2
    assert (job_spec(aspect="16:9").width, job_spec(aspect="1:1").height) == (912, 512)


def test_interpolation_keeps_the_ends_and_blends_between() -> None:
    frames = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (0, 100, 200)])

    smooth = interpolate_frames(frames, 5)

    assert [int(f[0, 0, 0]) for f in smooth] == [0, 50, 100, 150, 200]
    assert np.array_equal(interpolate_frames(frames[:1], 3), np.repeat(frames[:1], 3, axis=0))


def test_a_vertical_display_frame_centres_the_clip_on_a_darker_fill() -> None:
    model = clip()

    video = display_frames(model, width=512, height=912, num_frames=48)

    assert video.shape == (48, 912, 512, 3) and video.dtype == np.uint8
    top = (912 - 512) // 2
    square = video[:, top : top + 512]
    # Box-filtered back to the model's size, the square is the model's clip again.
    small = square[::47].reshape(2, 32, 16, 32, 16, 3).mean(axis=(2, 4))
    assert np.abs(small - model[[0, -1]].astype(float)).mean() < 6
    # The fill above and below is the clip's own colours, blurred and darkened.
    assert video[:, :top].mean() < 0.8 * square.mean()
    assert video[:, :top].mean() > 0.3 * square.mean()


def test_square_and_wide_display_frames() -> None:
    model = clip()

    assert display_frames(model, width=512, height=512, num_frames=8).shape == (8, 512, 512, 3)
    wide = display_frames(model, width=912, height=512, num_frames=3)
    assert wide.shape == (3, 512, 912, 3)
