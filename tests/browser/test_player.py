"""The feed player: keyboard navigation, infinite scroll and engagement events."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from feed.models import Post
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
    for _ in range(3):
        make_post(author)
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
    sound = page.locator("article.clip").nth(1).locator(".sound-btn")
    expect(sound).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("m")
    expect(sound).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("localStorage.getItem('riff:sound')") == "on"
    assert page.eval_on_selector(nth_video(2), "v => v.muted") is False


def test_scrolling_loads_the_next_page(
    page: Page, make_post: Callable[..., Post], settings: Any
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


def test_player_sends_engagement_events(page: Page, make_post: Callable[..., Post]) -> None:
    """Watching, looping and skipping clips reach the events API as a batch."""
    author = UserFactory(username="watched")
    # Newest first: `first` is the top clip.
    second = make_post(author)
    first = make_post(author)
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
    view = EngagementEvent.objects.filter(post=first, kind="view").first()
    assert view is not None
    assert view.viewer is None
    assert view.value > 1.0


def test_events_the_server_could_not_take_are_sent_again(
    page: Page, make_post: Callable[..., Post]
) -> None:
    """Offline (or while the server refuses with a 503), a batch waits in the player and goes
    out with the next flush; each event is stored once."""
    post = make_post(UserFactory(username="patient"))
    UserFactory(username="viewer")
    log_in(page, "viewer")  # a signed-in viewer's events carry their client_id
    page.goto("/")
    page.wait_for_function(PLAYING, arg=nth_video(1))
    page.wait_for_function("() => window.riffPlayer.queue().length > 0")
    queued = page.evaluate("window.riffPlayer.queue().map(e => e.client_id)")
    page.context.set_offline(True)
    page.evaluate("window.riffPlayer.flush()")
    # The failed batch comes back to the queue rather than being dropped.
    page.wait_for_function(
        "(ids) => { const q = window.riffPlayer.queue().map(e => e.client_id);"
        " return ids.every(id => q.includes(id)); }",
        arg=queued,
        timeout=10_000,
    )
    assert not EngagementEvent.objects.filter(client_id__in=queued).exists()

    page.context.set_offline(False)
    page.evaluate("window.riffPlayer.flush()")
    deadline = time.monotonic() + 10
    stored: list[str] = []
    while time.monotonic() < deadline:
        stored = list(EngagementEvent.objects.filter(post=post).values_list("client_id", flat=True))
        if set(queued) <= set(stored):
            break
        time.sleep(0.2)
    assert set(queued) <= set(stored)
    assert len(stored) == len(set(stored))  # sent again, stored once
