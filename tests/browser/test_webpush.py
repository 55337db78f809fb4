"""Browser notifications in a real Chromium: the settings page registers Riff's service worker
for the whole site, the worker shows a pushed notification, and turning push on says
honestly what happened (a headless browser here has no push service to reach)."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from social.models import PushSubscription
from tests.factories import UserFactory

from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOT = "/tmp/webpush-settings.png"  # noqa: S108 (where the reviewer looks for it)
NOTIFICATIONS = """() => navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((shown) => shown.map((n) => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))"""


@pytest.fixture
def settings_page(context: BrowserContext, page: Page, live_server: Any) -> Page:
    """aiko's notification settings, with notifications allowed for the site."""
    context.grant_permissions(["notifications"], origin=live_server.url)
    UserFactory(username="aiko")
    log_in(page, "aiko")
    page.goto("/notifications/settings/")
    return page


def test_the_worker_controls_the_site_and_shows_a_push(
    settings_page: Page, context: BrowserContext, live_server: Any
) -> None:
    page = settings_page
    scope = page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope == f"{live_server.url}/"
    script = page.evaluate("() => navigator.serviceWorker.ready.then((r) => r.active.scriptURL)")
    assert script == f"{live_server.url}/sw.js"

    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not any(r["scopeURL"] == scope for r in registrations) and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    (registration_id,) = {r["registrationId"] for r in registrations if r["scopeURL"] == scope}

    payload = {
        "title": "Riff",
        "body": "bob liked your clip",
        "url": "/notifications/",
        "tag": "like:1",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration_id, "data": json.dumps(payload)},
    )
    page.wait_for_function(f"() => ({NOTIFICATIONS})().then((shown) => shown.length > 0)")
    (shown,) = page.evaluate(NOTIFICATIONS)
    assert shown == {
        "title": "Riff",
        "body": "bob liked your clip",
        "tag": "like:1",
        "data": {"url": f"{live_server.url}/notifications/"},
    }
    # Another push for the same line replaces it rather than adding a second.
    payload["body"] = "cyd and bob liked your clip"
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": live_server.url, "registrationId": registration_id, "data": json.dumps(payload)},
    )
    page.wait_for_function(
        f"() => ({NOTIFICATIONS})().then((s) => s.length && s[0].body.startsWith('cyd'))"
    )
    assert len(page.evaluate(NOTIFICATIONS)) == 1


def test_turning_push_on_says_what_really_happened(settings_page: Page) -> None:
    page = settings_page
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    section = page.get_by_test_id("push-settings")
    status = page.get_by_test_id("push-status")
    expect(section.get_by_role("heading", name="Browser notifications")).to_be_visible()
    expect(status).to_have_text("Off for this browser.")
    expect(page.get_by_role("button", name="Turn off")).to_be_hidden()
    turn_on = page.get_by_role("button", name="Turn on browser notifications")
    turn_on.click()
    outcome = re.compile("couldn't reach its push service|On for this browser")
    expect(status).to_have_text(outcome, timeout=30_000)
    if section.get_attribute("data-state") == "on":
        # A push service answered after all: then Riff must hold the subscription.
        assert PushSubscription.objects.filter(user__username="aiko").count() == 1
        expect(page.get_by_role("button", name="Turn off")).to_be_visible()
        expect(turn_on).to_be_hidden()
    else:
        expect(status).to_have_text(
            "This browser couldn't reach its push service, so browser notifications are still "
            "off. Try again later."
        )
        assert not PushSubscription.objects.exists()
        expect(turn_on).to_be_visible()  # it may be tried again
        expect(page.get_by_role("button", name="Turn off")).to_be_hidden()
    section.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOT)
    assert violations == []
