"""Two people in two browsers: what one does reaches the other's bell live, over daphne's
WebSocket and a real Celery worker doing the fan-out."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import User
from feed.models import Post
from generation.models import GenerationJob
from moderation.models import Report
from tests.factories import UserFactory
from tests.generation.factories import job_in_state
from tests.processes import daphne, private_redis_url, process_env, started, stop, worker_args

from .conftest import DESKTOP, MOBILE
from .pages import log_in, new_tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
HEADER = {"x": 0, "y": 0, "width": MOBILE["width"], "height": 64}


@pytest.fixture
def sub_env(transactional_db: None) -> dict[str, str]:
    """The web and worker processes' environment: the live test database and media."""
    assert settings.REDIS_URL, "the live bell needs Redis (REDIS_URL)"
    url = private_redis_url()
    redis.Redis.from_url(url).flushdb()  # rate limits, stale tasks and channel groups
    return process_env(
        media_root=settings.MEDIA_ROOT,
        REDIS_URL=url,
        DJANGO_ALLOW_ASYNC_UNSAFE="",
        DEBUG="1",
        # Job sockets re-read often: this test moves a job in the database, with no worker
        # to push the change.
        GENERATION_STATUS_RECHECK_S="0.5",
    )


@pytest.fixture
def site_url(sub_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Daphne serving Riff, and a worker on the default queue beside it."""
    args = worker_args(queues="default", hostname=f"riff-social-{os.getpid()}@localhost")
    worker: subprocess.Popen[bytes] = started(args, sub_env, tmp_path / "worker.log")
    try:
        with daphne(sub_env, tmp_path / "daphne.log") as base:
            yield base
    finally:
        stop(worker)


@pytest.fixture
def two_people(browser: Browser, site_url: str) -> Iterator[tuple[BrowserContext, BrowserContext]]:
    """Two phone-sized browser profiles on the same site."""
    contexts = []
    for _ in range(2):
        context = browser.new_context(
            viewport=MOBILE, device_scale_factor=2, base_url=site_url, has_touch=False
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
    yield contexts[0], contexts[1]
    for context in contexts:
        context.close()


def badge(page: Page) -> str:
    return page.get_by_test_id("unread-notifications").inner_text()


def test_what_bob_does_reaches_aikos_bell_live(
    two_people: tuple[BrowserContext, BrowserContext],
    make_post: Callable[..., Post],
    screenshot_dir: Path,
) -> None:
    aiko_context, bob_context = two_people
    aiko: User = UserFactory(username="aiko")
    bob: User = UserFactory(username="bob")
    clip = make_post(aiko, caption="A koi in the rain")

    a = new_tab(aiko_context)
    log_in(a, "aiko")
    a.goto("/notifications/")
    expect(a.get_by_text("Nothing yet.")).to_be_visible()
    bell = a.locator(".js-bell")
    expect(bell).to_have_attribute("data-live", "socket")
    expect(a.get_by_test_id("unread-notifications")).to_be_hidden()

    b = new_tab(bob_context)
    log_in(b, "bob")
    b.goto(clip.get_absolute_url())
    b.get_by_role("button", name=re.compile("Follow")).first.click()
    expect(b.get_by_role("button", name=re.compile("Following"))).to_be_visible()
    expect(bell).to_have_attribute("aria-label", "Notifications: 1 unread")
    b.get_by_role("button", name="Like").first.click()
    expect(b.get_by_role("button", name="Like").first).to_have_attribute("aria-pressed", "true")
    b.get_by_label("Add a comment").fill("So calm. @aiko how?")
    b.get_by_role("button", name="Post", exact=True).click()
    expect(b.get_by_text("So calm. @aiko how?")).to_be_visible()

    # No reload on aiko's side: the count climbs as the worker writes.
    expect(a.get_by_test_id("unread-notifications")).to_have_text("3")
    # The phone header holds all of it at 390 px: the badge, and the avatar whole.
    avatar = a.get_by_label(re.compile("Account menu")).bounding_box()
    brand, tabs = a.locator(".brand").bounding_box(), a.locator(".tabs a").first.bounding_box()
    assert avatar and brand and tabs
    assert avatar["x"] + avatar["width"] <= MOBILE["width"], avatar
    assert brand["x"] + brand["width"] + 8 <= tabs["x"], (brand, tabs)
    a.screenshot(path=screenshot_dir / "header-badge-mobile.png", clip=HEADER)
    assert a.url.endswith("/notifications/")
    a.locator(".js-bell").click()
    lines = a.get_by_test_id("notification")
    expect(lines).to_have_count(3)
    expect(lines.nth(0)).to_contain_text("bob commented on your clip")
    expect(lines.nth(0)).to_contain_text("So calm. @aiko how?")
    expect(lines.nth(1)).to_contain_text("bob liked your clip")
    expect(lines.nth(2)).to_contain_text("bob started following you")
    expect(a.get_by_test_id("unread-notifications")).to_be_hidden()
    a.screenshot(path=screenshot_dir / "notifications-mobile.png", full_page=True)
    a.set_viewport_size(DESKTOP)
    a.screenshot(path=screenshot_dir / "notifications-desktop.png", full_page=True)
    a.set_viewport_size(MOBILE)

    lines.nth(0).get_by_role("link").click()
    expect(a).to_have_url(re.compile(rf"/p/{clip.pk}/#comment-\d+$"))
    bobs = a.locator(".comment").filter(has_text="So calm. @aiko how?").first
    expect(bobs).to_be_visible()
    # On a desktop too, the comment jumped to stands below the sticky header.
    a.set_viewport_size(DESKTOP)
    a.goto(a.url)
    a.wait_for_function("() => window.scrollY > 0")
    header = a.locator(".site-header").bounding_box()
    target = bobs.bounding_box()
    assert header and target and target["y"] >= header["y"] + header["height"], (header, target)
    a.set_viewport_size(MOBILE)
    expect(bobs.get_by_role("link", name="@aiko")).to_have_attribute("href", "/@aiko/")

    # aiko likes bob's comment and replies under it; bob's open page hears of the reply.
    bobs.get_by_role("button", name="Like comment by @bob").click()
    expect(bobs.get_by_role("button", name="Like comment by @bob")).to_have_attribute(
        "aria-pressed", "true"
    )
    bobs.locator("summary", has_text="Reply").click()
    bobs.get_by_label("Reply to @bob").fill("Patience, and a slow shutter.")
    bobs.get_by_role("button", name="Reply", exact=True).click()
    reply = a.locator(".comment-reply").filter(has_text="Patience, and a slow shutter.")
    expect(reply).to_be_visible()
    a.screenshot(path=screenshot_dir / "comment-reply-mobile.png", full_page=True)
    expect(b.get_by_test_id("unread-notifications")).to_have_text("1")
    b.locator(".js-bell").click()
    expect(b.get_by_test_id("notification").first).to_contain_text("aiko replied to your comment")
    b.get_by_test_id("notification").first.get_by_role("link").click()
    expect(b.locator(".comment-reply").filter(has_text="Patience")).to_be_visible()

    # They talk: bob writes from aiko's profile (he follows her; she doesn't follow him, so
    # it waits in her Requests), she answers, and each sees the other's words without a reload.
    b.goto("/@aiko/")
    b.get_by_role("link", name="Message").click()
    b.get_by_label("Message @aiko").fill("Which model made the koi?")
    b.get_by_role("button", name="Send").click()
    expect(b.get_by_test_id("message").last).to_contain_text("Which model made the koi?")
    a.goto("/messages/requests/")
    a.get_by_test_id("conversation").first.get_by_role("link").click()
    expect(a.get_by_test_id("message").last).to_contain_text("Which model made the koi?")
    a.get_by_role("button", name="Accept").click()
    expect(a.locator("#message-list")).to_have_attribute("data-live", "socket")
    expect(b.locator("#message-list")).to_have_attribute("data-live", "socket")
    a.get_by_label("Message @bob").fill("riff-house, on a laptop!")
    a.get_by_role("button", name="Send").click()
    expect(b.get_by_test_id("message").last).to_contain_text("riff-house, on a laptop!")
    b.get_by_label("Message @aiko").fill("Nice. Look at this one:")
    b.get_by_role("button", name="Send").click()
    expect(a.get_by_test_id("message").last).to_contain_text("Nice. Look at this one:")

    # bob finds aiko's clip by a word of its prompt.
    b.goto("/discover/")
    b.get_by_label("Search Riff").fill("koi")
    b.get_by_label("Search Riff").press("Enter")
    found = b.get_by_test_id("clip-results").locator(f'a[href="/p/{clip.pk}/"]')
    expect(found).to_be_visible()

    # bob shares aiko's clip into the conversation; aiko plays it right there.
    b.goto(clip.get_absolute_url())
    b.get_by_role("link", name="Send to…").click()
    b.get_by_label("To").fill("@aiko")
    b.get_by_role("button", name="Send").click()
    expect(b).to_have_url(re.compile(r"/messages/@aiko/$"))
    shared = a.locator(".message-video").last
    expect(shared).to_be_visible()
    shared.evaluate("v => { v.muted = true; return v.play(); }")
    a.wait_for_function(
        "() => { const v = [...document.querySelectorAll('.message-video')].pop();"
        " return !v.paused && v.currentTime > 0.05; }"
    )
    a.screenshot(path=screenshot_dir / "conversation-mobile.png", full_page=True)

    # Likes turned off stay off.
    a.goto("/notifications/settings/")
    a.get_by_label("Likes of your clips").uncheck()
    a.get_by_role("button", name="Save").click()
    toast = a.get_by_text("Notification settings saved.")
    expect(toast).to_be_visible()
    heading = a.get_by_role("heading", name="Notification settings").bounding_box()
    shown = toast.bounding_box()
    assert heading and shown and shown["y"] > heading["y"] + heading["height"], (heading, shown)
    expect(a.get_by_label("Likes of your clips")).not_to_be_checked()
    expect(a.get_by_label("New followers")).to_be_checked()
    a.screenshot(path=screenshot_dir / "notification-settings-mobile.png", full_page=True)

    # aiko reports one of bob's messages from the conversation; it lands in the queue.
    a.goto("/messages/@bob/")
    mine = a.get_by_test_id("message").filter(has_text="riff-house, on a laptop!")
    expect(mine.get_by_test_id("message-report")).to_have_count(0)
    bobs_line = a.get_by_test_id("message").filter(has_text="Nice. Look at this one:")
    bobs_line.get_by_test_id("message-report").click()
    expect(a.get_by_role("heading", name="Report this message")).to_be_visible()
    expect(a.get_by_test_id("report-context-note")).to_be_visible()
    a.get_by_label("Spam").check()
    a.get_by_role("button", name="Send report").click()
    expect(a).to_have_url(re.compile(r"/messages/@bob/$"))
    expect(a.get_by_text("Thanks. A moderator will review your report.")).to_be_visible()
    report = Report.objects.get(case__message__body="Nice. Look at this one:")
    assert [line["sender"] for line in report.context][-3:] == ["bob", "aiko", "bob"]

    # In her For You, bob's new clip; its comments open in a sheet over it.
    lantern = make_post(bob, caption="Paper lantern at dusk")
    a.goto("/")
    slide = a.locator(f"#clip-{lantern.pk}")
    slide.scroll_into_view_if_needed()
    slide.get_by_role("link", name="Comments").click()
    sheet = a.locator("#comments-sheet")
    expect(sheet).to_be_visible()
    sheet.get_by_label("Add a comment").fill("@bob the glow!")
    sheet.get_by_role("button", name="Post", exact=True).click()
    expect(sheet.get_by_text("the glow!")).to_be_visible()
    a.screenshot(path=screenshot_dir / "comments-sheet-aiko-mobile.png")
    assert a.console_errors == [] and b.console_errors == []  # type: ignore[attr-defined]


def test_a_clip_being_made_rides_along_in_the_header(
    two_people: tuple[BrowserContext, BrowserContext], screenshot_dir: Path
) -> None:
    context, _ = two_people
    aiko: User = UserFactory(username="aiko")
    job = job_in_state(aiko, GenerationJob.State.RUNNING, progress_step=2, progress_total=8)
    page = new_tab(context)
    log_in(page, "aiko")
    page.goto("/discover/")
    chip = page.get_by_test_id("job-chip")
    expect(chip).to_have_attribute("aria-label", "Your clip is being made: open it")
    avatar = page.get_by_label(re.compile("Account menu")).bounding_box()
    assert avatar and avatar["x"] + avatar["width"] <= MOBILE["width"], avatar
    page.screenshot(path=screenshot_dir / "header-job-chip-mobile.png", clip=HEADER)

    GenerationJob.objects.filter(pk=job.pk).update(progress_step=6)
    page.wait_for_function(
        "() => document.querySelector('.js-job-chip').style.getPropertyValue('--p') === '75'"
    )
    GenerationJob.objects.filter(pk=job.pk).update(state=GenerationJob.State.SUCCEEDED)
    expect(chip).to_have_attribute("data-state", "succeeded")
    expect(chip).to_have_attribute("aria-label", "Your clip is ready: open it")
    page.set_viewport_size(DESKTOP)
    expect(chip).to_contain_text("Ready")
    chip.click()
    expect(page).to_have_url(re.compile(rf"/create/jobs/{job.pk}/$"))
    # The job page's own state chip is not the header's ring: its word shows whole on a phone.
    page.set_viewport_size(MOBILE)
    state = page.locator(".job-state .js-state-label")
    expect(state).to_have_text("Ready")
    assert state.evaluate("el => el.scrollWidth <= el.clientWidth && el.clientWidth > 40")
    assert page.console_errors == []  # type: ignore[attr-defined]
