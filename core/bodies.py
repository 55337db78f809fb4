"""Request bodies on their way from the ASGI server to Django: bounded, and copied without
holding up everyone else.

A body passes three hands, all on the event loop that serves every request of the process:

- Twisted, which Daphne builds on, receives it (to a temporary file past 100 KB) and would
  then parse a multipart body itself, whole and in memory, for nobody;
  `daphne_streams_form_bodies` turns that off, and has Daphne hand the body over in 1 MB
  messages instead of 8 KB ones, each a view of the received file mapped into memory
  (`MappedBody`) rather than a copy;
- `BoundedBodyMiddleware` refuses a body declared larger than MAX_REQUEST_MB with a 413
  before anyone reads it;
- Django copies it into its own temporary file: `ASGIHandler` does those writes in a worker
  thread, so the loop answers other requests meanwhile, and a body past 8 MB waits for one of
  the process's large-upload turns first (core.uploads; the view takes a turn again while it
  reads the form data).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import mmap
import os
import tempfile
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import django
from django.conf import settings
from django.core.exceptions import RequestAborted
from django.core.handlers import asgi

from core.proxy import Receive, Scope, Send
from core.uploads import LARGE_UPLOAD_BYTES, LARGE_UPLOADS_AT_ONCE

PIECE_BYTES = 1024 * 1024
# Written on the loop: a thread for this little would cost more than the write.
SMALL_PIECE_BYTES = 64 * 1024


def daphne_streams_form_bodies() -> None:
    """Make Daphne's requests skip Twisted's own parse of form bodies.

    Twisted's Request reads a whole multipart/form-data body into memory and parses it with
    the email package, on the event loop, unless built with parsePOSTFormSubmission=False;
    Daphne never reads the result. A 100 MB upload cost about 1 GB and seconds of a stalled
    event loop. Daphne's factory looks up its request class when each connection opens, so
    replacing it before the server starts takes effect for every request.
    """
    from daphne import http_protocol

    if getattr(http_protocol.WebRequest, "riff_unparsed", False):
        return

    class UnparsedFormRequest(http_protocol.WebRequest):
        """Daphne's request, handing form bodies over as they came."""

        riff_unparsed = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["parsePOSTFormSubmission"] = False
            super().__init__(*args, **kwargs)
            # Daphne then queues the body in pieces of this size, all at once, without
            # pausing: 8 KB pieces made a 100 MB body 12,800 reads in one turn of the loop.
            self.server.request_buffer_size = max(self.server.request_buffer_size, PIECE_BYTES)

        def process(self) -> Any:
            """Daphne's request handling, reading a received body as views of its file."""
            self.content = MappedBody.over(self.content)  # type: ignore[has-type]
            return super().process()

    http_protocol.WebRequest = UnparsedFormRequest


class MappedBody(io.RawIOBase):
    """A request body Twisted received into a temporary file, read as memory views of it.

    Daphne reads the whole body into messages in one go, on the event loop. Read from the
    file, every 1 MB message is a new buffer the process must allocate and fill: a 100 MB
    upload held the loop for about 0.3 s, ten at once for seconds, and every page waited.
    Read from a memory map of the file, a message is a view of pages the file already has;
    they are copied later by whoever reads the message (`ASGIHandler.read_body`, off the
    loop). The map goes away with the last view of it.
    """

    def __init__(self, file: io.BufferedRandom, size: int) -> None:
        super().__init__()
        self._file = file
        self._view = memoryview(mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ))
        self._position = 0

    @classmethod
    def over(cls, content: Any) -> Any:
        """`content` mapped, where it is a file with something in it; else as it is."""
        try:
            content.flush()
            fileno = content.fileno()
        except (AttributeError, OSError, ValueError):  # in memory (small), or closed
            return content
        size = os.fstat(fileno).st_size
        return cls(content, size) if size else content

    def readable(self) -> bool:
        """A body is read only."""
        return True

    def seekable(self) -> bool:
        """Daphne rewinds the body before reading it."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to `offset` from the start, the current position or the end."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._view)}
        self._position = max(0, base[whence] + offset)
        return self._position

    def tell(self) -> int:
        """Where the next read starts."""
        return self._position

    def read(self, size: int | None = -1) -> memoryview:
        """The next `size` bytes (all the rest if negative), as a view: nothing is copied."""
        end = len(self._view) if size is None or size < 0 else self._position + size
        piece = self._view[self._position : end]
        self._position += len(piece)
        return piece

    def close(self) -> None:
        """Close the file; the map itself goes once nothing holds a view of it."""
        if not self.closed:
            self._file.close()
            # A view still in a message keeps the map alive; releasing ours would fail then.
            self._view = memoryview(b"")
        super().close()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def too_large_message(size: int) -> str:
    """What a person sending `size` bytes is told."""
    limit = settings.MAX_REQUEST_MB
    return f"That is {size / 2**20:.0f} MB; Riff takes at most {limit} MB in one request."


class BoundedBodyMiddleware:
    """413 for bodies declared larger than MAX_REQUEST_MB, before anything reads them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse, or pass the request on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = _content_length(scope)
        if size is not None and size > settings.MAX_REQUEST_MB * 2**20:
            await _refuse(scope, send, too_large_message(size))
            return
        await self.app(scope, receive, send)


