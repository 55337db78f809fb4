"""Verify a clip in the browser: the AI label on a post opens its credentials, and a copy
found elsewhere, uploaded, leads back to the post."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from generation.models import GenerationJob
from tests.factories import UserFactory
from tests.feed.test_verify import made_here
from tests.moderation.clips import reencoded

from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_ai_label_and_the_verify_page(page: Page, screenshot_dir: Path, tmp_path: Path):
    owner: User = UserFactory(username="lanterns")
    post, data = made_here(owner)
    job = GenerationJob.objects.get(published_post_id=post.pk)

    page.goto(post.get_absolute_url())
    page.get_by_role("link", name="AI-generated").click()
    expect(page.get_by_role("heading", name="About this clip")).to_be_visible()
    expect(page.get_by_text("Signed by this Riff, unchanged since")).to_be_visible()
    expect(page.get_by_text(f"Riff watermark, id {job.watermark_id}")).to_be_visible()
    page.screenshot(path=screenshot_dir / "credentials-mobile.png", full_page=True)

    # A copy re-encoded elsewhere: the credentials are gone, the watermark leads back.
    copy = tmp_path / "found-online.mp4"
    copy.write_bytes(reencoded(data, crf=28, scale=0.5))
    page.get_by_role("link", name="Verify it").click()
    expect(page.get_by_role("heading", name="Verify a clip")).to_be_visible()
    page.get_by_label("A video").set_input_files(copy)
    page.get_by_role("button", name="Check it").click()
    result = page.get_by_role("status")
    expect(result).to_contain_text("Made with AI on this Riff")
    expect(result.get_by_role("link", name="Lantern night")).to_be_visible()
    expect(page.locator(".credential-state")).to_have_text("None")
    page.screenshot(path=screenshot_dir / "verify-mobile.png", full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=screenshot_dir / "verify-desktop.png", full_page=True)
    result.get_by_role("link", name="Lantern night").click()
    expect(page.get_by_role("heading", name="Lantern night")).to_be_visible()
    assert page.console_errors == []  # type: ignore[attr-defined]
