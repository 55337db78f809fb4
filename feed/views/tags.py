"""A #tag's page: the clips that carry it."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from core.web import HtmxHttpRequest

from .. import selectors
from ..tags import TAG

# Clips a tag page shows at a time, as a profile's grid does.
GRID_PAGE_SIZE = 30


@require_GET
def tag(request: HtmxHttpRequest, tag: str) -> HttpResponse:
    """The clips with this #tag the viewer may see, newest first."""
    if not TAG.fullmatch(f"#{tag}"):
        raise Http404("That is not a tag.")
    if tag != tag.lower():
        return redirect("feed:tag", tag=tag.lower())
    posts = selectors.tag_posts(viewer=request.user, tag=tag)  # type: ignore[arg-type]
    page = Paginator(posts, GRID_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "feed/tag.html", {"tag": tag, "page": page})
