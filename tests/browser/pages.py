"""What browser tests ask of a page: a tab that records errors, is this video playing?"""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect


def new_tab(context: BrowserContext) -> Page:
    """A tab that keeps its console errors on `page.console_errors`."""
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors  # type: ignore[attr-defined]
    return page


def video_time(page: Page, selector: str) -> float:
    """The currentTime of the first video matching `selector`."""
    return float(page.eval_on_selector(selector, "v => v.currentTime"))


def wait_playing(page: Page, selector: str, timeout: float = 20_000) -> None:
    """Wait until the video plays: not paused, with frames, and its clock moving."""
    page.wait_for_function(
        """(sel) => {
          const v = document.querySelector(sel);
          return !!v && !v.paused && v.readyState >= 2 && v.currentTime > 0.05;
        }""",
        arg=selector,
        timeout=timeout,
    )


def log_in(page: Page, username: str) -> None:
    """Sign in through the login form (factory users' password)."""
    page.goto("/accounts/login/")
    page.get_by_label("Handle or email").fill(username)
    page.get_by_label("Password").fill("pass-word-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label(re.compile("Account menu"))).to_be_visible()
