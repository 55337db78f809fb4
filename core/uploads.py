"""Storage names for media files: random, so that a private file's URL cannot be guessed."""

from __future__ import annotations

import secrets

from django.core.files import uploadhandler

# 80 random bits: nobody can walk the names to find a clip they were not given.
TOKEN_BYTES = 10


def random_upload_name(*, folder: str, owner_id: int, ext: str) -> str:
    """`<folder>/<owner_id>/<20 random hex digits>.<ext>`, a new name on every call."""
    return f"{folder}/{owner_id}/{secrets.token_hex(TOKEN_BYTES)}.{ext}"


# Django's upload handlers take a multipart body 64 KB at a time, in Python; a 100 MB clip to
# verify is then 1,600 turns of the parser competing with every page for the interpreter.
# In 1 MB pieces it is 100.
UPLOAD_CHUNK_BYTES = 1024 * 1024


class MemoryFileUploadHandler(uploadhandler.MemoryFileUploadHandler):
    """Small files kept in memory (up to FILE_UPLOAD_MAX_MEMORY_SIZE), read 1 MB at a time."""

    chunk_size = UPLOAD_CHUNK_BYTES


class TemporaryFileUploadHandler(uploadhandler.TemporaryFileUploadHandler):
    """Larger files streamed to a temporary file, 1 MB at a time."""

    chunk_size = UPLOAD_CHUNK_BYTES
