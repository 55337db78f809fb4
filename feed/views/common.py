"""What every feed page needs: the post a viewer may see or change, errors as text."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from core.web import HtmxHttpRequest

from .. import selectors
from ..models import Post


def visible_post_or_404(request: HtmxHttpRequest, pk: int) -> Post:
    """The post if this viewer may see it; 404 otherwise, so private posts don't leak."""
    post = selectors.post_visible(viewer=request.user, pk=pk)  # type: ignore[arg-type]
    if post is None:
        raise Http404("No such post.")
    return post


def owned_post_or_403(request: HtmxHttpRequest, pk: int) -> Post:
    """The viewer's own post; 404 when invisible, 403 when someone else's."""
    post = visible_post_or_404(request, pk)
    if post.owner_id != request.user.pk:
        raise PermissionDenied("Only the owner can change this post.")
    return post


def error_text(exc: ValidationError) -> str:
    """All the messages of a ValidationError as one sentence."""
    return " ".join(exc.messages) or "That didn't work."
