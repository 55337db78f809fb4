"""The create page with the house model chosen: its words as chips, examples, and the words
of a prompt it never learnt, named before generating."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from generation.models import GenerationJob
from tests.factories import UserFactory

from .conftest import DESKTOP
from .pages import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_house_models_words_and_the_ones_it_does_not_know(page: Page, screenshot_dir: Path):
    UserFactory(username="maker")
    log_in(page, "maker")
    page.goto("/create/")
    prompt = page.get_by_label("Prompt")
    expect(prompt).to_have_attribute(
        "placeholder", "A coloured shape, what it does and where: a red ball bouncing on the beach"
    )
    guide = page.get_by_role("region", name="What riff-house can draw")
    note = guide.get_by_role("status")
    expect(note).to_be_hidden()  # nothing typed yet

    prompt.fill("my dog surfing a huge wave at sunset")
    expect(note).to_be_visible()
    expect(note).to_have_text(
        "riff-house draws coloured shapes; it won't draw: dog, surfing, wave, sunset. "
        "You can still generate."
    )
    page.screenshot(path=screenshot_dir / "create-guide-unknown-mobile.png", full_page=True)

    # Tapping words builds a prompt it knows; the note goes once every word is known.
    prompt.fill("")
    for group, word in (("Colours", "blue"), ("Shapes", "star"), ("Motions", "spinning")):
        guide.get_by_role("group", name=group).get_by_role("button", name=word).click()
    guide.get_by_role("group", name="Places").get_by_role("button", name="at night").click()
    expect(prompt).to_have_value("blue star spinning at night")
    expect(note).to_be_hidden()
    guide.get_by_role("button", name="a red ball bouncing on the beach").click()
    expect(prompt).to_have_value("a red ball bouncing on the beach")
    expect(prompt).to_be_focused()

    # Generate stays allowed with words it doesn't know.
    prompt.fill("a red ball chasing a dog on the beach")
    expect(note).to_contain_text("it won't draw: chasing, dog")
    expect(page.get_by_role("button", name="Generate")).to_be_enabled()

    page.set_viewport_size(DESKTOP)
    page.screenshot(path=screenshot_dir / "create-guide-desktop.png", full_page=True)


def test_tap_chips_then_type_words_it_wont_draw_and_generate_anyway(
    page: Page, screenshot_dir: Path
):
    """At phone size: the chips build a prompt it knows (no note); typing a scene it never
    learnt names its content words live, never the filler; Generate still makes the job."""
    user = UserFactory(username="chipper")
    log_in(page, "chipper")
    page.goto("/create/")
    prompt = page.get_by_label("Prompt")
    guide = page.get_by_role("region", name="What riff-house can draw")
    note = guide.get_by_role("status")
    expect(guide).to_contain_text("No people, animals or real scenes.")
    page.screenshot(path=screenshot_dir / "create-house-before-phone.png")

    taps = (("Colours", "red"), ("Shapes", "circle"), ("Motions", "moving left"))
    for group, word in (*taps, ("Places", "on the beach")):
        guide.get_by_role("group", name=group).get_by_role("button", name=word).click()
    expect(prompt).to_have_value("red circle moving left on the beach")
    expect(note).to_be_hidden()

    prompt.fill("")
    prompt.press_sequentially("my dog surfing a huge wave at sunset")
    expect(note).to_be_visible()
    named = guide.locator(".js-unknown")
    expect(named).to_have_text("dog, surfing, wave, sunset")
    words = named.inner_text().split(", ")
    assert {"dog", "surfing", "wave"} <= set(words)
    assert not {"a", "at", "my", "huge"} & set(words)
    page.screenshot(path=screenshot_dir / "create-house-after-phone.png")

    page.get_by_role("button", name="Generate").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.get_by_text("it won't draw: dog, surfing, wave, sunset.")).to_be_visible()
    page.screenshot(path=screenshot_dir / "create-house-generated-phone.png")
    job = GenerationJob.objects.get(owner=user)
    assert (job.prompt, job.model_key) == ("my dog surfing a huge wave at sunset", "riff-house")
