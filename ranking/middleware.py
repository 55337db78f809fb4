"""Notes the clips a post's own page (or the API's post) put in front of a signed-in viewer.

Feed pages note theirs through the page makers (ranking/hooks.py); a post opened by a link
is shown by a view of the feed, which tells nobody, so its answer is noted here: the
viewer's share or watch events about that clip may follow (ranking/intake.py).
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import sync_and_async_middleware

from .event_log import clips_shown_record
from .models import ClipShown

# The views that show one post, by URL name; each takes the post's id as `pk`.
POST_VIEWS = frozenset({"feed:post_detail", "api:post-detail"})


def _shows_a_post(request: HttpRequest, response: HttpResponse) -> bool:
    """A successful read of a post's own page or API (no database read)."""
    match = getattr(request, "resolver_match", None)
    return (
        request.method == "GET"
        and response.status_code == 200
        and match is not None
        and match.view_name in POST_VIEWS
    )


def _note(request: HttpRequest) -> None:
    # The API's token authentication sets request.user on the request the view saw.
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        pk = int(request.resolver_match.kwargs["pk"])  # type: ignore[union-attr]
        clips_shown_record(viewer=user, post_ids=[pk], where=ClipShown.Where.POST)


@sync_and_async_middleware
def note_post_shown(get_response: Any) -> Any:
    """After a post's page or API answered a signed-in viewer, note the clip as shown."""
    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponse:
            response = await get_response(request)
            if _shows_a_post(request, response):
                await sync_to_async(_note)(request)
            return response

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if _shows_a_post(request, response):
            _note(request)
        return response

    return middleware
