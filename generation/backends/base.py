"""The Backend base: a diffusers pipeline loaded from a local weights directory, and its helpers."""

from __future__ import annotations

import gc
import inspect
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from generation.house.vocabulary import PromptGuide

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, int], None]

# Subfolders every diffusers video pipeline we support keeps beside model_index.json.
EXPECTED_LAYOUT = ("transformer", "vae", "text_encoder", "tokenizer", "scheduler")
# The house model's own layout: its text encoder ships with Riff, and it has no VAE.
HOUSE_LAYOUT = ("denoiser", "scheduler")
# Where the real weights come from, for the error message (fetched by a person, never by us).
HUB_SOURCES = {"wan": "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "ltx": "Lightricks/LTX-Video"}
# The environment variables config/settings.py reads each path from, for the error message.
PATH_ENV_VARS = {
    "tiny-wan": "RIFF_TINY_WAN_PATH",
    "tiny-ltx": "RIFF_TINY_LTX_PATH",
    "wan2.1-t2v-1.3b": "RIFF_WAN21_PATH",
    "ltx-video": "RIFF_LTX_PATH",
    "riff-house": "RIFF_HOUSE_PATH",
}


@dataclass(frozen=True)
class GenerationSpec:
    """What to generate: prompt, size, length, sampling settings and, for a remix, the source."""

    prompt: str
    negative_prompt: str
    width: int
    height: int
    num_frames: int
    fps: int
    steps: int
    guidance: float
    seed: int
    source_frames: np.ndarray | None = None  # (T, H, W, 3) uint8 RGB, for remix (video-to-video)
    strength: float = 0.6  # how far a remix may move from its source: 0 keeps it, 1 ignores it


class WeightsMissing(ImproperlyConfigured):
    """A configured model's local weights directory is missing or incomplete."""


class GenerationAborted(Exception):
    """Raised from an on_step callback to stop a generation at once (no VAE decode)."""


@dataclass(frozen=True)
class ModelConfig:
    """One RIFF_MODELS entry, validated, with defaults filled in."""

    key: str
    family: str
    path: Path
    label: str
    dtype: str = "auto"
    cpu_offload: bool = False
    vae_tiling: bool = False
    cache: str | None = None
    cache_threshold: float = 0.05
    max_sequence_length: int | None = None

    @property
    def is_tiny(self) -> bool:
        """Whether `manage.py build_tiny_models` builds this entry."""
        return self.key.startswith("tiny-")


def check_weights(config: ModelConfig) -> dict[str, Any]:
    """Return model_index.json of the weights directory; WeightsMissing if it is incomplete."""
    index_file = config.path / "model_index.json"
    missing: list[str] = []
    index: dict[str, Any] = {}
    if not config.path.is_dir():
        missing = ["the directory itself"]
    elif not index_file.is_file():
        missing = ["model_index.json"]
    else:
        index = json.loads(index_file.read_text())
        # A component saved as [null, null] (Wan's optional transformer_2) has no folder.
        wanted = [name for name, value in index.items() if is_component(value)]
        missing = [f"{name}/" for name in wanted if not (config.path / name).is_dir()]
    if missing:
        raise WeightsMissing(_missing_message(config, missing))
    return index


def is_component(value: Any) -> bool:
    """Whether a model_index.json entry names a saved component (not [null, null])."""
    return isinstance(value, list) and len(value) == 2 and value[0] is not None


def _missing_message(config: ModelConfig, missing: list[str]) -> str:
    env = PATH_ENV_VARS.get(config.key)
    where = f'RIFF_MODELS["{config.key}"]["path"]' + (
        f" (environment variable {env}, or RIFF_MODELS_DIR for the folder it is in)" if env else ""
    )
    folders = HOUSE_LAYOUT if config.family == "house" else EXPECTED_LAYOUT
    layout = "model_index.json, " + ", ".join(f"{name}/" for name in folders)
    if config.family == "house":
        fix = (
            "The house model is trained here, never downloaded: "
            "python manage.py train_house_model --out <run folder> "
            f"--weights-out {config.path}"
        )
    elif config.is_tiny:
        fix = f"Build it offline with: python manage.py build_tiny_models --only {config.key}"
    else:
        fix = (
            "Weights are never downloaded at run time. On a machine with internet, fetch the "
            f"diffusers-format weights (e.g. `hf download {HUB_SOURCES[config.family]} "
            f"--local-dir {config.path}`) and copy them here, or point the setting at them. "
            "For a test model: python manage.py build_tiny_models"
        )
    return (
        f"Model {config.key!r} ({config.label}): weights not found at {config.path} "
        f"(missing: {', '.join(missing)}). Set {where} to a local diffusers pipeline "
        f"directory laid out as {layout}. {fix}"
    )


def round_to_multiple(value: int, multiple: int) -> int:
    """Nearest multiple of `multiple` (halves round up), at least `multiple` itself."""
    return max(multiple, int(value / multiple + 0.5) * multiple)


def round_frames(num_frames: int, temporal: int) -> int:
    """Nearest frame count of the form temporal * k + 1 (halves round up)."""
    return max(0, int((num_frames - 1) / temporal + 0.5)) * temporal + 1


def fit_to(spec: GenerationSpec, spatial: int, temporal: int) -> GenerationSpec:
    """`spec` with sizes rounded to multiples of `spatial` and frames to temporal * k + 1."""
    fitted = replace(
        spec,
        width=round_to_multiple(spec.width, spatial),
        height=round_to_multiple(spec.height, spatial),
        num_frames=round_frames(spec.num_frames, temporal),
    )
    # Compared field by field: dataclass equality would compare the source frames arrays.
    before = (spec.width, spec.height, spec.num_frames)
    if before != (fitted.width, fitted.height, fitted.num_frames):
        logger.info(
            "fitted %dx%dx%d to %dx%dx%d",
            spec.width,
            spec.height,
            spec.num_frames,
            fitted.width,
            fitted.height,
            fitted.num_frames,
        )
    return fitted


def remix_strength(strength: float, steps: int) -> float:
    """`strength` clamped so that the int(steps * strength) steps a remix keeps are at least 1."""
    # The epsilon keeps e.g. 49 * (1 / 49) from flooring to 0.
    return min(max(strength, (1 + 1e-6) / max(steps, 1)), 1.0)


def resolve_dtype(name: str, device: str) -> Any:
    """The torch dtype for a config's dtype on `device`: bf16 on CUDA and float32 on CPU."""
    import torch

    if name == "auto":
        return torch.bfloat16 if device == "cuda" else torch.float32
    return getattr(torch, name)


def to_uint8(frames: Any) -> np.ndarray:
    """(T, H, W, 3) uint8 from a pipeline's np output in [0, 1] (with or without batch axis)."""
    video = np.asarray(frames, dtype=np.float32)
    if video.ndim == 5:
        video = video[0]
    return (video.clip(0.0, 1.0) * 255.0).round().astype(np.uint8)


def resample_frames(frames: np.ndarray, num_frames: int, width: int, height: int) -> list[Any]:
    """`num_frames` PIL images of the target size, evenly picked (repeated if short)."""
    from PIL import Image

    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"source_frames must be (T, H, W, 3) uint8, got shape {frames.shape}")
    picks = np.linspace(0, len(frames) - 1, num_frames).round().astype(int)
    return [
        Image.fromarray(np.ascontiguousarray(frames[i], dtype=np.uint8)).resize(
            (width, height), Image.Resampling.BICUBIC
        )
        for i in picks
    ]


