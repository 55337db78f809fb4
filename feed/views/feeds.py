"""The feeds: For You and Following, and their next pages."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from core.pagination import InvalidCursor
from core.web import HtmxHttpRequest, bad_request, login_required_htmx

from .. import services
from ..selectors import Feed


def _next_url(feed: str, cursor: str | None, shown: int) -> str | None:
    if not cursor:
        return None
    return f"{reverse('feed:feed_more', kwargs={'feed': feed})}?cursor={cursor}&offset={shown}"


def _feed_page(request: HtmxHttpRequest, feed: str) -> HttpResponse:
    page = services.feed_serve(
        viewer=request.user,  # type: ignore[arg-type]
        feed=feed,
        cursor=None,
        size=settings.FEED_PAGE_SIZE,
    )
    context = {
        "feed": feed,
        "cards": page.cards,
        "offset": 0,
        "next_url": _next_url(feed, page.next_cursor, len(page.cards)),
    }
    return render(request, "feed/feed.html", context)


@require_GET
def for_you(request: HtmxHttpRequest) -> HttpResponse:
    """The For You feed; signed-out viewers see public posts."""
    return _feed_page(request, Feed.FOR_YOU)


@require_GET
@login_required_htmx
def following(request: HtmxHttpRequest) -> HttpResponse:
    """Posts of the people the viewer follows."""
    return _feed_page(request, Feed.FOLLOWING)


@require_GET
def feed_more(request: HtmxHttpRequest, feed: str) -> HttpResponse:
    """The next page of a feed as a fragment, for infinite scroll."""
    if feed not in Feed.ALL:
        raise Http404("No such feed.")
    if feed == Feed.FOLLOWING and not request.user.is_authenticated:
        return login_required_htmx(following)(request)
    cursor = request.GET.get("cursor") or None
    try:
        offset = max(0, int(request.GET.get("offset", "0")))
        page = services.feed_serve(
            viewer=request.user,  # type: ignore[arg-type]
            feed=feed,
            cursor=cursor,
            size=settings.FEED_PAGE_SIZE,
        )
    except InvalidCursor as exc:
        return bad_request(request, str(exc))
    except ValueError:
        return bad_request(request, "That page offset is not a number.")
    context = {
        "feed": feed,
        "cards": page.cards,
        "offset": offset,
        "next_url": _next_url(feed, page.next_cursor, offset + len(page.cards)),
    }
    return render(request, "feed/_feed_page.html", context)
