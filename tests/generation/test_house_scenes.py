"""The house model's procedural scenes: reproducible, captioned, split (no database)."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from generation.house.captions import (
    BACKGROUND_WORDS,
    COLOUR_WORDS,
    HELD_OUT_TEMPLATES,
    MOTION_WORDS,
    SHAPE_WORDS,
    TRAIN_TEMPLATES,
    make_caption,
    parse_caption,
)
from generation.house.render import render
from generation.house.scenes import held_out_samples, train_batches, train_samples
from generation.house.specs import (
    BACKGROUNDS,
    HELD_OUT_COLOUR_SHAPE,
    HELD_OUT_SHAPE_MOTION,
    MOTIONS,
    ROUND_SHAPES,
    SHAPES,
    ObjectSpec,
    SceneSpec,
    held_out_specs,
    is_held_out,
    random_spec,
    train_specs,
    visible,
)


def consistent(parsed: SceneSpec, spec: SceneSpec) -> bool:
    """A parsed caption states the spec, except sizes it may leave out."""
    return (
        parsed.background == spec.background
        and parsed.motion == spec.motion
        and len(parsed.objects) == len(spec.objects)
        and all(
            p.colour == o.colour and p.shape == o.shape and p.size in (None, o.size)
            for p, o in zip(parsed.objects, spec.objects, strict=True)
        )
    )


@pytest.mark.parametrize(("size", "frames"), [(32, 8), (64, 16)])
def test_render_is_uint8_and_reproducible(size: int, frames: int) -> None:
    spec = held_out_specs("seen", 1, seed=4)[0]
    clip = render(spec, size, frames)
    assert clip.shape == (frames, size, size, 3)
    assert clip.dtype == np.uint8
    assert np.array_equal(clip, render(spec, size, frames))
    other = SceneSpec(spec.background, spec.objects, spec.motion, spec.seed + 1)
    assert not np.array_equal(clip, render(other, size, frames))


def test_render_draws_an_anti_aliased_object_on_a_textured_background() -> None:
    spec = SceneSpec("sky", (ObjectSpec("red", "star", "big"),), "spinning", seed=1)
    clip = render(spec, 32, 8).astype(int)
    red = (clip[..., 0] > 150) & (clip[..., 1] < 80)
    assert 40 < red[0].sum() < 300
    # Edge pixels are blends, neither red nor sky.
    blends = (clip[0, ..., 0] > 90) & (clip[0, ..., 0] < 190) & (clip[0, ..., 2] < 200)
    assert blends.sum() >= 5
    border = clip[0, :, :2]
    assert border[:8].mean(axis=(0, 1))[2] > 200  # blue sky at the top
    assert border.std() > 5  # a gradient and grain, not one flat colour


def test_train_stream_is_reproducible_from_its_seed() -> None:
    first = next(train_batches(seed=3, batch_size=4))
    again = next(train_batches(seed=3, batch_size=4))
    other = next(train_batches(seed=4, batch_size=4))
    assert first[0].shape == (4, 8, 32, 32, 3)
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    assert first[1] != other[1]
    assert list(itertools.islice(train_specs(9), 50)) == list(itertools.islice(train_specs(9), 50))


def test_held_out_combinations_never_appear_in_training() -> None:
    specs = list(itertools.islice(train_specs(seed=0), 4000))
    assert not any(is_held_out(s) for s in specs)
    pairs = {(o.colour, o.shape) for s in specs for o in s.objects}
    assert not pairs & HELD_OUT_COLOUR_SHAPE
    assert not {(o.shape, s.motion) for s in specs for o in s.objects} & HELD_OUT_SHAPE_MOTION
    # Everything else is covered: every background, motion, shape and most colour pairs.
    assert {s.background for s in specs} == set(BACKGROUNDS)
    assert {s.motion for s in specs} == set(MOTIONS)
    assert {o.shape for s in specs for o in s.objects} == set(SHAPES)
    assert len(pairs) == len(COLOUR_WORDS) * len(SHAPES) - len(HELD_OUT_COLOUR_SHAPE)
    assert {len(s.objects) for s in specs} == {1, 2}


def test_specs_are_visible_and_well_formed() -> None:
    rng = np.random.default_rng(5)
    for _ in range(3000):
        spec = random_spec(rng)
        assert spec.background is not None
        assert all(visible(o.colour, spec.background) for o in spec.objects)
        assert not (spec.motion == "spinning" and spec.objects[0].shape in ROUND_SHAPES)
        if len(spec.objects) == 2:
            assert spec.objects[0].colour != spec.objects[1].colour
        for o in spec.objects:
            assert (o.size is None) == (spec.motion == "growing")
    assert not visible("black", "night") and not visible("white", "white")
    assert not visible("green", "grass")


def test_held_out_specs_split_by_kind_and_are_reproducible() -> None:
    unseen = held_out_specs("unseen", 200, seed=1)
    seen = held_out_specs("seen", 200, seed=1)
    assert len(unseen) == len(seen) == 200
    assert all(is_held_out(s) for s in unseen)
    assert not any(is_held_out(s) for s in seen)
    assert unseen == held_out_specs("unseen", 200, seed=1)
    assert seen != held_out_specs("seen", 200, seed=2)
    samples = held_out_samples("unseen", 5, seed=1, templates="held_out")
    assert [s.spec for s in samples] == unseen[:5]
    assert all(consistent(parse_caption(s.caption), s.spec) for s in samples)


def test_captions_cover_templates_and_synonyms_and_parse_back() -> None:
    rng = np.random.default_rng(0)
    specs = held_out_specs("seen", 300, seed=0) + held_out_specs("unseen", 300, seed=0)
    captions = []
    for spec, template in zip(
        specs, itertools.cycle(TRAIN_TEMPLATES + HELD_OUT_TEMPLATES), strict=False
    ):
        caption = make_caption(spec, rng, template)
        assert consistent(parse_caption(caption), spec), (caption, spec)
        captions.append(caption)
    text = "\n".join(captions)
    vocab = [w for ws in (*COLOUR_WORDS.values(), *SHAPE_WORDS.values()) for w in ws]
    for ing, _, tags in MOTION_WORDS.values():
        vocab += [*ing, *tags]
    for phrases, tags in BACKGROUND_WORDS.values():
        vocab += [*phrases, *tags]
    missing = [w for w in vocab if not re.search(rf"\b{re.escape(w)}\b", text, re.IGNORECASE)]
    assert missing == []
    red_ball = SceneSpec("sand", (ObjectSpec("red", "ball"),), "bouncing")
    assert parse_caption("a red ball bouncing on the beach") == red_ball
    assert parse_caption("red ball, beach, bouncing") == red_ball
    parsed = parse_caption("a small red circle moves to the right across a blue sky")
    assert parsed == SceneSpec("sky", (ObjectSpec("red", "circle", "small"),), "right")
    parsed = parse_caption("Under the stars, a tiny white star and an orange box are hopping")
    assert parsed.background == "night" and parsed.motion == "bouncing"
    assert parsed.objects == (ObjectSpec("white", "star", "small"), ObjectSpec("orange", "square"))


def test_training_captions_use_only_training_templates() -> None:
    captions = [s.caption for s in itertools.islice(train_samples(seed=2), 300)]
    assert not any("scene:" in c or c.startswith("watch ") for c in captions)
    assert len({c.split(" ")[0] for c in captions}) > 5
