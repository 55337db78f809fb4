"""Template tags every page may use without loading them (TEMPLATES builtins)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models.fields.files import FieldFile

from core.media import media_url as _media_url

register = template.Library()


@register.simple_tag(takes_context=True)
def media_url(context: dict[str, Any], file: FieldFile | None) -> str:
    """`{% media_url post.video %}`: the file's URL for the viewer of this page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    viewer = user if user is not None and user.is_authenticated else None
    return _media_url(file, viewer=viewer) or ""
