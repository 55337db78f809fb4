"""Generation backends: diffusers video pipelines loaded from local weights, kept warm.

Configured in settings.RIFF_MODELS (key -> family, local path, options); weights are never
downloaded at run time. `manage.py build_tiny_models` builds tiny random-weight test models.
"""

from .base import Backend, GenerationAborted, GenerationSpec, ModelConfig, WeightsMissing
from .registry import fit_spec, get_backend, model_config, release_backends

__all__ = [
    "Backend",
    "GenerationAborted",
    "GenerationSpec",
    "ModelConfig",
    "WeightsMissing",
    "fit_spec",
    "get_backend",
    "model_config",
    "release_backends",
]
