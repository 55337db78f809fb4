"""The shipped house-model weights make the clip a prompt asks for, through the real path.

Prompt -> job spec (RIFF_MODELS["riff-house"]) -> backend: MiniLM tokenizer and encoder,
denoiser and scheduler loaded from the weights folder -> model frames, checked with the
evaluator -> display frames -> MP4. Colour is always checked; the shape and the direction of
motion each once the weights' TRAINING.md says it was learned: every row of its evaluator
table at least the model's target for combinations it never saw. A randomly initialised
denoiser exported the same way must fail the same check, so the check can't pass by accident.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from django.conf import settings

from generation.backends import get_backend, release_backends
from generation.backends.house import HouseBackend
from generation.house.captions import parse_caption
from generation.house.display import display_frames
from generation.house.evaluator import analyse, evaluate
from generation.house.model import HouseDenoiser
from generation.house.pipeline import HouseVideoPipeline
from generation.house.render import render
from generation.house.specs import ObjectSpec, SceneSpec
from generation.runner import spec_for
from generation.video import encode_mp4, probe

PROMPTS = ("a red square moving right", "a blue circle moving left")
SEEDS = (0, 1, 2, 3)
# A prompt passes when this many of its seeds show the attribute.
MIN_PASSING = 3
# An attribute counts as learned when every row of TRAINING.md's evaluator table shows at
# least this accuracy for it (the targets on unseen combinations).
LEARNED_AT = {"shape": 0.5, "motion": 0.6}
LEARNED_ROWS = (
    "seen combinations, train templates",
    "seen combinations, held-out templates",
    "unseen combinations, train templates",
    "unseen combinations, held-out templates",
)
# An "object" wider than this (sqrt(area) / frame width) is the whole frame in one colour,
# which an undertrained model makes and which says nothing about drawing the object.
MAX_OBJECT_SIZE = 0.6


def shipped_weights() -> Path:
    """The weights folder RIFF_MODELS["riff-house"] points at (the one in the repository)."""
    return Path(settings.RIFF_MODELS["riff-house"]["path"])


def table_score(record: str, row: str, column: str) -> float | None:
    """A percentage from TRAINING.md's evaluator table as a fraction; None if not there."""
    lines = [line for line in record.splitlines() if line.startswith("|")]
    if not lines:
        return None
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == row and column in header:
            match = re.fullmatch(r"(\d+(?:\.\d+)?)%", cells[header.index(column)])
            return float(match.group(1)) / 100 if match else None
    return None


def learned(weights: Path) -> list[str]:
    """The attributes whose accuracy in the weights' TRAINING.md reaches LEARNED_AT."""
    record = weights / "TRAINING.md"
    if not record.is_file():
        return []
    text = record.read_text()
    return [
        attribute
        for attribute, at in LEARNED_AT.items()
        if all((table_score(text, row, attribute) or 0.0) >= at for row in LEARNED_ROWS)
    ]


LEARNED = learned(shipped_weights())


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: two processes on two cores fight over threads and crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def house_at(path: Path, settings: Any) -> HouseBackend:
    """The riff-house backend loaded from `path`."""
    settings.RIFF_MODELS = {
        **settings.RIFF_MODELS,
        "riff-house": {**settings.RIFF_MODELS["riff-house"], "path": str(path)},
    }
    release_backends()
    backend = get_backend("riff-house")
    assert isinstance(backend, HouseBackend)
    return backend


@pytest.fixture
def release() -> Iterator[None]:
    """Drop the loaded backends after the test (it points riff-house elsewhere)."""
    yield
    release_backends()


def judge(frames: np.ndarray, prompt: str) -> dict[str, bool]:
    """The evaluator's results for `prompt`; colour counts only for an object, not the frame."""
    spec = parse_caption(prompt)
    result = evaluate(frames, spec)
    found = analyse(frames, len(spec.objects)).objects
    if not found or any(o.features["size"] > MAX_OBJECT_SIZE for o in found):
        result["colour"] = False
    return result


def check(backend: HouseBackend, prompt: str) -> list[dict[str, bool]]:
    """Evaluator results on the model-resolution frames of a 2-second clip, one per seed."""
    results = []
    for seed in SEEDS:
        job_spec = spec_for(
            model_key="riff-house",
            prompt=prompt,
            aspect="9:16",
            duration_s=2.0,
            steps=25,
            guidance=4.0,
            seed=seed,
        )
        frames = backend.sample(backend.fit(job_spec), lambda done, total: None)
        assert frames.shape == (8, 32, 32, 3)
        results.append(judge(frames, prompt))
    return results


def passing(results: list[dict[str, bool]], attribute: str) -> int:
    """How many results pass `attribute`."""
    return sum(result[attribute] for result in results)


