"""The Content-Security-Policy allows what Riff's pages do and nothing inline: pages, the
log-in form and the API docs run in a real browser without a single violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pages_and_the_api_docs_run_under_the_policy(page: Page) -> None:
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    for path in ("/", "/verify/", "/accounts/login/", "/accounts/signup/"):
        response = page.goto(path)
        assert (
            response is not None
            and "script-src 'self'" in response.headers["content-security-policy"]
        )
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info")).to_be_visible()  # Swagger UI ran its script
    assert violations == []
    assert page.console_errors == []  # type: ignore[attr-defined]
