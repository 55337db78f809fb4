"""The feed player: keyboard navigation, infinite scroll and engagement events."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from feed.models import Like, Post
from ranking.models import EngagementEvent
from tests.factories import UserFactory

from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("no_exploration")]

PLAYING = """(sel) => {
  const v = document.querySelector(sel);
  return !!v && !v.paused && v.readyState >= 2 && v.currentTime > 0.05;
}"""


def nth_video(n: int) -> str:
    """A selector for the video of the nth clip (1-based)."""
    return f"article.clip:nth-of-type({n}) video"


def test_arrow_down_moves_to_next_clip_which_plays(
    page: Page, make_post: Callable[..., Post]
) -> None:
    """ArrowDown (and j) scroll to the next clip, which plays while the previous pauses."""
    author = UserFactory(username="keyboardist")
    for n in range(3):
        make_post(author, sound=n == 1)  # the second clip is the one with a sound track
    page.goto("/")
    page.wait_for_function(PLAYING, arg=nth_video(1))

    page.keyboard.press("ArrowDown")
    page.wait_for_function(PLAYING, arg=nth_video(2))
    page.wait_for_function("(sel) => document.querySelector(sel).paused", arg=nth_video(1))
    page.wait_for_function("() => Math.abs(window.scrollY - window.innerHeight) < 4")

    page.keyboard.press("j")
    page.wait_for_function(PLAYING, arg=nth_video(3))
    page.keyboard.press("ArrowUp")
    page.wait_for_function(PLAYING, arg=nth_video(2))

    # Space pauses and plays; m turns sound on for every clip and is remembered.
    page.keyboard.press(" ")
    page.wait_for_function("(sel) => document.querySelector(sel).paused", arg=nth_video(2))
    page.keyboard.press(" ")
    page.wait_for_function(PLAYING, arg=nth_video(2))
    # Only a clip with a sound track has a sound control: the newest (clip 1) is silent.
    expect(page.locator("article.clip").nth(0).locator(".sound-btn")).to_have_count(0)
    sound = page.locator("article.clip").nth(1).locator(".sound-btn")
    expect(sound).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("m")
    expect(sound).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("localStorage.getItem('riff:sound')") == "on"
    assert page.eval_on_selector(nth_video(2), "v => v.muted") is False


def test_scrolling_loads_the_next_page(
    page: Page, make_post: Callable[..., Post], settings: Any, screenshot_dir: Path
) -> None:
    """With two clips a page, reaching the last clip fetches the next page, then the next."""
    settings.FEED_PAGE_SIZE = 2
    author = UserFactory(username="scroller")
    posts = [make_post(author) for _ in range(5)]
    newest_first = [p.pk for p in reversed(posts)]
    page.goto("/")
    clips = page.locator("article.clip")
    expect(clips).to_have_count(2)
    page.wait_for_function(PLAYING, arg=nth_video(1))

    # Clip n on screen -> how many clips the page then holds (2 a page, 5 in all).
    expected = {2: 4, 3: 4, 4: 5, 5: 5}
    for n, count in expected.items():
        page.evaluate("(n) => document.querySelectorAll('article.clip')[n - 1].scrollIntoView()", n)
        expect(clips).to_have_count(count)
        page.wait_for_function(PLAYING, arg=nth_video(n))

    expect(clips).to_have_count(5)
    ids = [int(x) for x in clips.evaluate_all("els => els.map(e => e.dataset.postId)")]
    assert ids == newest_first
    positions = clips.evaluate_all("els => els.map(e => e.getAttribute('aria-posinset'))")
    assert positions == ["1", "2", "3", "4", "5"]
    expect(page.locator(".feed-sentinel")).to_have_count(0)
    expect(page.get_by_role("feed")).to_have_attribute("aria-busy", "false")
    # The feed ends with a way on, not in silence.
    end = page.get_by_test_id("feed-end")
    end.scroll_into_view_if_needed()
    expect(end).to_contain_text("You're all caught up")
    expect(end.get_by_role("link", name="Sign up to make clips")).to_be_visible()
    page.screenshot(path=screenshot_dir / "feed-end-mobile.png")
    # Signed out, the phone header holds Log in and Sign up whole, clear of the tabs.
    signup = page.locator(".site-header").get_by_role("link", name="Sign up").bounding_box()
    brand = page.locator(".brand").bounding_box()
    tabs = page.locator(".tabs a").first.bounding_box()
    assert signup and brand and tabs
    assert signup["x"] + signup["width"] <= 390, signup
    assert brand["x"] + brand["width"] + 8 <= tabs["x"], (brand, tabs)


def test_tap_pauses_double_tap_likes_and_the_menu_reports(
    page: Page, make_post: Callable[..., Post], screenshot_dir: Path
) -> None:
    """A tap pauses and plays; a double tap likes (with a heart) and never unlikes; ••• has
    Report; the viewer's own clips stay out of their For You."""
    author = UserFactory(username="tapped")
    viewer = UserFactory(username="tapper")
    make_post(viewer, caption="my own clip")
    clip = make_post(author, caption="tap me")
    log_in(page, "tapper")
    page.goto("/")
    expect(page.locator("article.clip")).to_have_count(1)  # not their own
    video = nth_video(1)
    page.wait_for_function(PLAYING, arg=video)
    box = page.locator(video).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 3

    page.mouse.click(x, y)
    page.wait_for_function("(sel) => document.querySelector(sel).paused", arg=video)
    expect(page.get_by_role("button", name="Play")).to_be_visible()
    page.mouse.click(x, y)
    page.wait_for_function(PLAYING, arg=video)

    like = page.locator(f"#like-{clip.pk} .like-btn")
    expect(like).to_have_attribute("aria-pressed", "false")
    page.mouse.dblclick(x, y)
    expect(page.locator(".tap-heart")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "double-tap-heart-mobile.png")
    expect(like).to_have_attribute("aria-pressed", "true")
    page.mouse.dblclick(x, y)  # again: still liked, once
    page.wait_for_timeout(600)
    expect(like).to_have_attribute("aria-pressed", "true")
    assert Like.objects.filter(post=clip).count() == 1
    assert page.evaluate(f"!document.querySelector('{video}').paused")  # a double tap plays on

    # Following from the rail leaves the rail where it was.
    before = like.bounding_box()
    page.locator(f"#clip-{clip.pk} .follow-btn").click()
    expect(page.locator(f"#clip-{clip.pk} .follow-btn")).to_have_attribute("aria-pressed", "true")
    assert like.bounding_box() == before

    page.get_by_label("More options for this clip").click()
    page.get_by_role("link", name="Report").click()
    expect(page).to_have_url(re.compile(rf"/report/post/{clip.pk}/$"))
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_player_sends_engagement_events(page: Page, make_post: Callable[..., Post]) -> None:
    """Watching, looping and skipping clips reach the events API as a batch."""
    author = UserFactory(username="watched")
    # Newest first: `first` is the top clip.
    second = make_post(author)
    first = make_post(author)
    viewer = UserFactory(username="viewer")
    log_in(page, "viewer")  # only signed-in viewers' events teach For You
    page.goto("/")
    page.wait_for_function(PLAYING, arg=nth_video(1))
    # Let the 2 s clip loop once, then move on.
    page.wait_for_function(
        "() => window.riffPlayer.queue().some(e => e.kind === 'complete')", timeout=10_000
    )
    page.keyboard.press("ArrowDown")
    page.wait_for_function(PLAYING, arg=nth_video(2))
    page.keyboard.press("ArrowUp")  # leave the second clip within 2 s: a skip
    page.wait_for_function(PLAYING, arg=nth_video(1))
    page.evaluate("window.riffPlayer.flush()")

    deadline = time.monotonic() + 10
    kinds: set[tuple[int, str]] = set()
    while time.monotonic() < deadline:
        kinds = set(EngagementEvent.objects.values_list("post_id", "kind"))
        if {(second.pk, "skip"), (first.pk, "view")} <= kinds:
            break
        time.sleep(0.2)
    assert (second.pk, "impression") in kinds
    assert (first.pk, "impression") in kinds
    assert (first.pk, "complete") in kinds
    assert (first.pk, "view") in kinds
    assert (second.pk, "skip") in kinds
    # The longest: the page the log-in led to may have sent a glimpse of the same clip.
    view = EngagementEvent.objects.filter(post=first, kind="view").order_by("-value").first()
    assert view is not None
    assert view.viewer_id == viewer.pk
    assert view.value > 1.0


