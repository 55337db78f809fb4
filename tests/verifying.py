"""Verify a clip in tests: what the `verify` worker does, done here, between two requests."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from moderation.models import VerifyCheck
from moderation.verify import verify_check_run

VERIFY_PAGE = "/verify/"
VERIFY_API = "/api/v1/verify/"


def run_pending_checks() -> int:
    """Check every pending upload as the worker's task would; how many there were."""
    pending = list(
        VerifyCheck.objects.filter(state=VerifyCheck.State.PENDING).values_list("pk", flat=True)
    )
    for pk in pending:
        verify_check_run(check_id=str(pk))
    return len(pending)


def page_verify(client: Client, data: bytes, name: str = "clip.mp4") -> Any:
    """Upload on the page (answered "Checking…"), check it, and load the result's page."""
    video = SimpleUploadedFile(name, data, content_type="video/mp4")
    response = client.post(VERIFY_PAGE, {"video": video})
    if response.status_code != 202:
        return response
    assert "Checking “" in response.content.decode()
    check = VerifyCheck.objects.latest("created")
    run_pending_checks()
    return client.get(reverse("feed:verify_check", kwargs={"check_id": check.pk}))


def api_verify(data: bytes, name: str = "clip.mp4", client: APIClient | None = None) -> Any:
    """Upload to the API (answered 202 with a URL), check it, and GET that URL."""
    client = client or APIClient()
    response = client.post(
        VERIFY_API, {"video": SimpleUploadedFile(name, data)}, format="multipart"
    )
    if response.status_code != 202:
        return response
    body = response.json()
    assert body["status"] == "pending" and response["Location"] == body["url"]
    run_pending_checks()
    return client.get(body["url"])
