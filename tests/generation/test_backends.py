"""Backends run the real diffusers load and inference path on tiny models built offline."""

from __future__ import annotations

import gc
import io
import time
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command

from generation.backends import (
    GenerationAborted,
    GenerationSpec,
    WeightsMissing,
    fit_spec,
    get_backend,
    release_backends,
)

FAMILIES = ["tiny-wan", "tiny-ltx"]

SPEC = GenerationSpec(
    prompt="a cat surfing a wave at sunset",
    negative_prompt="blurry",
    width=32,
    height=32,
    num_frames=9,
    fps=8,
    steps=2,
    guidance=3.0,
    seed=7,
)


def run(key: str, spec: GenerationSpec = SPEC) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Generate with `key`, recording every on_step call."""
    steps: list[tuple[int, int]] = []
    frames = get_backend(key).generate(spec, lambda done, total: steps.append((done, total)))
    return frames, steps


@pytest.mark.parametrize("key", FAMILIES)
def test_text_to_video_returns_uint8_frames_of_the_fitted_size(
    tiny_models: dict[str, Path], key: str
) -> None:
    started = time.monotonic()
    frames, steps = run(key)
    elapsed = time.monotonic() - started

    assert frames.shape == (9, 32, 32, 3)
    assert frames.dtype == np.uint8
    assert steps == [(1, 2), (2, 2)]
    assert get_backend(key).pipe.transformer.dtype == torch.float32  # "auto" on CPU
    assert elapsed < 30  # includes the one-off load; tiny models take well under a second


@pytest.mark.parametrize("key", FAMILIES)
def test_the_same_seed_repeats_and_another_seed_differs(
    tiny_models: dict[str, Path], key: str
) -> None:
    first, _ = run(key)
    again, _ = run(key)
    other, _ = run(key, replace(SPEC, seed=8))

    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("key", FAMILIES)
def test_raising_from_on_step_stops_before_the_vae_decode(
    tiny_models: dict[str, Path], key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = get_backend(key)
    decoded: list[Any] = []
    monkeypatch.setattr(backend.pipe.vae, "decode", lambda *a, **k: decoded.append(a))
    steps: list[tuple[int, int]] = []

    def on_step(done: int, total: int) -> None:
        steps.append((done, total))
        raise GenerationAborted("cancelled")

    with pytest.raises(GenerationAborted):
        backend.generate(replace(SPEC, steps=4), on_step)

    assert steps == [(1, 4)]
    assert decoded == []


@pytest.mark.parametrize("key", FAMILIES)
def test_remix_conditions_on_source_frames(tiny_models: dict[str, Path], key: str) -> None:
    rng = np.random.default_rng(0)
    # A source of another length and size: the backend resamples it to the fitted spec.
    source = rng.integers(0, 256, size=(12, 40, 24, 3), dtype=np.uint8)
    spec = replace(SPEC, steps=4, source_frames=source, strength=0.5)

    assert get_backend(key).supports_video_to_video
    frames, steps = run(key, spec)
    again, _ = run(key, spec)
    text_only, _ = run(key, replace(spec, source_frames=None))

    assert frames.shape == (9, 32, 32, 3)
    assert frames.dtype == np.uint8
    # Half the strength keeps half of the schedule.
    assert steps == [(1, 2), (2, 2)]
    assert np.array_equal(frames, again)
    assert not np.array_equal(frames, text_only)


@pytest.mark.parametrize("key", FAMILIES)
def test_a_faint_remix_still_runs_one_step(tiny_models: dict[str, Path], key: str) -> None:
    source = np.full((9, 32, 32, 3), 128, dtype=np.uint8)

    frames, steps = run(key, replace(SPEC, steps=4, source_frames=source, strength=0.05))

    assert frames.shape == (9, 32, 32, 3)
    assert steps == [(1, 1)]


def test_fit_rounds_wan_frames_to_4k_plus_1_and_sizes_to_16(tiny_models: dict[str, Path]) -> None:
    backend = get_backend("tiny-wan")

    assert backend.fit(replace(SPEC, num_frames=10)).num_frames == 9
    assert backend.fit(replace(SPEC, num_frames=12)).num_frames == 13
    assert backend.fit(replace(SPEC, num_frames=81)).num_frames == 81
    assert backend.fit(replace(SPEC, num_frames=1)).num_frames == 1
    fitted = backend.fit(replace(SPEC, width=481, height=850))
    assert (fitted.width, fitted.height) == (480, 848)
    assert backend.fit(replace(SPEC, width=3)).width == 16


def test_fit_rounds_ltx_sizes_to_32(tiny_models: dict[str, Path]) -> None:
    fitted = get_backend("tiny-ltx").fit(replace(SPEC, width=50, height=70, num_frames=10))

    assert (fitted.width, fitted.height) == (64, 64)
    # The tiny LTX VAE compresses time 4x (the real one 8x): frames are 4k+1 here.
    assert fitted.num_frames == 9


@pytest.mark.parametrize("key", FAMILIES)
def test_fit_spec_matches_the_loaded_backend_without_loading(
    tiny_models: dict[str, Path], key: str
) -> None:
    spec = replace(SPEC, width=100, height=180, num_frames=30)
    release_backends()

    cold = fit_spec(key, spec)

    assert cold == get_backend(key).fit(spec)


def test_get_backend_keeps_one_warm_instance(tiny_models: dict[str, Path]) -> None:
    first = get_backend("tiny-wan")

    assert get_backend("tiny-wan") is first
    release_backends()
    assert get_backend("tiny-wan") is not first


def test_loading_another_model_frees_the_one_loaded_before(tiny_models: dict[str, Path]) -> None:
    release_backends()
    wan = get_backend("tiny-wan")
    pipe, transformer = weakref.ref(wan.pipe), weakref.ref(wan.pipe.transformer)
    del wan

    ltx = get_backend("tiny-ltx")
    gc.collect()

    assert pipe() is None and transformer() is None, "tiny-wan's pipeline is still held"
    assert get_backend("tiny-ltx") is ltx, "the model loaded last stays warm"


def test_a_missing_directory_names_the_setting_path_and_layout(
    tiny_models: dict[str, Path], settings: Any, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    settings.RIFF_MODELS = {
        **settings.RIFF_MODELS,
        "wan2.1-t2v-1.3b": {"family": "wan", "label": "Wan 2.1 1.3B", "path": str(missing)},
    }

    with pytest.raises(WeightsMissing) as excinfo:
        get_backend("wan2.1-t2v-1.3b")

    message = str(excinfo.value)
    assert 'RIFF_MODELS["wan2.1-t2v-1.3b"]["path"]' in message
    assert "RIFF_WAN21_PATH" in message
    assert str(missing) in message
    for part in ("model_index.json", "transformer/", "vae/", "text_encoder/", "tokenizer/"):
        assert part in message
    assert "scheduler/" in message
    assert "build_tiny_models" in message


def test_an_incomplete_directory_names_what_is_missing(
    tiny_models: dict[str, Path], settings: Any, tmp_path: Path
) -> None:
    broken = tmp_path / "tiny-wan"
    broken.mkdir()
    (broken / "model_index.json").write_text(
        (tiny_models["tiny-wan"] / "model_index.json").read_text()
    )
    settings.RIFF_MODELS = {
        **settings.RIFF_MODELS,
        "tiny-wan": {**settings.RIFF_MODELS["tiny-wan"], "path": str(broken)},
    }
    release_backends()

    with pytest.raises(WeightsMissing, match=r"missing: .*vae/") as excinfo:
        get_backend("tiny-wan")

    assert "manage.py build_tiny_models --only tiny-wan" in str(excinfo.value)
    release_backends()


def test_build_skips_what_is_built_and_refuses_unknown_keys(tiny_models: dict[str, Path]) -> None:
    out = io.StringIO()
    call_command("build_tiny_models", "--only", "tiny-ltx", stdout=out)

    assert "already built" in out.getvalue()
    with pytest.raises(CommandError, match="not a tiny model"):
        call_command("build_tiny_models", "--only", "wan2.1-t2v-1.3b", stdout=io.StringIO())


def test_options_bf16_cache_and_vae_tiling_apply_and_still_generate(
    tiny_models: dict[str, Path], settings: Any
) -> None:
    settings.RIFF_MODELS = {
        **settings.RIFF_MODELS,
        "tiny-wan-tuned": {
            "family": "wan",
            "label": "Tiny Wan, every option",
            "path": str(tiny_models["tiny-wan"]),
            "dtype": "bfloat16",
            "cache": "first_block",
            "vae_tiling": True,
        },
    }
    backend = get_backend("tiny-wan-tuned")
    source = np.zeros((9, 32, 32, 3), dtype=np.uint8)

    try:
        assert backend.pipe.transformer.dtype == torch.bfloat16
        assert backend.pipe.vae.dtype == torch.float32  # the Wan VAE stays float32
        assert backend.pipe.transformer.is_cache_enabled
        assert backend.pipe.vae.use_tiling
        frames, _ = run("tiny-wan-tuned", replace(SPEC, steps=3))
        remixed, _ = run("tiny-wan-tuned", replace(SPEC, source_frames=source))
        assert frames.shape == remixed.shape == (9, 32, 32, 3)
        # A remix runs uncached (its pipeline has no cache context) and restores the cache.
        assert backend.pipe.transformer.is_cache_enabled
    finally:
        release_backends()