class ASGIHandler(asgi.ASGIHandler):
    """Django's ASGI handler, copying request bodies to disk off the event loop.

    Django writes each body message into its temporary file on the event loop; for a 100 MB
    upload that is 100 MB of disk writes during which the process answers nobody. Here the
    body is gathered into pieces of about PIECE_BYTES and each piece is written by a worker
    thread while the loop serves other requests.
    """

    async def read_body(self, receive: Callable[[], Awaitable[Mapping[str, Any]]]) -> Any:
        """The request body in a temporary file (in memory while small), read to its end.

        Past LARGE_UPLOAD_BYTES a body waits for one of the process's large-body turns (see
        core.uploads), so that many large uploads at once take turns.
        """
        # Handed to the request, which closes it: no context manager here (as in Django).
        body_file = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, mode="w+b"
        )
        async with contextlib.AsyncExitStack() as turn:
            pending: list[bytes] = []
            size = written = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    body_file.close()
                    raise RequestAborted()
                if "body" in message:
                    pending.append(message["body"])
                    size += len(message["body"])
                more = message.get("more_body", False)
                if size >= PIECE_BYTES or (pending and not more):
                    # A single message is written as it came: a view of Daphne's mapped
                    # file is copied by the write, in the worker thread, not here.
                    piece = pending[0] if len(pending) == 1 else b"".join(pending)
                    pending, size = [], 0
                    if written <= LARGE_UPLOAD_BYTES < written + len(piece):
                        await turn.enter_async_context(_large_body_turn())
                    written += len(piece)
                    if len(piece) >= SMALL_PIECE_BYTES:
                        await asyncio.to_thread(body_file.write, piece)
                    else:
                        body_file.write(piece)
                if not more:
                    break
        body_file.seek(0)
        return body_file


# Keyed by the loop itself, weakly: a semaphore belongs to the loop it was first used on, and
# a closed loop's id may come back as a new loop's.
_large_body_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _large_body_turn() -> asyncio.Semaphore:
    """This event loop's large-body turns (a server process runs one loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _large_body_turns:
        _large_body_turns[loop] = asyncio.Semaphore(LARGE_UPLOADS_AT_ONCE)
    return _large_body_turns[loop]


def get_asgi_application() -> ASGIHandler:
    """Django set up, and its ASGI application with the handler above."""
    django.setup(set_prefix=False)
    return ASGIHandler()


async def _refuse(scope: Scope, send: Send, message: str) -> None:
    """A 413 in the language of what was asked for, sent without reading the body."""
    if scope.get("path", "").startswith("/api/"):
        body = json.dumps({"detail": message}).encode()
        content_type = b"application/json"
    else:
        body = (
            "<!DOCTYPE html><html lang=en><meta charset=utf-8><title>Too large · Riff</title>"
            f"<h1>Too large</h1><p>{message}</p><p><a href=/>Back to Riff</a></p></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
