"""Request bodies at the ASGI edge: too large ones refused unread, the rest read in pieces."""

from __future__ import annotations

import io
import json
import tempfile
import threading
from typing import Any

from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from core.bodies import (
    PIECE_BYTES,
    ASGIHandler,
    BoundedBodyMiddleware,
    MappedBody,
    too_large_message,
)


def _scope(path: str, length: int | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/octet-stream")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


class Recorder:
    """An application that reads the whole body and notes each message it was handed."""

    def __init__(self) -> None:
        self.messages: list[int] = []
        self.body = b""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            self.messages.append(len(message.get("body", b"")))
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def _run(app: Any, scope: dict[str, Any], chunks: list[bytes]) -> list[dict[str, Any]]:
    communicator = ApplicationCommunicator(app, scope)
    for index, chunk in enumerate(chunks):
        more = index < len(chunks) - 1
        await communicator.send_input({"type": "http.request", "body": chunk, "more_body": more})
    start = await communicator.receive_output(5)
    body = await communicator.receive_output(5)
    await communicator.wait(5)
    return [start, body]


def test_a_body_over_the_limit_is_refused_before_the_application_reads_any(settings) -> None:
    settings.MAX_REQUEST_MB = 1
    inner = Recorder()
    size = 2 * 2**20
    start, body = async_to_sync(_run)(
        BoundedBodyMiddleware(inner), _scope("/api/v1/verify/", size), [b"x" * 10]
    )
    assert start["status"] == 413
    assert json.loads(body["body"]) == {"detail": too_large_message(size)}
    assert "Riff takes at most 1 MB" in too_large_message(size)
    assert inner.messages == []  # never called

    page_start, page_body = async_to_sync(_run)(
        BoundedBodyMiddleware(Recorder()), _scope("/verify/", size), [b"x"]
    )
    assert page_start["status"] == 413
    assert b"<html" in page_body["body"] and b"at most 1 MB" in page_body["body"]


def test_django_reads_a_body_whole_writing_it_in_pieces_off_the_loop(settings, monkeypatch) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 100_000
    chunks = [bytes([n % 251]) * 8192 for n in range(300)]  # 2.3 MB in 8 KB messages
    messages = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks)
    ]
    # Every write to the body's file: its size, and whether it ran on the loop's thread.
    writes: list[tuple[int, bool]] = []
    loop_thread: list[int] = []
    real_write = tempfile.SpooledTemporaryFile.write

    def watched_write(self: Any, data: bytes) -> int:
        writes.append((len(data), threading.get_ident() in loop_thread))
        return real_write(self, data)

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "write", watched_write)

    async def read() -> bytes:
        loop_thread.append(threading.get_ident())

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        body = await ASGIHandler().read_body(receive)
        return body.read()

    assert async_to_sync(read)() == b"".join(chunks)
    rest = 300 * 8192 - 2 * PIECE_BYTES
    assert [size for size, _ in writes] == [PIECE_BYTES, PIECE_BYTES, rest]
    assert not any(on_loop for _, on_loop in writes)


def test_a_request_without_a_length_is_passed_on(settings) -> None:
    inner = Recorder()
    start, _ = async_to_sync(_run)(BoundedBodyMiddleware(inner), _scope("/", None), [b"abc"])
    assert start["status"] == 200 and inner.body == b"abc"


def test_a_received_body_is_handed_over_as_views_of_its_file_and_read_whole() -> None:
    data = bytes(range(256)) * (14 * 1024)  # 3.5 MB, as Twisted receives it: buffered, unflushed
    received = tempfile.TemporaryFile()  # noqa: SIM115
    received.write(data)
    body = MappedBody.over(received)
    assert isinstance(body, MappedBody)

    # As Daphne hands it over: rewound, then PIECE_BYTES a message.
    body.seek(0, 0)
    pieces = []
    while True:
        piece = body.read(PIECE_BYTES)
        pieces.append(piece)
        if len(piece) < PIECE_BYTES:
            break
    # Views of the mapped file, not copies: nothing new is allocated on the event loop.
    assert all(isinstance(piece, memoryview) for piece in pieces)
    assert [len(piece) for piece in pieces] == [PIECE_BYTES] * 3 + [len(data) - 3 * PIECE_BYTES]
    assert body.tell() == len(data) and body.read(10).tobytes() == b""

    # Twisted closes the body once answered, maybe while a message still holds a view.
    body.close()
    assert body.closed and received.closed

    messages = [
        {"type": "http.request", "body": piece, "more_body": n < len(pieces) - 1}
        for n, piece in enumerate(pieces)
    ]

    async def read() -> bytes:
        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        return (await ASGIHandler().read_body(receive)).read()

    assert async_to_sync(read)() == data


def test_a_small_or_empty_body_is_left_as_it_is() -> None:
    small = io.BytesIO(b"name=value")  # Twisted keeps bodies under 100 KB in memory
    assert MappedBody.over(small) is small
    empty = tempfile.TemporaryFile()  # noqa: SIM115
    assert MappedBody.over(empty) is empty  # nothing to map
    empty.close()
    assert MappedBody.over(empty) is empty