def test_a_job_spec_becomes_a_two_second_display_clip(settings: Any, release: None) -> None:
    backend = house_at(shipped_weights(), settings)
    spec = backend.fit(
        spec_for(
            model_key="riff-house",
            prompt=PROMPTS[0],
            aspect="9:16",
            duration_s=2.0,
            steps=25,
            guidance=4.0,
            seed=0,
        )
    )
    model = backend.sample(spec, lambda done, total: None)
    clip = backend.generate(spec, lambda done, total: None)

    assert (spec.width, spec.height, spec.fps, spec.num_frames) == (512, 912, 24, 48)
    assert clip.shape == (48, 912, 512, 3)
    # The display clip is the model's clip, made larger and smoother, nothing else.
    assert np.array_equal(clip, display_frames(model, width=512, height=912, num_frames=48))
    info = probe(io.BytesIO(encode_mp4(clip, fps=spec.fps)))
    assert (info.width, info.height, info.frames, info.duration_s) == (512, 912, 48, 2.0)


@pytest.mark.parametrize("prompt", PROMPTS)
def test_the_shipped_weights_draw_what_the_prompt_says(
    prompt: str, settings: Any, release: None
) -> None:
    results = check(house_at(shipped_weights(), settings), prompt)

    for attribute in ["colour", *LEARNED]:
        assert passing(results, attribute) >= MIN_PASSING, (attribute, results)


def test_random_weights_fail_the_same_check(settings: Any, release: None, tmp_path: Path) -> None:
    torch.manual_seed(0)
    # The shipped model's own configuration, with random weights.
    config = HouseDenoiser.load_config(str(shipped_weights() / "denoiser"))
    denoiser = HouseDenoiser.from_config(config).eval()
    torch.nn.Module.to(denoiser, "cpu", torch.float16)
    HouseVideoPipeline(denoiser, FlowMatchEulerDiscreteScheduler()).save_pretrained(
        str(tmp_path / "weights"), safe_serialization=True
    )
    backend = house_at(tmp_path / "weights", settings)

    for prompt in PROMPTS:
        assert passing(check(backend, prompt), "colour") < MIN_PASSING


@pytest.mark.parametrize("background", ["sky", "sand", "grass", "white", "grey"])
def test_the_check_passes_on_the_scenes_the_prompts_describe(background: str) -> None:
    for prompt in PROMPTS:
        spec = parse_caption(prompt)
        for seed, size in enumerate(("small", "big")):
            objects = tuple(ObjectSpec(o.colour, o.shape, size) for o in spec.objects)
            frames = render(SceneSpec(background, objects, spec.motion, seed=seed))
            assert judge(frames, prompt) == {"colour": True, "shape": True, "motion": True}
    # One colour over the whole frame is not an object of that colour.
    flat = np.full((8, 32, 32, 3), (220, 30, 30), np.uint8)
    assert not judge(flat, PROMPTS[0])["colour"]


def test_training_record_table_is_read_by_row_and_column() -> None:
    record = (
        "# Riff house model\n\n| set | background | colour | shape | size | motion |\n"
        "|---|---|---|---|---|---|\n"
        "| seen combinations, train templates | 100% | 97% | 40% | 80% | 85% |\n"
        "| unseen combinations, train templates | 100% | 90% | 30% | 70% | 20% |\n"
    )

    assert table_score(record, LEARNED_ROWS[0], "motion") == 0.85
    assert table_score(record, LEARNED_ROWS[0], "colour") == 0.97
    assert table_score(record, "no such row", "motion") is None
    assert table_score("no table here", LEARNED_ROWS[0], "motion") is None


def test_an_attribute_is_checked_once_the_record_says_it_was_learned(tmp_path: Path) -> None:
    assert learned(tmp_path) == []
    header = "| set | background | colour | shape | size | motion |\n|---|---|---|---|---|---|\n"
    rows = [f"| {row} | 100% | 97% | 52% | 80% | 61% |\n" for row in LEARNED_ROWS]
    (tmp_path / "TRAINING.md").write_text(header + "".join(rows))
    assert learned(tmp_path) == ["shape", "motion"]
    # One row short of a target is not learned.
    rows[3] = rows[3].replace("61%", "59%")
    (tmp_path / "TRAINING.md").write_text(header + "".join(rows))
    assert learned(tmp_path) == ["shape"]
    assert learned(shipped_weights()) == LEARNED


def test_a_remix_is_made_from_its_own_prompt(settings: Any, release: None) -> None:
    """The house model can't start from a video: a remix's source frames are set aside."""
    from dataclasses import replace

    backend = house_at(shipped_weights(), settings)
    spec = spec_for(
        model_key="riff-house",
        prompt=PROMPTS[1],
        aspect="9:16",
        duration_s=2.0,
        steps=4,
        guidance=4.0,
        seed=0,
    )
    remix = replace(spec, source_frames=np.zeros((8, 64, 64, 3), np.uint8))
    assert backend.fit(remix).source_frames is None
    clip = backend.generate(remix, lambda done, total: None)
    assert np.array_equal(clip, backend.generate(spec, lambda done, total: None))