def events_requests(page: Page) -> list[int]:
    """The statuses of the page's calls to the events API, as they are answered."""
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if "/api/v1/events/" in r.url else None,
    )
    return statuses


def test_signed_out_the_player_plays_and_sends_no_events(
    page: Page, make_post: Callable[..., Post]
) -> None:
    """Signed out, clips play, loop and move on as ever; nothing is queued or sent."""
    author = UserFactory(username="unseen")
    make_post(author)
    make_post(author)
    statuses = events_requests(page)
    page.goto("/")
    page.wait_for_function(PLAYING, arg=nth_video(1))
    # The 2 s clip loops once (where a signed-in viewer's player records a "complete").
    page.wait_for_function(
        "(sel) => { const v = document.querySelector(sel); v.loopsSeen = v.loopsSeen || 0;"
        " if (v.currentTime < v.lastSeen) v.loopsSeen++; v.lastSeen = v.currentTime;"
        " return v.loopsSeen > 0; }",
        arg=nth_video(1),
        polling=100,
        timeout=10_000,
    )
    page.keyboard.press("ArrowDown")
    page.wait_for_function(PLAYING, arg=nth_video(2))
    assert page.evaluate("window.riffPlayer.queue().length") == 0
    page.evaluate("window.riffPlayer.flush()")
    page.goto("/following/")  # pagehide flushes too
    assert statuses == []
    assert not EngagementEvent.objects.exists()
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_viewer_signed_out_meanwhile_gets_one_refusal_then_silence(
    page: Page, make_post: Callable[..., Post]
) -> None:
    """Signed out in another tab, the player's next batch is refused (401) and it stops."""
    author = UserFactory(username="elsewhere")
    make_post(author)
    make_post(author)
    UserFactory(username="viewer")
    log_in(page, "viewer")
    page.goto("/")  # rendered for a signed-in viewer...
    statuses = events_requests(page)
    page.context.clear_cookies()  # ...whose session then ends
    with page.expect_response(lambda r: "/api/v1/events/" in r.url) as answer:
        page.wait_for_function(PLAYING, arg=nth_video(1))  # its impression goes out
    assert answer.value.status == 401
    page.keyboard.press("ArrowDown")
    page.wait_for_function(PLAYING, arg=nth_video(2))
    assert page.evaluate("window.riffPlayer.queue().length") == 0
    page.evaluate("window.riffPlayer.flush()")
    assert statuses == [401]


