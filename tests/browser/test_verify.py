"""Verify a clip in the browser: the AI label on a post opens its credentials, and a copy
found elsewhere, uploaded, is checked by a real `verify` worker and leads back to the post."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from accounts.models import User
from generation.models import GenerationJob
from tests.factories import UserFactory
from tests.feed.test_verify import made_here
from tests.moderation.clips import reencoded
from tests.processes import process_env, started, stop, worker_args

from .conftest import DESKTOP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def verify_worker(transactional_db: None, tmp_path: Path) -> Iterator[None]:
    """A Celery worker on the `verify` queue, on the live server's database and media."""
    env = process_env(media_root=Path(settings.MEDIA_ROOT), LOG_LEVEL="WARNING")
    name = f"riff-browser-verify-{os.getpid()}@localhost"
    worker = started(worker_args(queues="verify", hostname=name), env, tmp_path / "worker.log")
    yield
    stop(worker)


def test_the_ai_label_and_the_verify_page(
    page: Page, screenshot_dir: Path, tmp_path: Path, verify_worker: None
):
    owner: User = UserFactory(username="lanterns")
    post, data = made_here(owner)
    job = GenerationJob.objects.get(published_post_id=post.pk)

    page.goto(post.get_absolute_url())
    page.get_by_role("link", name="AI-generated").click()
    expect(page.get_by_role("heading", name="About this clip")).to_be_visible()
    expect(page.get_by_text("and unchanged since it was signed")).to_be_visible()
    expect(page.get_by_text(f"Riff watermark, id {job.watermark_id}")).to_be_visible()
    page.screenshot(path=screenshot_dir / "credentials-mobile.png", full_page=True)

    # A copy re-encoded elsewhere: the credentials are gone, the watermark leads back.
    copy = tmp_path / "found-online.mp4"
    copy.write_bytes(reencoded(data, crf=28, scale=0.5))
    page.get_by_role("link", name="Verify it").click()
    expect(page.get_by_role("heading", name="Verify a clip")).to_be_visible()
    page.get_by_label("A video").set_input_files(copy)
    page.get_by_role("button", name="Check it").click()
    # The page answers at once (VERIFY_WAIT_S is 0 in tests) and asks again until the
    # worker has checked it.
    expect(page.get_by_role("heading", name="Checking “found-online.mp4”…")).to_be_visible()
    page.screenshot(path=screenshot_dir / "verify-checking-mobile.png", full_page=True)
    result = page.get_by_role("status")
    expect(result).to_contain_text("Made with AI on this Riff", timeout=60_000)
    expect(result.get_by_role("link", name="Lantern night")).to_be_visible()
    expect(page.locator(".credential-state")).to_have_text("None")
    page.screenshot(path=screenshot_dir / "verify-mobile.png", full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=screenshot_dir / "verify-desktop.png", full_page=True)
    result.get_by_role("link", name="Lantern night").click()
    expect(page.get_by_role("heading", name="Lantern night")).to_be_visible()
    assert page.console_errors == []  # type: ignore[attr-defined]
