"""The main journey at phone size: sign up, watch, like, comment, follow, profile, log out."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Follow, User
from feed.models import Comment, Like, Post
from tests.factories import UserFactory

from .conftest import DESKTOP
from .pages import video_time, wait_playing

pytestmark = pytest.mark.browser


@pytest.mark.usefixtures("no_exploration")
def test_sign_up_watch_like_comment_follow(
    page: Page, make_post: Callable[..., Post], screenshot_dir: Path
) -> None:
    """A new person signs up and does everything a first session on Riff involves."""
    author = UserFactory(username="koimaker")
    author.profile.display_name = "Koi Maker"
    author.profile.bio = "Rainy cities, neon fish."
    author.profile.save()
    older = make_post(author, caption="Older koi")
    post = make_post(author, caption="Neon koi in the rain")

    # Sign up through allauth's form.
    page.goto("/accounts/signup/")
    expect(page.get_by_role("heading", name="Join Riff")).to_be_visible()
    page.screenshot(path=screenshot_dir / "signup-mobile.png")
    page.get_by_label("Handle").fill("newviewer")
    page.get_by_label("Email").fill("newviewer@example.com")
    page.get_by_label("Password").fill("a-long-enough-pass-987")
    page.get_by_role("button", name="Sign up").click()

    # Land on For You; the first clip plays.
    page.wait_for_url(re.compile(r"/$"))
    viewer = User.objects.get(username="newviewer")
    assert viewer.email == "newviewer@example.com"
    feed = page.get_by_role("feed")
    expect(feed).to_be_visible()
    first = page.locator("article.clip").first
    expect(first).to_have_attribute("data-post-id", str(post.pk))
    expect(first).to_have_attribute("aria-posinset", "1")
    wait_playing(page, "article.clip video")
    before = video_time(page, "article.clip video")
    page.wait_for_timeout(600)
    after = video_time(page, "article.clip video")
    assert after != before, "the clock of the first clip should move"
    assert page.eval_on_selector("article.clip video", "v => v.paused") is False
    expect(first.get_by_text("AI-generated")).to_be_visible()
    page.screenshot(path=screenshot_dir / "feed-mobile.png")

    # Like it: the button flips and the count goes up, without leaving the page.
    page.evaluate("window.__noReload = true")
    like = first.get_by_role("button", name="Like")
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(first.locator(".like-count")).to_contain_text("0")
    like.click()
    expect(first.get_by_role("button", name="Like")).to_have_attribute("aria-pressed", "true")
    expect(first.locator(".like-count")).to_contain_text("1")
    assert page.evaluate("window.__noReload") is True
    assert Like.objects.filter(user=viewer, post=post).exists()
    post.refresh_from_db()
    assert post.like_count == 1

    # Comment on it in the sheet over the clip, then go on to the clip's own page.
    first.get_by_role("link", name="Comments").click()
    sheet = page.locator("#comments-sheet")
    sheet.get_by_label("Add a comment").fill("What a glow")
    sheet.get_by_role("button", name="Post", exact=True).click()
    expect(sheet.locator("#comment-list")).to_contain_text("What a glow")
    assert page.evaluate("window.__noReload") is True
    sheet.get_by_role("link", name="Open the clip's page").click()
    page.wait_for_url(re.compile(rf"/p/{post.pk}/"))
    page.evaluate("window.__noReload = true")
    page.get_by_label("Add a comment").fill("Those reflections are lovely")
    page.get_by_role("button", name="Post", exact=True).click()
    comment_list = page.locator("#comment-list")
    expect(comment_list).to_contain_text("Those reflections are lovely")
    expect(page.locator(f"#comment-count-{post.pk}")).to_have_text("2")
    expect(page.get_by_label("Add a comment")).to_have_value("")
    assert page.evaluate("window.__noReload") is True
    assert Comment.objects.filter(post=post, author=viewer).count() == 2

    # An empty comment is refused with a message, still without a reload.
    page.get_by_label("Add a comment").fill("   ")
    page.get_by_role("button", name="Post", exact=True).click()
    expect(page.locator("#comment-errors")).to_contain_text("empty")
    assert Comment.objects.filter(post=post).count() == 2

    # Follow the author from the post page.
    follow = page.locator(".owner-row .follow-btn")
    expect(follow).to_have_text(re.compile(r"^\s*Follow\b"))
    follow.click()
    expect(page.locator(".owner-row .follow-btn")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".owner-row .follow-btn")).to_contain_text("Following")
    assert page.evaluate("window.__noReload") is True
    assert Follow.objects.filter(follower=viewer, followee=author).exists()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=screenshot_dir / "post-mobile.png")
    page.locator("#comments").scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "post-mobile-comments.png")

    # Open the author's profile: the grid shows both posts, newest first.
    page.locator(".owner-link").click()
    page.wait_for_url(re.compile(r"/@koimaker/"))
    expect(page.get_by_role("heading", name="Koi Maker")).to_be_visible()
    grid = page.locator(".post-grid a")
    expect(grid).to_have_count(2)
    expect(grid.first).to_have_attribute("href", post.get_absolute_url())
    expect(grid.nth(1)).to_have_attribute("href", older.get_absolute_url())
    expect(page.locator(f"#follower-count-{author.pk}")).to_have_text("1")
    page.screenshot(path=screenshot_dir / "profile-mobile.png")

    # Unfollow and follow again from the profile, counts follow suit without a reload.
    page.evaluate("window.__noReload = true")
    page.locator(".profile-actions .follow-btn").click()
    expect(page.locator(f"#follower-count-{author.pk}")).to_have_text("0")
    expect(page.locator(".profile-actions .follow-btn")).to_have_attribute("aria-pressed", "false")
    page.locator(".profile-actions .follow-btn").click()
    expect(page.locator(f"#follower-count-{author.pk}")).to_have_text("1")
    assert page.evaluate("window.__noReload") is True
    assert Follow.objects.filter(follower=viewer, followee=author).exists()

    # The same pages at desktop size.
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=screenshot_dir / "profile-desktop.png")
    page.goto(post.get_absolute_url())
    page.screenshot(path=screenshot_dir / "post-desktop.png")
    page.goto("/")
    wait_playing(page, "article.clip video")
    page.screenshot(path=screenshot_dir / "feed-desktop.png")
    page.set_viewport_size({"width": 390, "height": 844})

    # Log out through the account menu.
    page.get_by_label(re.compile("Account menu")).click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    expect(page.get_by_label(re.compile("Account menu"))).to_have_count(0)
    # The refused empty comment is the one expected error response.
    errors = [e for e in page.console_errors if "status of 400" not in e]  # type: ignore[attr-defined]
    assert not errors, errors


def test_anonymous_like_leads_to_sign_up_and_is_done_after(
    page: Page, make_post: Callable[..., Post], screenshot_dir: Path
) -> None:
    """A signed-out viewer can watch; a like leads to sign-up (or log-in) and is carried
    out once they are in."""
    author = UserFactory(username="soloartist")
    clip = make_post(author)
    UserFactory(username="newfan")
    page.goto("/")
    wait_playing(page, "article.clip video")
    page.screenshot(path=screenshot_dir / "feed-mobile-signed-out.png")
    page.locator("article.clip").first.get_by_role("button", name="Like").click()
    page.wait_for_url(re.compile(r"/accounts/signup/\?next=(/|%2F)"))
    expect(page.get_by_role("heading", name="Join Riff")).to_be_visible()
    page.get_by_text("Already have an account?").get_by_role("link", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in to Riff")).to_be_visible()
    page.get_by_label("Handle or email").fill("newfan")
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_label(re.compile("Account menu"))).to_be_visible()
    expect(page.get_by_text("You liked @soloartist's clip.")).to_be_visible()
    like = page.locator(f"#like-{clip.pk} .like-btn")
    expect(like).to_have_attribute("aria-pressed", "true")
    assert Like.objects.filter(user__username="newfan", post=clip).exists()