def test_comments_open_over_the_clip(
    page: Page, make_post: Callable[..., Post], screenshot_dir: Path
) -> None:
    """The rail's Comments opens a sheet over the feed (a panel on a desktop): read, reply
    and comment there, close it, and the clip is where it was."""
    from feed import services as feed_services

    author = UserFactory(username="sheeted")
    UserFactory(username="reader")
    clip = make_post(author, caption="comment on me")
    feed_services.comment_create(author=author, post=clip, body="First!")
    log_in(page, "reader")
    page.goto("/")
    page.wait_for_function(PLAYING, arg=nth_video(1))
    page.get_by_role("link", name="Comments").first.click()
    sheet = page.locator("#comments-sheet")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_text("First!")).to_be_visible()
    assert page.url.endswith("/") and "#" not in page.url
    sheet.get_by_label("Add a comment").fill("Lovely colours")
    sheet.get_by_role("button", name="Post", exact=True).click()
    expect(sheet.get_by_text("Lovely colours")).to_be_visible()
    expect(sheet.locator(f"#comment-count-{clip.pk}")).to_have_text("2")
    expect(page.locator(f"#clip-{clip.pk} .js-rail-comments")).to_have_text("2")
    page.screenshot(path=screenshot_dir / "comments-sheet-mobile.png")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.screenshot(path=screenshot_dir / "comments-panel-desktop.png")
    sheet.get_by_role("button", name="Close comments").click()
    expect(sheet).to_be_hidden()
    page.wait_for_function(PLAYING, arg=nth_video(1))
    assert page.console_errors == []  # type: ignore[attr-defined]
