"""Model registry: settings entries, which backend class serves each model, and the warm cache."""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import Backend, GenerationSpec, ModelConfig, check_weights

FAMILIES = ("wan", "ltx", "house")
DTYPES = ("auto", "bfloat16", "float16", "float32")
CACHES = (None, "first_block")


def model_configs() -> dict[str, ModelConfig]:
    """Every entry of settings.RIFF_MODELS, read now (tests override settings at run time)."""
    return {key: model_config(key) for key in getattr(settings, "RIFF_MODELS", {})}


def model_config(key: str) -> ModelConfig:
    """The validated settings entry for `key`; ImproperlyConfigured when it is unknown or wrong."""
    models: dict[str, dict[str, Any]] = getattr(settings, "RIFF_MODELS", {})
    if key not in models:
        known = ", ".join(sorted(models)) or "none"
        raise ImproperlyConfigured(f"Unknown model {key!r} (RIFF_MODELS has: {known}).")
    raw = models[key]
    family = raw.get("family")
    if family not in FAMILIES:
        raise ImproperlyConfigured(
            f'RIFF_MODELS["{key}"]["family"] is {family!r}; one of {FAMILIES}.'
        )
    if not raw.get("path"):
        raise ImproperlyConfigured(f'RIFF_MODELS["{key}"]["path"] is not set.')
    dtype = raw.get("dtype", "auto")
    if dtype not in DTYPES:
        raise ImproperlyConfigured(f'RIFF_MODELS["{key}"]["dtype"] is {dtype!r}; one of {DTYPES}.')
    cache = raw.get("cache")
    if cache not in CACHES:
        raise ImproperlyConfigured(f'RIFF_MODELS["{key}"]["cache"] is {cache!r}; one of {CACHES}.')
    return ModelConfig(
        key=key,
        family=family,
        path=Path(raw["path"]),
        label=raw.get("label", key),
        dtype=dtype,
        cpu_offload=bool(raw.get("cpu_offload", False)),
        vae_tiling=bool(raw.get("vae_tiling", False)),
        cache=cache,
        cache_threshold=float(raw.get("cache_threshold", 0.05)),
        max_sequence_length=raw.get("max_sequence_length"),
    )


def backend_class(family: str) -> type[Backend]:
    """The Backend subclass for a family."""
    # Imported here so that importing the registry imports no family module.
    from .house import HouseBackend
    from .ltx import LTXBackend
    from .wan import WanBackend

    classes: dict[str, type[Backend]] = {
        "wan": WanBackend,
        "ltx": LTXBackend,
        "house": HouseBackend,
    }
    return classes[family]


_cache: dict[str, Backend] = {}
_cache_lock = threading.Lock()


def get_backend(model_key: str) -> Backend:
    """The loaded backend for `model_key`, loaded once per process and then kept warm.

    One pipeline stays resident: loading another model first frees the one loaded before
    (a GPU holds one big model, and a worker that served two would run out of memory).
    """
    with _cache_lock:
        backend = _cache.get(model_key)
        if backend is None:
            config = model_config(model_key)
            backend = backend_class(config.family)(config)
            _evict_all()
            backend.load()
            _cache[model_key] = backend
        return backend


def _evict_all() -> None:
    """Drop every loaded backend (the caller holds _cache_lock), each after its running
    generation if it has one, and give the memory back (gc, then CUDA's cache)."""
    while _cache:
        _key, old = _cache.popitem()
        old.close()
        del old
    gc.collect()
    if _cuda_available():
        import torch

        torch.cuda.empty_cache()


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def release_backends() -> None:
    """Drop every loaded backend (tests, or to free memory for something else)."""
    with _cache_lock:
        backends = list(_cache.values())
        _cache.clear()
    for backend in backends:
        backend.close()


def fit_spec(model_key: str, spec: GenerationSpec) -> GenerationSpec:
    """`spec` rounded for `model_key` without loading weights (reads the JSON configs only)."""
    with _cache_lock:
        backend = _cache.get(model_key)
    if backend is not None:
        return backend.fit(spec)
    config = model_config(model_key)
    check_weights(config)
    return backend_class(config.family).fit_unloaded(config.path, spec)
