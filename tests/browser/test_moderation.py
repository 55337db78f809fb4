"""Moderation in the browser: someone reports a clip, a moderator removes it from the queue,
and the owner reads the statement of reasons and appeals."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import User
from feed.models import Post
from moderation import services
from moderation.models import Appeal, Case, Decision, PolicyCategory, Report
from tests.factories import UserFactory
from tests.moderation.conftest import make_moderator

from .conftest import DESKTOP
from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def switch_user(context: BrowserContext, page: Page, username: str) -> None:
    """Sign out by dropping the session, then sign in as someone else."""
    context.clear_cookies()
    log_in(page, username)


def test_report_remove_and_the_owner_sees_why(
    context: BrowserContext,
    page: Page,
    make_post: Callable[..., Post],
    screenshot_dir: Path,
) -> None:
    owner: User = UserFactory(username="koi_maker")
    UserFactory(username="watcher")
    make_moderator("mod_maya")
    PolicyCategory.objects.create(
        slug="graphic-violence-test",
        name="Graphic violence",
        description="Riff doesn't show gore or graphic injury.",
        severity=3,
    )
    post = make_post(owner, caption="Koi in the rain")

    # A viewer reports the clip from its page.
    log_in(page, "watcher")
    page.goto(post.get_absolute_url())
    page.get_by_role("link", name="Report").click()
    expect(page.get_by_role("heading", name="Report this post")).to_be_visible()
    page.get_by_label("Violence or gore").check()
    page.get_by_label(re.compile("Anything a moderator should know")).fill("Blood at the end.")
    page.screenshot(path=screenshot_dir / "report-mobile.png", full_page=True)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_text("Thanks. A moderator will review your report.")).to_be_visible()

    # The moderator finds it at the top of the queue and removes it.
    switch_user(context, page, "mod_maya")
    page.set_viewport_size(DESKTOP)
    page.get_by_label(re.compile("Account menu")).click()
    page.get_by_role("link", name="Moderation queue").click()
    row = page.get_by_test_id("case-row").first
    expect(row).to_contain_text("Koi in the rain")
    expect(row).to_contain_text("High")
    page.screenshot(path=screenshot_dir / "moderation-queue-desktop.png", full_page=True)
    row.get_by_role("link").click()
    expect(page.get_by_text("Blood at the end.")).to_be_visible()
    expect(page.get_by_text(post.prompt)).to_be_visible()
    page.get_by_label("Remove", exact=True).check()
    page.get_by_label("Rule broken", exact=True).select_option(label="Graphic violence")
    page.get_by_label(re.compile("Facts: what you saw")).fill(
        "The last second shows a graphic injury."
    )
    page.screenshot(path=screenshot_dir / "moderation-case-desktop.png", full_page=True)
    page.get_by_role("button", name="Decide").click()
    expect(page.get_by_text(re.compile(r"Decided: case #\d+"))).to_be_visible()
    expect(page.get_by_text("Nothing waiting.")).to_be_visible()
    assert Post.objects.get(pk=post.pk).standing == Post.Standing.REMOVED
    assert Client().get(post.get_absolute_url()).status_code == 404  # nobody else sees it

    # The owner sees a notice with the statement of reasons, and appeals.
    switch_user(context, page, "koi_maker")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_label(re.compile("Account menu")).click()
    page.get_by_role("link", name="Moderation notices (1 unread)").click()
    notice = page.get_by_test_id("notice")
    expect(notice).to_contain_text("Your post was removed")
    expect(notice).to_contain_text("The last second shows a graphic injury.")
    expect(notice).to_contain_text("Graphic violence: Riff doesn't show gore")
    expect(notice).to_contain_text("A moderator made this decision after 1 report")
    expect(notice).to_contain_text("a different moderator will look at it")
    expect(notice.locator('.notice-body a[href*="/appeals/decision/"]')).to_be_visible()
    page.screenshot(path=screenshot_dir / "notice-mobile.png", full_page=True)
    page.goto(post.get_absolute_url())
    expect(page.get_by_test_id("standing-notice")).to_contain_text("Removed by moderation")
    page.get_by_role("link", name="Read why and appeal").click()
    notice.get_by_role("link", name="Appeal this decision").click()
    page.get_by_label("Why should this be looked at again?").fill("It is stage blood.")
    page.get_by_role("button", name="Send appeal").click()
    expect(page.get_by_text("Appeal sent.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/appeals/$"))
    expect(page.get_by_test_id("appeal")).to_contain_text("Waiting for a moderator")
    page.screenshot(path=screenshot_dir / "appeals-mobile.png", full_page=True)
    appeal = Appeal.objects.get()
    assert appeal.decision == Decision.objects.get() and appeal.text == "It is stage blood."

    # Another moderator overturns it: the old notice says it no longer applies.
    services.appeal_decide(
        appeal=appeal, moderator=make_moderator("mod_omar"), overturn=True, reply="Stage blood."
    )
    page.goto("/notices/")
    expect(page.get_by_test_id("notice-overturned")).to_contain_text("Overturned on")
    expect(page.get_by_role("link", name="Appeal this decision")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "notices-overturned-mobile.png", full_page=True)
    page.goto("/appeals/")
    expect(page.get_by_test_id("appeal")).to_contain_text("Decision overturned")
    assert page.console_errors == []  # type: ignore[attr-defined]

    # The transparency page counts the removal, and fits a phone without scrolling sideways.
    switch_user(context, page, "watcher")
    page.goto("/transparency/")
    expect(page.get_by_test_id("decisions-total")).to_have_text("1")
    expect(page.get_by_role("rowheader", name="Graphic violence")).to_be_visible()
    expect(page.get_by_test_id("by-month").locator("td").first).to_have_attribute(
        "data-label", "Dismiss"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=screenshot_dir / "transparency-mobile.png", full_page=True)


def test_a_labelled_clip_waits_behind_its_warning(
    page: Page, make_post: Callable[..., Post], screenshot_dir: Path
) -> None:
    owner: User = UserFactory(username="storm_chaser")
    UserFactory(username="viewer")
    post = make_post(owner, caption="Lightning hits the pier")
    services.report_create(reporter=UserFactory(), reason=Report.Reason.VIOLENCE, post=post)
    services.decision_make(
        case=Case.objects.get(post=post),
        moderator=make_moderator("mod_maya"),
        action=Decision.Action.LABEL,
        category=PolicyCategory.objects.create(
            slug="flashes-test", name="Flashing images", description="Strobing light."
        ),
        label="Flashing lights",
        facts="Strobing flashes for most of the clip.",
    )
    log_in(page, "viewer")
    page.goto("/")
    clip = page.locator(f"#clip-{post.pk}")
    screen = clip.get_by_test_id("label-screen")
    expect(screen).to_contain_text("Flashing lights")
    expect(screen).to_contain_text("under the rule “Flashing images”")
    page.wait_for_timeout(600)  # time in which an unscreened clip would have started
    assert clip.locator("video").evaluate("v => v.paused && v.currentTime === 0")
    page.screenshot(path=screenshot_dir / "label-screen-mobile.png")
    screen.get_by_role("button", name="View clip").click()
    expect(screen).to_have_count(0)
    page.wait_for_function(
        "(id) => { const v = document.querySelector(`#clip-${id} video`);"
        " return !v.paused && v.currentTime > 0.05; }",
        arg=post.pk,
    )
    # Its own page asks too, and plays only when told.
    page.goto(post.get_absolute_url())
    video = page.locator(".post-video")
    expect(page.get_by_test_id("label-screen")).to_be_visible()
    assert video.evaluate("v => v.paused && !v.controls")
    page.get_by_role("button", name="View clip").click()
    page.wait_for_function("() => !document.querySelector('.post-video').paused")
    assert page.console_errors == []  # type: ignore[attr-defined]
