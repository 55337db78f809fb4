"""Verify a clip: anyone uploads a video and sees what it is; every post shows the same."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from core.web import HtmxHttpRequest
from moderation.provenance import NotAVideo, clip_inspect, upload_refusal

from .. import selectors
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


def verify_upload(video: UploadedFile) -> bytes:
    """The upload's bytes; it lives only in this request (Django removes its temp file)."""
    video.seek(0)
    return video.read()


@require_http_methods(["GET", "POST"])
def verify(request: HtmxHttpRequest) -> HttpResponse:
    """The form, and for a POST what the uploaded video is: credentials, watermark, match."""
    page = {"max_mb": settings.VERIFY_MAX_UPLOAD_MB}
    if request.method == "GET":
        return render(request, "feed/verify.html", {**page, "form": VerifyForm()})
    form = VerifyForm(request.POST, request.FILES)
    if not form.is_valid():
        errors = form.errors.as_data().get("video", [])
        status = 413 if any(isinstance(e, TooLarge) for e in errors) else 400
        return render(request, "feed/verify.html", {**page, "form": form}, status=status)
    try:
        inspection = clip_inspect(verify_upload(form.cleaned_data["video"]))
    except NotAVideo as exc:
        form.add_error("video", str(exc))
        return render(request, "feed/verify.html", {**page, "form": form}, status=400)
    origin = selectors.clip_origin(viewer=request.user, inspection=inspection)  # type: ignore[arg-type]
    filename = form.cleaned_data["video"].name
    context = {**page, "form": VerifyForm(), "origin": origin, "filename": filename}
    return render(request, "feed/verify.html", context)


@require_GET
def post_credentials(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """What a post's own clip says about itself: the page its "AI-generated" label opens."""
    post = visible_post_or_404(request, pk)
    with post.video.open("rb") as handle:
        data = handle.read()
    try:
        inspection = clip_inspect(data)
    except NotAVideo:
        inspection = None
    origin = (
        selectors.clip_origin(viewer=request.user, inspection=inspection)  # type: ignore[arg-type]
        if inspection is not None
        else None
    )
    return render(request, "feed/credentials.html", {"post": post, "origin": origin})
