"""The service worker that shows browser pushes, served from the site's root."""

from __future__ import annotations

from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

# The worker's source, a static file; served here rather than under /static/ because a
# service worker only controls pages below its own address, and notifications lead anywhere.
SOURCE = "js/sw.js"


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """Riff's service worker at /sw.js (scope "/"); browsers check it for updates on every
    visit, so nothing caches it."""
    found = finders.find(SOURCE)
    if not found:
        raise Http404("No service worker.")
    response = HttpResponse(
        Path(str(found)).read_bytes(), content_type="application/javascript; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    return response
