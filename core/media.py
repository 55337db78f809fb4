"""Serve local media with byte ranges: browsers seek and loop video with Range requests."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import http_date
from django.views.decorators.http import require_safe

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# A range answer may be shorter than asked (Content-Range says so); this bounds memory.
_MAX_CHUNK = 4 * 1024 * 1024


def _resolve(path: str) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise Http404("No such file.")
    return target


@require_safe
def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    """A media file, whole or the byte range asked for."""
    target = _resolve(path)
    size = target.stat().st_size
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    header = request.headers.get("Range", "").strip()
    # Units other than bytes, and several ranges at once, may be ignored (RFC 9110 14.2):
    # such a request gets the whole file. Browsers only ever ask for one byte range.
    if not header.startswith("bytes=") or "," in header:
        header = ""
    match = _RANGE.match(header) if header else None
    response: HttpResponseBase
    if header and not match:
        return _unsatisfiable(size)
    if match:
        first, last = match.groups()
        if first:
            start, end = int(first), int(last) if last else size - 1
        elif last:  # a suffix range: the final N bytes
            start, end = max(0, size - int(last)), size - 1
        else:
            return _unsatisfiable(size)
        end = min(end, size - 1, start + _MAX_CHUNK - 1)
        if start > end:
            return _unsatisfiable(size)
        with target.open("rb") as handle:
            handle.seek(start)
            body = handle.read(end - start + 1)
        response = HttpResponse(body, status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        response = FileResponse(target.open("rb"), content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    response["Last-Modified"] = http_date(target.stat().st_mtime)
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse("Requested range not satisfiable.", status=416)
    response["Content-Range"] = f"bytes */{size}"
    return response
