"""API-wide plumbing: readable JSON errors, absolute URLs, pages of lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from core.pagination import InvalidCursor

MAX_PAGE_SIZE = 50


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, taught Django's own ValidationError and PermissionDenied."""
    if isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(detail=str(exc) or None)
    elif isinstance(exc, InvalidCursor):
        exc = exceptions.ValidationError(detail={"cursor": [str(exc)]})
    return drf_exception_handler(exc, context)


def absolute_url(request: Request, url: str | None) -> str | None:
    """A URL made absolute against this request (already absolute ones stay as they are)."""
    return request.build_absolute_uri(url) if url else None


# --- Pages of API lists: cursor and limit in, {"results", "next", "next_cursor"} out.


class PageParams(serializers.Serializer):
    """The query parameters of every paginated list."""

    cursor = serializers.CharField(
        required=False, allow_blank=True, help_text="Opaque cursor from a previous page."
    )
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        help_text=f"Items per page, 1 to {MAX_PAGE_SIZE}.",
        error_messages={
            "invalid": f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}.",
            "min_value": f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}.",
            "max_value": f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}.",
        },
    )

    class Meta:
        ref_name = "PageParams"


def page_params(request: Request) -> tuple[str | None, int]:
    """The validated (cursor, limit) of a list request; 400 when they are malformed."""
    params = PageParams(data=request.query_params)
    params.is_valid(raise_exception=True)
    data = params.validated_data
    return data.get("cursor") or None, data.get("limit") or settings.FEED_PAGE_SIZE


def page_response(
    request: Request,
    serializer: type[serializers.Serializer],
    items: Sequence[Any],
    next_cursor: str | None,
) -> Response:
    """The {"results", "next", "next_cursor"} body of one page."""
    next_url = None
    if next_cursor:
        next_url = replace_query_param(request.build_absolute_uri(), "cursor", next_cursor)
    results = serializer(items, many=True, context={"request": request}).data
    return Response({"results": results, "next": next_url, "next_cursor": next_cursor})


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """A serializer describing a page of `item`s, for the schema."""
    meta = type("Meta", (), {"ref_name": name})
    return type(
        f"{name}Serializer",
        (serializers.Serializer,),
        {
            "__doc__": "One page of a list; follow `next` for the page after.",
            "results": item(many=True),
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null."),
            "next_cursor": serializers.CharField(allow_null=True),
            "Meta": meta,
        },
    )


PAGE_PARAMETERS = [PageParams]
