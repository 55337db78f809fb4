"""Verify a clip: anyone uploads a video and sees what it is; every post shows the same.

The upload is checked by the `verify` worker (moderation/verify.py); this page waits a few
seconds for the answer, and otherwise shows "Checking…" and asks again with htmx.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from core.uploads import upload_turn
from core.web import HtmxHttpRequest
from moderation.models import VerifyCheck
from moderation.provenance import ClipInspection, declared_size_refusal, upload_refusal
from moderation.verify import (
    BUSY,
    BUSY_RETRY_AFTER_S,
    verify_check_create,
    verify_check_get,
    verify_check_wait,
    verify_checks_busy,
)

from .. import selectors, services
from .common import visible_post_or_404


class TooLarge(forms.ValidationError):
    """An upload over VERIFY_MAX_UPLOAD_MB (answered with 413)."""


class VerifyForm(forms.Form):
    """One video to check."""

    video = forms.FileField(
        label="A video",
        error_messages={"required": "Choose a video to check.", "empty": "That file is empty."},
        widget=forms.ClearableFileInput(attrs={"accept": "video/*"}),
    )

    def clean_video(self) -> UploadedFile:
        """Refuse files over the limit before anything reads them."""
        video: UploadedFile = self.cleaned_data["video"]
        refusal = upload_refusal(video.size)
        if refusal:
            raise TooLarge(refusal)
        return video


def _refused(form: VerifyForm | None, message: str) -> VerifyForm:
    """The form showing `message` on its video field."""
    if form is None or not form.is_bound:
        form = VerifyForm(data={})
    form.errors.clear()  # also runs the (empty) validation once, so errors can be added
    form.add_error("video", message)
    return form


def _page(request: HtmxHttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    page = {"max_mb": settings.VERIFY_MAX_UPLOAD_MB, "form": VerifyForm()}
    return render(request, "feed/verify.html", {**page, **context}, status=status)


def _check_context(request: HtmxHttpRequest, check: VerifyCheck) -> dict[str, Any]:
    """What the result section shows for a check: waiting, refused, or what the video is."""
    context: dict[str, Any] = {"check": check, "filename": check.filename}
    if check.state == VerifyCheck.State.DONE and check.reading:
        inspection = ClipInspection.from_json(check.reading)
        viewer = request.user if request.user.is_authenticated else None
        context["origin"] = services.verified_origin(viewer=viewer, inspection=inspection)
    return context


@require_http_methods(["GET", "POST"])
def verify(request: HtmxHttpRequest) -> HttpResponse:
    """The form, and for a POST what the uploaded video is: credentials, watermark, match."""
    if request.method == "GET":
        return _page(request, {})
    refusal = declared_size_refusal(request.META.get("CONTENT_LENGTH"))
    if refusal:
        return _page(request, {"form": _refused(None, refusal)}, status=413)
    if verify_checks_busy():
        response = _page(request, {"form": _refused(None, BUSY)}, status=503)
        response["Retry-After"] = str(BUSY_RETRY_AFTER_S)
        return response
    with upload_turn(request):
        form = VerifyForm(request.POST, request.FILES)
        if not form.is_valid():
            errors = form.errors.as_data().get("video", [])
            status = 413 if any(isinstance(e, TooLarge) for e in errors) else 400
            return _page(request, {"form": form}, status=status)
        video: UploadedFile = form.cleaned_data["video"]
        check = verify_check_create(upload=video, filename=video.name or "")
    check = verify_check_wait(check=check, seconds=settings.VERIFY_WAIT_S)
    if check.state == VerifyCheck.State.REFUSED:
        return _page(request, {"form": _refused(form, check.refusal)}, status=400)
    status = 202 if check.state == VerifyCheck.State.PENDING else 200
    return _page(request, _check_context(request, check), status=status)


@require_GET
def verify_check(request: HtmxHttpRequest, check_id: uuid.UUID) -> HttpResponse:
    """A check's result, for whoever holds its id: the section alone for htmx, else the page."""
    check = verify_check_get(check_id=check_id)
    if check is None:
        raise Http404("That check is over; results are kept for a short while only.")
    context = _check_context(request, check)
    if request.htmx:
        # Always 200: htmx swaps in only a success, and the section says how it went.
        return render(request, "feed/_verify_check.html", context)
    status = {VerifyCheck.State.PENDING: 202, VerifyCheck.State.REFUSED: 400}.get(
        VerifyCheck.State(check.state), 200
    )
    return _page(request, context, status=status)


@require_GET
def post_credentials(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """What a post's own clip says about itself: the page its "AI-generated" label opens.

    It shows the reading taken when the clip was signed; the clip is never decoded here.
    """
    post = visible_post_or_404(request, pk)
    inspection = services.post_clip_reading(post=post)
    origin = (
        selectors.clip_origin(viewer=request.user, inspection=inspection)  # type: ignore[arg-type]
        if inspection is not None
        else None
    )
    return render(request, "feed/credentials.html", {"post": post, "origin": origin})
