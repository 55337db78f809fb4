"""Generation fixtures: tiny real models built offline once per test session."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from generation.backends import release_backends

TINY_KEYS = ("tiny-wan", "tiny-ltx")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Build tiny-wan and tiny-ltx into a temporary folder and point RIFF_MODELS at them."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Two torch processes on two cores fight over threads and run many times slower.
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("models")
    models: dict[str, dict[str, Any]] = {
        key: {**value} for key, value in settings.RIFF_MODELS.items()
    }
    paths = {key: root / key for key in TINY_KEYS}
    for key, path in paths.items():
        models[key] = {**models.get(key, {}), "path": str(path)}
    models["tiny-wan"].setdefault("family", "wan")
    models["tiny-ltx"].setdefault("family", "ltx")
    override = override_settings(RIFF_MODELS=models)
    override.enable()
    release_backends()
    call_command("build_tiny_models", stdout=io.StringIO())
    try:
        yield paths
    finally:
        release_backends()
        override.disable()
