"""The viewer's controls over For You in a real browser: the clip menu, "why am I seeing
this?", "not interested" and the feed settings page, at phone and desktop sizes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from feed.models import Post
from ranking.models import EngagementEvent, FeedPreference
from tests.factories import UserFactory

from .conftest import DESKTOP, MOBILE
from .pages import log_in

pytestmark = pytest.mark.browser

# Screenshots to look at: /tmp/shots/ unless RIFF_SHOTS names another folder.
SHOTS = Path(os.environ.get("RIFF_SHOTS") or Path(tempfile.gettempdir()) / "shots")


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _no_errors(page: Page) -> None:
    # The invalid preference is answered with a 400 on purpose; the browser logs that.
    errors = [e for e in page.console_errors if "status of 400" not in e]  # type: ignore[attr-defined]
    assert not errors


def _controls(page: Page, size: str) -> None:
    """Open a clip's menu, its why panel, close it, then turn the clip down."""
    page.goto("/")
    first = page.locator("article.clip").first
    expect(first).to_be_visible()
    first.get_by_label("More options for this clip").click()
    menu = first.locator(".clip-menu-panel")
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link", name="Why am I seeing this?")).to_be_visible()
    expect(menu.get_by_role("button", name="Not interested")).to_be_visible()
    _shot(page, f"menu-{size}")

    menu.get_by_role("link", name="Why am I seeing this?").click()
    panel = page.get_by_test_id("why-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Why you're seeing this")).to_be_visible()
    expect(panel.locator("table.why-table tbody tr")).to_have_count(6)
    expect(panel).to_contain_text("Where it came from")
    expect(menu).to_be_hidden()  # the menu closed behind the panel
    _shot(page, f"why-{size}")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()

    post_id = int(first.get_attribute("data-post-id") or 0)
    first.get_by_label("More options for this clip").click()
    first.locator(".clip-menu-panel").get_by_role("button", name="Not interested").click()
    done = page.locator(f"#clip-{post_id}")
    expect(done).to_contain_text("Got it — fewer clips like this")
    expect(done.locator("video")).to_have_count(0)
    _shot(page, f"not-interested-{size}")
    assert EngagementEvent.objects.filter(post_id=post_id, kind="not_interested").exists()


def _settings(page: Page, size: str) -> None:
    page.goto("/settings/feed/")
    page.get_by_label("What do you want more or less of?").fill("!!!")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#feed-preference .errors")).to_contain_text("Say what you want")
    page.get_by_label("What do you want more or less of?").fill("more nature, less memes")
    page.get_by_role("button", name="Save").click()
    understood = page.get_by_test_id("understood")
    expect(understood).to_contain_text("nature")
    expect(understood).to_contain_text("memes")
    page.get_by_text("Reset my For You…").click()
    expect(page.get_by_role("button", name="Yes, reset it")).to_be_visible()
    _shot(page, f"settings-{size}")


def test_feed_controls_on_a_phone(page: Page, make_post: Callable[..., Post]) -> None:
    """Sign in, use the menu, the why panel and "not interested", then set a preference."""
    UserFactory(username="watcher")
    for n in range(4):
        make_post(UserFactory(username=f"maker{n}"))
    page.set_viewport_size(MOBILE)
    log_in(page, "watcher")
    _controls(page, "phone")
    _settings(page, "phone")
    assert FeedPreference.objects.get(viewer__username="watcher").more == ["nature"]
    page.get_by_role("button", name="Yes, reset it").click()
    expect(page.locator(".toast")).to_contain_text("Your For You starts afresh")
    assert EngagementEvent.objects.filter(kind="reset").count() == 1
    _no_errors(page)


def test_feed_controls_on_a_desktop(page: Page, make_post: Callable[..., Post]) -> None:
    """The same controls laid out for a wide screen."""
    UserFactory(username="watcher")
    for n in range(3):
        make_post(UserFactory(username=f"maker{n}"))
    page.set_viewport_size(DESKTOP)
    log_in(page, "watcher")
    _controls(page, "desktop")
    _settings(page, "desktop")
    _no_errors(page)
