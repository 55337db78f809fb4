"""What every page needs from generation: the signed-in person's clip being made, if any."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import GenerationJob


def rendering(request: HttpRequest) -> dict[str, Any]:
    """`rendering_job`: the newest of the person's jobs still queued or being made (one
    query, signed in only), for the header's progress chip."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"rendering_job": None}
    job = (
        GenerationJob.objects.filter(owner=user, state__in=GenerationJob.ACTIVE)
        .only("id", "state", "progress_step", "progress_total")
        .order_by("-queued_at")
        .first()
    )
    return {"rendering_job": job}