class Backend:
    """A loaded diffusers pipeline of one family, kept warm; subclasses fill in the family parts.

    A family names its pipeline classes and its size rules; the hooks below (`_load_options`,
    `_arguments`, `_remix`) take only what differs from one family to the next.
    """

    family: ClassVar[str] = ""
    # Dotted paths, imported on first load so that reading configs never imports diffusers.
    pipeline: ClassVar[str] = ""
    # Built over the text-to-video pipeline's loaded modules on first remix; "" for none.
    remix_pipeline: ClassVar[str] = ""
    # Prompt tokens, unless the settings entry says otherwise (LTX-Video's own length).
    default_max_sequence_length: ClassVar[int] = 128
    # The words a model with a small vocabulary knows, for the create page; None: any prompt.
    prompt_guide: ClassVar[PromptGuide | None] = None

    def __init__(self, config: ModelConfig) -> None:
        """Check the weights directory and read the shape constraints from its configs."""
        self.config = config
        self.key = config.key
        self.index = check_weights(config)
        self.spatial_multiple, self.temporal_factor = self.constraints(config.path)
        self.supports_video_to_video = self._supports_v2v()
        self.pipe: Any = None
        self._remix_pipe: Any = None
        self.device = "cpu"
        self._lock = threading.Lock()

    @classmethod
    def constraints(cls, path: Path) -> tuple[int, int]:
        """(size multiple, temporal factor) read from the JSON configs of a weights directory."""
        # Only the frame/size rounding needs the configs, so it is done without loading weights.
        vae = json.loads((path / "vae" / "config.json").read_text())
        transformer = json.loads((path / "transformer" / "config.json").read_text())
        return cls.size_rules(vae=vae, transformer=transformer)

    @classmethod
    def size_rules(cls, *, vae: dict[str, Any], transformer: dict[str, Any]) -> tuple[int, int]:
        """(size multiple, temporal factor) for a VAE and a transformer of these configs."""
        raise NotImplementedError

    def _supports_v2v(self) -> bool:
        return bool(self.remix_pipeline)

    def fit(self, spec: GenerationSpec) -> GenerationSpec:
        """`spec` rounded to what the model accepts (frame count and size)."""
        return fit_to(spec, self.spatial_multiple, self.temporal_factor)

    @classmethod
    def fit_unloaded(cls, path: Path, spec: GenerationSpec) -> GenerationSpec:
        """What `fit` gives, from the JSON configs of a weights directory only."""
        spatial, temporal = cls.constraints(path)
        return fit_to(spec, spatial, temporal)

    def load(self) -> None:
        """Load the pipeline from the local directory onto the device, applying the options."""
        import torch

        # Belt and braces: local_files_only already forbids the hub; this also covers any
        # component that reaches for it on its own.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        threads = getattr(settings, "RIFF_TORCH_THREADS", None)
        if threads:
            torch.set_num_threads(int(threads))
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = resolve_dtype(self.config.dtype, self.device)
        pipe = self._load_pipeline(dtype)
        if self.config.cache == "first_block":
            self._enable_first_block_cache(pipe)
        if self.config.vae_tiling:
            pipe.vae.enable_tiling()
        if self.config.cpu_offload and self.device == "cuda":
            pipe.enable_model_cpu_offload()
        else:
            if self.config.cpu_offload:
                logger.info("%s: cpu_offload ignored without CUDA", self.key)
            pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        logger.info("loaded %s (%s) on %s as %s", self.key, type(pipe).__name__, self.device, dtype)

    def _load_pipeline(self, dtype: Any) -> Any:
        return import_string(self.pipeline).from_pretrained(
            str(self.config.path), dtype=dtype, local_files_only=True, **self._load_options(dtype)
        )

    def _load_options(self, dtype: Any) -> dict[str, Any]:
        """Extra from_pretrained arguments, e.g. a component loaded at another precision."""
        return {}

    def sibling_pipeline(self, pipeline_class: Any) -> Any:
        """A pipeline of another class over the already loaded modules (no copy, no cast)."""
        # Not DiffusionPipeline.from_pipe: it casts every shared module to one dtype
        # (float32 unless told), which would undo the bf16 transformer / fp32 VAE split and
        # the modules diffusers keeps in float32.
        wanted = inspect.signature(pipeline_class.__init__).parameters
        components = {k: v for k, v in self.pipe.components.items() if k in wanted}
        pipe = pipeline_class(**components)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def remix_pipe(self) -> Any:
        """The remix pipeline, made on first use over the loaded modules (no extra memory)."""
        if self._remix_pipe is None:
            self._remix_pipe = self.sibling_pipeline(import_string(self.remix_pipeline))
        return self._remix_pipe

    def _enable_first_block_cache(self, pipe: Any) -> None:
        from diffusers import FirstBlockCacheConfig

        transformer = pipe.transformer
        if not hasattr(transformer, "enable_cache"):
            logger.warning("%s: %s has no cache support", self.key, type(transformer).__name__)
            return
        transformer.enable_cache(FirstBlockCacheConfig(threshold=self.config.cache_threshold))

    @property
    def max_sequence_length(self) -> int:
        """Prompt tokens passed to the text encoder."""
        return self.config.max_sequence_length or self.default_max_sequence_length

    def generate(self, spec: GenerationSpec, on_step: StepCallback) -> np.ndarray:
        """Generate a clip as (T, H, W, 3) uint8, calling on_step(done, total) after each step."""
        return self._generate(self.fit(spec), on_step)

    def _generate(self, spec: GenerationSpec, on_step: StepCallback) -> np.ndarray:
        """`generate` for a spec that is already fitted."""
        import torch

        if spec.source_frames is not None and not self.supports_video_to_video:
            raise ValueError(f"model {self.key!r} cannot remix a video")

        def callback(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            # An exception here leaves the pipeline mid-loop: that is how a cancel skips the
            # VAE decode (the pipeline's own interrupt flag would still decode).
            on_step(step + 1, pipe.num_timesteps)
            return {}

        # A CPU generator gives the same noise for a seed on any device.
        generator = torch.Generator(device="cpu").manual_seed(spec.seed)
        with self._lock, torch.inference_mode():
            try:
                frames = self._run(spec, generator, callback)
            finally:
                self._free()
        return to_uint8(frames)

    def _run(self, spec: GenerationSpec, generator: Any, callback: Any) -> Any:
        arguments = self._arguments(spec, generator, callback)
        if spec.source_frames is None:
            return self.pipe(num_frames=spec.num_frames, **arguments).frames
        # Exactly the fitted number of frames at the fitted size, whatever the source was.
        video = resample_frames(spec.source_frames, spec.num_frames, spec.width, spec.height)
        return self._remix(spec, video, remix_strength(spec.strength, spec.steps), arguments)

    def _arguments(self, spec: GenerationSpec, generator: Any, callback: Any) -> dict[str, Any]:
        """What both pipelines are called with (the frame count is left to each call)."""
        return {
            "prompt": spec.prompt,
            "negative_prompt": spec.negative_prompt or None,
            "height": spec.height,
            "width": spec.width,
            "num_inference_steps": spec.steps,
            "guidance_scale": spec.guidance,
            "generator": generator,
            "output_type": "np",
            "callback_on_step_end": callback,
            "callback_on_step_end_tensor_inputs": [],
            "max_sequence_length": self.max_sequence_length,
        }

    def _remix(
        self, spec: GenerationSpec, video: list[Any], strength: float, arguments: dict[str, Any]
    ) -> Any:
        """Run the remix pipeline from the resampled source `video`, keeping `strength`."""
        raise NotImplementedError

    def _free(self) -> None:
        # Offload hooks and cache state are reset here too, since an aborted run skips the
        # pipeline's own cleanup at the end of __call__.
        if self.pipe is not None:
            self.pipe.maybe_free_model_hooks()
        gc.collect()
        if self.device == "cuda":
            import torch

            torch.cuda.empty_cache()

    def close(self) -> None:
        """Drop the pipelines and free their memory, once a generation in progress is done."""
        with self._lock:
            self._remix_pipe = None
            self.pipe = None
            self._free()
