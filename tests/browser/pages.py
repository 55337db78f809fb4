"""What browser tests ask of a page: is this video really playing?"""

from __future__ import annotations

from playwright.sync_api import Page


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
