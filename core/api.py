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


class StrictCharField(serializers.CharField):
    """A text field that takes text only.

    DRF's CharField turns a number into its digits (`{"caption": 5}` becomes "5"); the
    schema says these fields are strings, so every API input takes its text fields from
    here and answers 400 for a number, a boolean, a list or an object. Form and query data
    are always text, so only JSON bodies can send anything else.
    """

    default_error_messages = {"not_text": "Send text here (a JSON string), not {kind}."}

    def to_internal_value(self, data: Any) -> str:
        """The text; 400 for any other JSON type."""
        if not isinstance(data, str):
            self.fail("not_text", kind=_json_kind(data))
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A number field that takes numbers (or their digits, as forms send them), never a
    boolean: DRF's FloatField reads `false` as 0.0."""

    default_error_messages = {"not_number": "Send a number here, not {kind}."}

    def to_internal_value(self, data: Any) -> float:
        """The number; 400 for a boolean or anything that isn't one."""
        if isinstance(data, bool | list | dict):
            self.fail("not_number", kind=_json_kind(data))
        return super().to_internal_value(data)


def _json_kind(value: Any) -> str:
    """How JSON names the type of a parsed value, with its article."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else "that"


def changes_of(serializer: serializers.Serializer) -> dict[str, Any]:
    """A PATCH's validated changes; 400 when it names nothing to change.

    The schema says so too (its PATCH bodies have minProperties 1, core/schema.py): an
    empty PATCH, or a form body with no part that can be read, is a mistake to report.
    """
    serializer.is_valid(raise_exception=True)
    if not serializer.validated_data:
        writable = ", ".join(
            name for name, field in serializer.fields.items() if not field.read_only
        )
        raise exceptions.ValidationError({"detail": f"Send at least one of: {writable}."})
    return dict(serializer.validated_data)


def absolute_url(request: Request, url: str | None) -> str | None:
    """A URL made absolute against this request (already absolute ones stay as they are)."""
    return request.build_absolute_uri(url) if url else None


# --- Pages of API lists: cursor and limit in, {"results", "next", "next_cursor"} out.


class PageParams(serializers.Serializer):
    """The query parameters of every paginated list."""

    cursor = StrictCharField(
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
    """The validated (cursor, limit) of a list request; 400 when they are malformed.

    Read as a plain dict, not as form data: DRF takes an empty form value as "not sent",
    which would let `?limit=` through as the default page size.
    """
    params = PageParams(data=request.query_params.dict())
    params.is_valid(raise_exception=True)
    data = params.validated_data
    return data.get("cursor") or None, data.get("limit") or settings.FEED_PAGE_SIZE


def page_response(
    request: Request,
    serializer: type[serializers.Serializer],
    items: Sequence[Any],
    next_cursor: str | None,
    context: dict[str, Any] | None = None,
) -> Response:
    """The {"results", "next", "next_cursor"} body of one page (`context` for the
    serializer, beside the request)."""
    next_url = None
    if next_cursor:
        next_url = replace_query_param(request.build_absolute_uri(), "cursor", next_cursor)
    results = serializer(items, many=True, context={"request": request, **(context or {})}).data
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
