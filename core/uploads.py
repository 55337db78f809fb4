"""Storage names for media files: random, so that a private file's URL cannot be guessed."""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator

from django.conf import settings
from django.core.files import uploadhandler
from django.http import HttpRequest

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


# Copying a large upload's body to disk and reading its form data (Django's multipart
# parser) each keep a core busy for a while; ten at once would leave every other request of
# the process waiting for one. A process takes settings.LARGE_UPLOADS_AT_ONCE large uploads
# through each of those steps at a time; the others wait, without using a core.
LARGE_UPLOAD_BYTES = 8 * 1024 * 1024
LARGE_UPLOADS_AT_ONCE = settings.LARGE_UPLOADS_AT_ONCE
_large_uploads = threading.BoundedSemaphore(LARGE_UPLOADS_AT_ONCE)


@contextlib.contextmanager
def upload_turn(request: HttpRequest) -> Iterator[None]:
    """Hold one of the process's large-upload turns while reading the request's upload.

    A request whose body is at most LARGE_UPLOAD_BYTES (by its Content-Length) goes ahead.
    Leave the block before waiting on anything else, so the turn is only held for the work.
    """
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size <= LARGE_UPLOAD_BYTES:
        yield
        return
    with _large_uploads:
        yield
