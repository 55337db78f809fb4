"""Storage names for media files: random, so that a private file's URL cannot be guessed."""

from __future__ import annotations

import secrets

# 80 random bits: nobody can walk the names to find a clip they were not given.
TOKEN_BYTES = 10


def random_upload_name(*, folder: str, owner_id: int, ext: str) -> str:
    """`<folder>/<owner_id>/<20 random hex digits>.<ext>`, a new name on every call."""
    return f"{folder}/{owner_id}/{secrets.token_hex(TOKEN_BYTES)}.{ext}"
