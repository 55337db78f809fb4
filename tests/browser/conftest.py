"""Browser-test fixtures: one headless Debian Chromium per session, pages on the live server."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from accounts.models import User
from feed import services as feed_services
from feed.models import Post
from tests.factories import tiny_clip_with_sound

from .pages import new_tab

# Playwright's sync API runs an event loop in this thread; the ORM must still be usable here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; never a downloaded one."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, live_server: Any, transactional_db: None) -> Iterator[BrowserContext]:
    """A fresh browser profile at phone size, pointed at the live server.

    It asks for the database first so that it closes first: a page that is still
    open would send its last events while the tables are being flushed.
    """
    context = browser.new_context(
        viewport=MOBILE,
        device_scale_factor=2,
        base_url=live_server.url,
        is_mobile=False,
        has_touch=False,
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()
    wait_for_quiet_server()


def wait_for_quiet_server(quiet: float = 0.5, limit: float = 10.0) -> None:
    """Wait until the live server has answered every request, the closing pages' last too.

    A page that closes sends its pending engagement events (a keepalive fetch on pagehide);
    a request still writing while the tables are flushed can deadlock the flush.
    """
    deadline = time.monotonic() + limit
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        busy = any("process_request_thread" in t.name for t in threading.enumerate())
        if busy:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return
        time.sleep(0.05)


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in that profile; console errors are kept on `page.console_errors`."""
    return new_tab(context)


@pytest.fixture
def no_exploration(transactional_db: None) -> None:
    """For You without exploration slots: among clips nobody has engaged with it is newest
    first, so a test that expects an order gets the one served (exploration draws at random)."""
    from ranking.services import ranking_config_activate, ranking_config_create

    config = ranking_config_create(
        values={"exploration_share": 0.0}, note="browser tests", based_on=None, created_by=None
    )
    ranking_config_activate(config=config, by=None)


@pytest.fixture
def screenshot_dir() -> Path:
    """Where screenshots go (test-artifacts/ is gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="session")
def clip_bytes() -> Callable[[int], tuple[bytes, bytes]]:
    """Real 2 s portrait H.264 clips and posters, encoded once per seed."""
    from feed.media import demo_clip_frames
    from generation.video import encode_mp4, poster_jpeg

    cache: dict[int, tuple[bytes, bytes]] = {}

    def make(seed: int) -> tuple[bytes, bytes]:
        if seed not in cache:
            frames = demo_clip_frames(seed=seed, width=180, height=320, seconds=2.0, fps=12)
            cache[seed] = (encode_mp4(frames, fps=12), poster_jpeg(frames[0]))
        return cache[seed]

    return make


@pytest.fixture
def make_post(
    transactional_db: None, clip_bytes: Callable[[int], tuple[bytes, bytes]]
) -> Callable[..., Post]:
    """Publish a real clip through feed.services.post_create (`sound=True`: one with a sound
    track)."""
    counter = {"n": 0}

    def make(owner: User, *, sound: bool = False, **kwargs: Any) -> Post:
        counter["n"] += 1
        video, poster = clip_bytes(counter["n"] % 4)
        if sound:
            video = tiny_clip_with_sound()
        defaults: dict[str, Any] = {
            "prompt": f"a neon koi fish swimming through a rainy city street, take {counter['n']}",
            "model_name": "riff-demo",
            "caption": f"Rainy koi #{counter['n']}",
        }
        defaults.update(kwargs)
        return feed_services.post_create(
            owner=owner,
            video=ContentFile(video, name="c.mp4"),
            poster=ContentFile(poster, name="p.jpg"),
            **defaults,
        )

    return make
