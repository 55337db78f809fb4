"""Media files and who may open them: the visibility rule of whatever owns a file, applied
to its URL.

Each app registers what owns its files (`media_owner_register`): a model, its file fields,
whether a signed-out stranger may see an instance (`public`), and whether a given viewer may
(`may_open`, the app's one visibility rule). Then:

- `media_url` gives a public file its plain URL, which caches; any other file gets a URL
  signed for the viewer it was made for, which expires (MEDIA_SIGNED_URL_S). In S3 mode both
  are the bucket's presigned URLs.
- `serve_media` (local media) answers a file only while its owner's rule lets the viewer see
  it: the viewer a signed URL names, else whoever is signed in, else a stranger. A post made
  private, removed or blocked stops being served at once, to its old URLs too; a file that
  nothing registered owns is never served.

Byte ranges are served because browsers seek and loop video with Range requests.
"""

from __future__ import annotations

import hmac
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import or_
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db.models import Model, Q
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.crypto import salted_hmac
from django.utils.http import http_date
from django.views.decorators.http import require_safe

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# A range answer may be shorter than asked (Content-Range says so); this bounds memory.
_MAX_CHUNK = 4 * 1024 * 1024
# How long browsers and caches may keep a public file: a post made private stops being
# served at once, but a copy already cached may be shown this long.
PUBLIC_MAX_AGE_S = 300


@dataclass(frozen=True)
class MediaOwner:
    """A model whose file fields hold media, with its visibility rule."""

    model: type[Model]
    fields: tuple[str, ...]
    public: Callable[[Any], bool]  # a signed-out stranger may see this instance
    may_open: Callable[[Any, Any], bool]  # (instance, viewer or None): this viewer may


_owners: dict[type[Model], MediaOwner] = {}


def media_owner_register(
    *,
    model: type[Model],
    fields: tuple[str, ...],
    public: Callable[[Any], bool],
    may_open: Callable[[Any, Any], bool],
) -> None:
    """Say which model owns files and who may open them (apps call this in ready())."""
    _owners[model] = MediaOwner(model=model, fields=fields, public=public, may_open=may_open)


def media_url(file: FieldFile | None, *, viewer: Any) -> str | None:
    """The URL of a stored file for this viewer: plain when anyone may see its owner, else
    signed for the viewer and expiring; None for an empty field."""
    if not file or not file.name:
        return None
    owner = _owners.get(type(file.instance))
    public = owner is not None and owner.public(file.instance)
    if not settings.SERVE_MEDIA:
        # S3: every URL is presigned, valid for MEDIA_SIGNED_URL_S (the storage settings).
        return str(file.storage.url(file.name))
    url = str(default_storage.url(file.name))
    if public:
        return url
    return f"{url}?{urlencode(sign(file.name, viewer=viewer))}"


def sign(name: str, *, viewer: Any, now: float | None = None) -> dict[str, str]:
    """The query of a URL for `name` signed for `viewer` (None: a stranger).

    It expires between one and two MEDIA_SIGNED_URL_S from now: rounded up, so that a page
    drawn again soon gives the same URL and the browser's cached copy is used.
    """
    ttl = settings.MEDIA_SIGNED_URL_S
    expires = (int(now if now is not None else time.time()) // ttl + 2) * ttl
    viewer_id = viewer.pk if viewer is not None and viewer.is_authenticated else 0
    return {"u": str(viewer_id), "e": str(expires), "s": _signature(name, viewer_id, expires)}


def _signature(name: str, viewer_id: int, expires: int) -> str:
    return salted_hmac(
        "riff.media", f"{name}|{viewer_id}|{expires}", algorithm="sha256"
    ).hexdigest()


def _signed_viewer(request: HttpRequest, name: str) -> tuple[bool, Any]:
    """(True, the viewer) when the request carries a valid, unexpired signature for `name`."""
    query = request.GET
    try:
        viewer_id, expires = int(query.get("u", "")), int(query.get("e", ""))
    except ValueError:
        return False, None
    if expires < time.time() or not hmac.compare_digest(
        query.get("s", ""), _signature(name, viewer_id, expires)
    ):
        return False, None
    if viewer_id == 0:
        return True, None
    viewer = get_user_model()._default_manager.filter(pk=viewer_id, is_active=True).first()
    return viewer is not None, viewer


def may_open(name: str, viewer: Any) -> tuple[bool, bool]:
    """(whether this viewer may open the file `name`, whether a stranger may too).

    A signed-in viewer is judged as themselves, never as a stranger: a public clip of
    someone they blocked, or who blocked them, is not served to them either.
    """
    allowed = public = False
    for owner in _owners.values():
        match = reduce(or_, (Q(**{field: name}) for field in owner.fields))
        for instance in owner.model._default_manager.filter(match):
            anyone = owner.may_open(instance, None)
            public = public or anyone
            mine = anyone if viewer is None else owner.may_open(instance, viewer)
            allowed = allowed or mine
    return allowed, public


def _resolve(path: str) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise Http404("No such file.")
    return target


@require_safe
def serve_media(request: HttpRequest, path: str) -> HttpResponseBase:
    """A media file, whole or the byte range asked for, if the viewer may see its owner."""
    target = _resolve(path)
    signed, viewer = _signed_viewer(request, path)
    if not signed:
        user = getattr(request, "user", None)
        viewer = user if user is not None and user.is_authenticated else None
    allowed, public = may_open(path, viewer)
    if not allowed and not (viewer is not None and viewer.is_superuser):
        raise Http404("No such file.")
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
    if public:
        response["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE_S}"
    elif signed:
        # Only for this viewer, and only until the signature runs out.
        left = max(0, int(request.GET["e"]) - int(time.time()))
        response["Cache-Control"] = f"private, max-age={left}"
    else:  # opened with a session: asked again each time, since access may change
        response["Cache-Control"] = "private, no-cache"
        response["Vary"] = "Cookie"
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse("Requested range not satisfiable.", status=416)
    response["Content-Range"] = f"bytes */{size}"
    return response
