"""Making a clip in a real browser: daphne serves the pages and the job's WebSocket, a real
Celery worker runs a tiny model, and the person watches, then posts, their clip."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, WebSocket, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from accounts.models import User
from feed.models import Post
from generation.models import GenerationJob
from tests.factories import UserFactory
from tests.generation.conftest import tiny_models  # noqa: F401 - a fixture used below
from tests.generation.factories import job_in_state
from tests.processes import (
    daphne,
    private_redis_url,
    process_env,
    started,
    stop,
    worker_args,
)

from .conftest import DESKTOP, MOBILE
from .pages import log_in, new_tab, wait_playing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

State = GenerationJob.State
# Records every aria-valuenow the page shows, from the first paint of each document on.
RECORD_PROGRESS = """
window.__progress = [];
new MutationObserver((records) => {
  for (const r of records) {
    if (r.target.matches && r.target.matches('.js-progress')) {
      window.__progress.push(Number(r.target.getAttribute('aria-valuenow')));
    }
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['aria-valuenow']});
"""


@pytest.fixture
def sub_env(transactional_db: None, tiny_models: dict[str, Path]) -> dict[str, str]:  # noqa: F811
    """The environment of the web and worker processes: the live test database and media."""
    assert settings.REDIS_URL, "the WebSocket path needs Redis (REDIS_URL)"
    url = private_redis_url()
    redis.Redis.from_url(url).flushdb()  # rate limits, stale tasks and channel groups
    return process_env(
        media_root=settings.MEDIA_ROOT,
        REDIS_URL=url,
        RIFF_TINY_WAN_PATH=str(tiny_models["tiny-wan"]),
        RIFF_TINY_LTX_PATH=str(tiny_models["tiny-ltx"]),
        HF_HUB_OFFLINE="1",
        DJANGO_ALLOW_ASYNC_UNSAFE="",
        # A development server: staff may choose the tiny test models there.
        DEBUG="1",
    )


@pytest.fixture
def daphne_url(sub_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """Daphne serving Riff (pages, static, media and WebSockets) on a free port."""
    with daphne(sub_env, tmp_path / "daphne.log") as base:
        yield base


@pytest.fixture
def start_worker(sub_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], Path]]:
    """Start a real Celery worker (queues gpu and default) when the test asks; returns its log."""
    processes: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "worker.log"

    def start() -> Path:
        args = worker_args(queues="gpu,default", hostname=f"riff-browser-{os.getpid()}@localhost")
        processes.append(started(args, sub_env, log))
        return log

    yield start
    for process in processes:
        stop(process)


@pytest.fixture
def site(browser: Browser, daphne_url: str) -> Iterator[BrowserContext]:
    """A phone-sized browser profile pointed at daphne."""
    context = browser.new_context(
        viewport=MOBILE, device_scale_factor=2, base_url=daphne_url, has_touch=False
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def tab(site: BrowserContext) -> Page:
    """A tab on daphne that keeps its console errors on `tab.console_errors`."""
    return new_tab(site)


def shoot(page: Page, path: Path, size: dict[str, int] | None = None) -> None:
    """A full-page screenshot, at `size` when given (the viewport is put back after)."""
    before = page.viewport_size
    page.evaluate("window.scrollTo(0, 0)")
    if size:
        page.set_viewport_size(size)
        page.wait_for_timeout(150)
    page.screenshot(path=path, full_page=True)
    if size and before:
        page.set_viewport_size(before)


def test_make_watch_and_post_a_clip(
    tab: Page,
    start_worker: Callable[[], Path],
    make_post: Callable[..., Post],
    screenshot_dir: Path,
    tmp_path: Path,
) -> None:
    """A remix: prompt -> queued -> live progress over the WebSocket -> plays -> posted -> chain."""
    page = tab
    # Staff, on a server run with DEBUG (daphne here): the tiny test models are offered.
    maker = UserFactory(username="maker", is_staff=True)
    artist = UserFactory(username="koiartist")
    source = make_post(artist, caption="Koi at night")
    sockets: list[WebSocket] = []
    frames: list[dict[str, Any]] = []

    def on_socket(ws: WebSocket) -> None:
        sockets.append(ws)
        if "/ws/generations/" in ws.url:  # not the header bell's
            ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    page.on("websocket", on_socket)
    page.add_init_script(RECORD_PROGRESS)
    log_in(page, "maker")

    # The create page: reached from the + in the header.
    page.goto("/")
    page.get_by_role("link", name="Create a clip").click()
    page.wait_for_url(re.compile(r"/create/$"))
    expect(page.get_by_role("heading", name="Create a clip")).to_be_visible()
    expect(page.get_by_text(re.compile(r"20 of 20 left today"))).to_be_visible()
    prompt = page.get_by_label("Prompt")
    prompt.fill("a paper boat sailing across a moonlit lake")
    expect(page.locator("#prompt-count")).to_contain_text("42 / 2000")
    expect(page.get_by_role("radio", name=re.compile("Portrait"))).to_be_checked()
    page.get_by_role("radio", name=re.compile("Square")).click()
    expect(page.get_by_role("radio", name=re.compile("Square"))).to_be_checked()
    # The Length slider ends at the chosen model's longest clip (the house model's is 2 s).
    length = page.get_by_role("slider", name=re.compile("Length"))
    expect(length).to_have_attribute("max", "2")
    expect(page.locator("#duration-help")).to_have_text("Up to 2 s with this model.")
    page.get_by_label("Model").select_option("tiny-wan")
    expect(length).to_have_attribute("max", "10")
    length.fill("6")
    expect(page.locator("#duration-out")).to_have_text("6")
    page.get_by_label("Model").select_option("riff-house")
    expect(length).to_have_value("2")
    expect(page.locator("#duration-out")).to_have_text("2")
    expect(page.locator("#duration-help")).to_have_text("Up to 2 s with this model.")
    page.get_by_text("More options").click()
    expect(page.get_by_label("Steps")).to_have_value("20")
    shoot(page, screenshot_dir / "create-mobile.png")
    shoot(page, screenshot_dir / "create-desktop.png", DESKTOP)

    # Remix from the source's page: the form shows the clip playing, its prompt and a
    # strength slider; this is the clip the worker makes.
    page.goto(source.get_absolute_url())
    page.get_by_role("link", name="Remix").click()
    page.wait_for_url(re.compile(rf"/create/\?remix={source.pk}$"))
    expect(page.get_by_text("Remixing @koiartist's clip")).to_be_visible()
    expect(page.get_by_label("Prompt")).to_have_value(source.prompt)
    expect(page.get_by_label("How much to change")).to_be_visible()
    wait_playing(page, ".remix-video")
    page.get_by_label("Prompt").fill("a paper boat sailing across a moonlit lake")
    page.get_by_text("More options").click()
    page.get_by_label("Leave out").fill("blurry")
    shoot(page, screenshot_dir / "create-remix-mobile.png")
    shoot(page, screenshot_dir / "create-remix-desktop.png", DESKTOP)
    page.get_by_role("button", name="Make the remix").click()

    # The job page: queued, next in line, watching its socket.
    page.wait_for_url(re.compile(r"/create/jobs/[0-9a-f-]{36}/$"))
    job = GenerationJob.objects.get(owner=maker)
    assert job.state == State.QUEUED and job.source_post_id == source.pk
    assert job.steps == 20 and job.negative_prompt == "blurry"
    status = page.locator(f"#job-{job.pk}")
    expect(status).to_have_attribute("data-live", "socket")
    expect(status.get_by_role("status")).to_contain_text("Next in line")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    shoot(page, screenshot_dir / "job-queued-mobile.png")

    # A real worker takes the job; each denoising step arrives over the socket.
    worker_log = start_worker()
    try:
        page.wait_for_function(
            """() => (window.__progress || []).some((v) => v > 0 && v < 100)""",
            timeout=90_000,
        )
        shoot(page, screenshot_dir / "job-progress-live-mobile.png")
        expect(page.locator(".job-video")).to_be_visible(timeout=90_000)
    except (AssertionError, PlaywrightTimeout):
        job.refresh_from_db()
        web_log = (tmp_path / "daphne.log").read_text()
        pytest.fail(
            f"job {job.state} ({job.failure_message}); sockets closed early: "
            f"{[ws.url for ws in sockets if ws.is_closed()]}\n"
            f"--- worker\n{worker_log.read_text()[-3000:]}\n--- web\n{web_log[-3000:]}"
        )
    wait_playing(page, ".job-video")
    before = page.eval_on_selector(".job-video", "v => v.currentTime")
    page.wait_for_timeout(400)
    assert page.eval_on_selector(".job-video", "v => v.currentTime") != before

    assert [ws.url for ws in sockets if "/ws/generations/" in ws.url] == [
        re.sub(r"^http", "ws", page.url.split("/create/")[0]) + f"/ws/generations/{job.pk}/"
    ]
    states = [frame["state"] for frame in frames]
    assert states[0] == "queued" and "running" in states and states[-1] == "succeeded"
    steps_seen = {f["progress"]["step"] for f in frames if f["state"] == "running"}
    assert len(steps_seen - {0, 20}) >= 2, f"steps pushed over the socket: {sorted(steps_seen)}"
    shown = set(page.evaluate("window.__progress"))
    assert len({v for v in shown if 0 < v < 100}) >= 2, f"bar values shown: {sorted(shown)}"
    expect(page.get_by_role("heading", name="Your clip is ready")).to_be_visible()
    expect(page.get_by_role("button", name="Delete draft")).to_be_visible()
    shoot(page, screenshot_dir / "job-done-mobile.png")
    shoot(page, screenshot_dir / "job-done-desktop.png", DESKTOP)

    # Drafts: the clip waits there until it is posted.
    page.goto("/create/drafts/")
    card = page.locator(f"#job-card-{job.pk}")
    expect(card).to_contain_text("a paper boat sailing")
    card.get_by_role("link").focus()
    wait_playing(page, f"#job-card-{job.pk} video")
    page.go_back()

    # Post it, and land on the new post.
    page.get_by_label("Caption").fill("Moonlit boat")
    page.get_by_label("Allow downloads").check()
    page.get_by_role("button", name="Post", exact=True).click()
    page.wait_for_url(re.compile(r"/p/\d+/$"))
    post = Post.objects.get(owner=maker)
    assert page.url.endswith(post.get_absolute_url())
    assert post.caption == "Moonlit boat" and post.allow_download and post.remix_of == source
    assert post.video.storage.exists(post.video.name)
    expect(page.get_by_text("Posted. Your clip is live.")).to_be_visible()
    expect(page.get_by_role("heading", name="Moonlit boat")).to_be_visible()
    wait_playing(page, ".post-video")

    # Its remix chain: koiartist's original, then this clip.
    page.get_by_role("link", name="Remix chain").click()
    expect(page.get_by_role("heading", name="Remix chain")).to_be_visible()
    chain = page.locator(".lineage-chain > li")
    expect(chain).to_have_count(2)
    expect(chain.nth(0)).to_contain_text("Original")
    expect(chain.nth(0)).to_contain_text("@koiartist")
    expect(chain.nth(1)).to_contain_text("Moonlit boat")
    expect(page.get_by_text("No remixes yet.")).to_be_visible()
    shoot(page, screenshot_dir / "lineage-mobile.png")
    shoot(page, screenshot_dir / "lineage-desktop.png", DESKTOP)
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_progress_falls_back_to_polling_and_shows_each_state(
    tab: Page, screenshot_dir: Path
) -> None:
    """With WebSockets refused, the job page polls its fragment until the job is final."""
    page = tab
    maker: User = UserFactory(username="poller")
    job = job_in_state(
        maker,
        State.RUNNING,
        prompt="a lighthouse in a storm, waves crashing, cinematic",
        negative_prompt="text, watermark",
        steps=8,
        progress_step=3,
        progress_total=8,
    )
    ready = job_in_state(maker, State.SUCCEEDED, prompt="a red kite over the dunes")
    job_in_state(
        maker,
        State.FAILED,
        prompt="a fox made of smoke",
        failure=GenerationJob.Failure.INFRASTRUCTURE,
        failure_message="The model tiny-wan is not installed here. It didn't count "
        "against your allowance.",
    )
    refused: list[str] = []

    def refuse(ws: Any) -> None:
        refused.append(ws.url)
        ws.close()

    page.route_web_socket(re.compile(r".*/ws/generations/.*"), refuse)
    log_in(page, "poller")

    page.goto(f"/create/jobs/{job.pk}/")
    status = page.locator(f"#job-{job.pk}")
    expect(status).to_have_attribute("data-live", "poll")
    expect(status).to_have_attribute("hx-trigger", "every 1s")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "38")
    expect(page.get_by_text("Step 3 of 8")).to_be_visible()
    shoot(page, screenshot_dir / "job-progress-mobile.png")
    shoot(page, screenshot_dir / "job-progress-desktop.png", DESKTOP)

    GenerationJob.objects.filter(pk=job.pk).update(progress_step=6)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "75")
    expect(page.locator(f"#job-{job.pk}")).to_have_attribute("hx-trigger", "every 1s")

    # The drafts page: the running job, the ready draft and the failed one, newest first.
    drafts = page.context.new_page()
    drafts.route_web_socket(re.compile(r".*/ws/generations/.*"), refuse)
    drafts.goto("/create/drafts/")
    expect(drafts.get_by_role("heading", name="Your drafts")).to_be_visible()
    expect(drafts.locator(".job-card")).to_have_count(3)
    expect(drafts.get_by_text("is not installed here")).to_be_visible()
    expect(drafts.locator(f"#job-card-{ready.pk} img")).to_be_visible()
    shoot(drafts, screenshot_dir / "drafts-mobile.png")
    shoot(drafts, screenshot_dir / "drafts-desktop.png", DESKTOP)
    drafts.close()

    # The job fails: polling brings the reason and stops.
    GenerationJob.objects.filter(pk=job.pk).update(
        state=State.FAILED,
        failure=GenerationJob.Failure.INFRASTRUCTURE,
        failure_message="Something went wrong on our side while making this clip.",
    )
    expect(page.get_by_text("Something went wrong on our side")).to_be_visible()
    expect(page.get_by_role("heading", name="This clip didn't work")).to_be_visible()
    expect(page.locator(f"#job-{job.pk}")).not_to_have_attribute("hx-trigger", re.compile(".*"))
    try_again = page.get_by_role("link", name="Try again")
    expect(try_again).to_have_attribute("href", re.compile(r"/create/\?prompt=a%20lighthouse"))
    shoot(page, screenshot_dir / "job-failed-mobile.png")
    assert refused, "the page tried its WebSocket first"
    try_again.click()
    expect(page.get_by_label("Prompt")).to_have_value(
        "a lighthouse in a storm, waves crashing, cinematic"
    )
    errors = [e for e in page.console_errors if "WebSocket" not in e]  # type: ignore[attr-defined]
    assert errors == []
