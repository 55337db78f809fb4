"""Requests refused before any view sees them, and headers every response carries."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.decorators import sync_and_async_middleware

NUL_IN_ADDRESS = "That address contains a character (NUL) that no address on Riff can contain."


def _malformed(request: HttpRequest) -> str | None:
    """Why the request can't be served, or None.

    A NUL byte fits no handle, file name or database text (PostgreSQL refuses it), so one
    in the path or the query would otherwise become a server error deep in some view.
    """
    if "\x00" in request.path or "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
        return NUL_IN_ADDRESS
    return None


def _refusal(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 in the language of what was asked for: JSON on the API, the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=400)
    return render(request, "400.html", {"message": message}, status=400)


@sync_and_async_middleware
def reject_malformed_requests(get_response: Any) -> Any:
    """Answer a malformed request with a readable 400 instead of passing it on."""
    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponse:
            message = _malformed(request)
            if message is not None:
                # The page reads the signed-in user, a database read: off the event loop.
                return await sync_to_async(_refusal)(request, message)
            return await get_response(request)

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponse:
        message = _malformed(request)
        return _refusal(request, message) if message is not None else get_response(request)

    return middleware


@sync_and_async_middleware
def content_security_policy(get_response: Any) -> Any:
    """Send settings.CONTENT_SECURITY_POLICY with every response that has none of its own."""
    policy = settings.CONTENT_SECURITY_POLICY

    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponse:
            response = await get_response(request)
            response.headers.setdefault("Content-Security-Policy", policy)
            return response

        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy)
        return response

    return middleware
