"""The ranking admin in a browser: an admin runs a preview of a config, watches its progress
until the worker's result appears in place (htmx polling), then activates the config
through the confirmation page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from feed.models import Post
from feed.selectors import Feed
from feed.services import feed_serve
from ranking.event_log import events_record
from ranking.intake import EventIn
from ranking.models import RankingConfig
from ranking.services import ranking_config_activate, ranking_config_create
from ranking.tasks import ranking_preview
from tests.factories import UserFactory

from .conftest import DESKTOP
from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_preview_progress_result_and_a_confirmed_activation(
    page: Page, make_post: Callable[..., Post], screenshot_dir: Path
) -> None:
    User.objects.create_superuser(username="boss", email="b@example.com", password="pass-word-123")
    makers = [UserFactory(username=f"maker{n}") for n in range(3)]
    posts = [
        make_post(makers[n % 3], prompt=f"{topic} at dusk, take {n}")
        for n, topic in enumerate(["a lighthouse", "a fox", "a tram", "a kite", "a glacier"] * 2)
    ]
    viewers = [UserFactory(username=name) for name in ("ana", "bo", "cy", "dee")]
    for v, viewer in enumerate(viewers):
        for p, post in enumerate(posts[:6]):
            events = [EventIn(post_id=post.pk, kind="impression")]
            events.append(EventIn(post_id=post.pk, kind="like" if (v + p) % 3 else "skip"))
            events_record(viewer=viewer, events=events)
        feed_serve(viewer=viewer, feed=Feed.FOR_YOU, cursor=None, size=4)
    live = ranking_config_create(values={}, note="the live one", based_on=None, created_by=None)
    ranking_config_activate(config=live, by=None)
    candidate = ranking_config_create(
        values={"weight_like": 3.0, "max_per_author": 1},
        note="likes count more",
        based_on=live,
        created_by=None,
    )

    page.set_viewport_size(DESKTOP)
    log_in(page, "boss")

    page.goto(f"/admin/ranking/rankingconfig/{candidate.pk}/preview/")
    expect(page.get_by_text(f"No preview of {candidate} yet")).to_be_visible()
    page.get_by_label("Days of events to replay").fill("3")
    page.get_by_role("button", name="Run a preview").click()
    expect(page.get_by_text("Queued, waiting for a worker")).to_be_visible()
    run_id = page.url.split("?run=")[1]

    # The worker (here this test's thread) computes it; the open page polls and swaps it in.
    ranking_preview.apply(args=[run_id])
    expect(page.get_by_role("heading", name="Off-policy estimate")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("heading", name="Sample pages")).to_be_visible()
    expect(page.locator("#ranking-preview")).to_contain_text("v2 (preview)")
    expect(page.get_by_role("heading", name="ana")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "ranking-preview-result.png"), full_page=True)

    page.get_by_role("link", name="Activate v2…").click()
    expect(page.get_by_text("Activate v2 in place of v1?")).to_be_visible()
    expect(page.locator("#ranking-activate-facts")).to_contain_text("Weight of like")
    page.screenshot(path=str(screenshot_dir / "ranking-activate-confirm.png"), full_page=True)
    assert RankingConfig.objects.get(is_active=True) == live
    page.get_by_role("button", name="Yes, activate v2").click()
    expect(page.get_by_text("Now live: v2 (was v1).")).to_be_visible()
    assert RankingConfig.objects.get(is_active=True) == candidate
    # No script error (the admin has no favicon: the browser's request for one is a 404).
    errors = page.console_errors  # type: ignore[attr-defined]
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []
